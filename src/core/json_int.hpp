// A JSON number as a signed 64-bit integer, whichever of Boost.JSON's integer kinds holds it.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <optional>

namespace prom {

// The value when it is an integer that fits int64: Boost.JSON keeps a non-negative integer
// as uint64 when it was built that way (or parsed above int64's range), so an int64 check
// alone misses some and a uint64 one alone lets 2^63 and above through as negatives.
inline std::optional<std::int64_t> int64_of(const boost::json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() &&
        v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(v.get_uint64());
    }
    return std::nullopt;
}

}  // namespace prom
