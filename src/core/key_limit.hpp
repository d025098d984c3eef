// The longest key, in bytes: an event's (docs/events.md) and a document's, one bound, so that
// a projector can always write a document under its event's key.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.hpp"

namespace prom {

inline constexpr std::size_t max_key_bytes = 1024;

// Why no event can have `key`, or nullopt: a read or an erasure of such a key is bad input,
// not a key without events (found from outside: a 1025-byte key was "not found").
inline std::optional<std::string> key_problem(std::string_view key) {
    if (key.size() > max_key_bytes) return "key is longer than 1024 bytes";
    if (!is_clean_text(key)) return "key must be UTF-8 without NUL";
    return std::nullopt;
}

}  // namespace prom
