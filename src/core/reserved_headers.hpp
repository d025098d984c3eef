// Header names that only prom itself writes ("prom-…": prom-erased, prom-replay-group,
// prom-source-id, …). They change how prom treats an event, so no publisher, projector
// definition or Lua handler may set one (docs/events.md).
#pragma once

#include <string_view>

namespace prom {

inline bool reserved_header_name(std::string_view name) {
    constexpr std::string_view prefix = "prom-";
    if (name.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

}  // namespace prom
