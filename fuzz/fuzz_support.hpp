// Small helpers shared by the fuzz targets (fuzz/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace prom::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A property the target checks failed: abort, so that libFuzzer keeps the input as a crash.
[[noreturn]] inline void property_failed() { std::abort(); }

inline void require(bool ok) {
    if (!ok) property_failed();
}

}  // namespace prom::fuzz
