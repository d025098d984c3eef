// JSON Pointers (RFC 6901) to fields of a definition, for definition_error::pointer.
#pragma once

#include <string>
#include <string_view>

#include "core/json_pointer.hpp"

namespace prom::userproj {

// `base` + "/" + `token` with '~' and '/' escaped as "~0" and "~1".
inline std::string pointer_join(std::string_view base, std::string_view token) {
    std::string out(base);
    append_pointer_token(out, token);
    return out;
}

inline std::string pointer_join(std::string_view base, std::size_t index) {
    return std::string(base) + "/" + std::to_string(index);
}

}  // namespace prom::userproj
