// JSON Pointer (RFC 6901) tokens: one escaping for every place that names a spot in JSON.
#pragma once

#include <string>
#include <string_view>

namespace prom {

// Appends "/" and `token` with '~' and '/' escaped as "~0" and "~1".
inline void append_pointer_token(std::string& path, std::string_view token) {
    path.push_back('/');
    for (char c : token) {
        if (c == '~') {
            path += "~0";
        } else if (c == '/') {
            path += "~1";
        } else {
            path.push_back(c);
        }
    }
}

}  // namespace prom
