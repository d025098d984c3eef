// Header names that only prom itself writes ("prom-…": prom-erased, prom-replay-group,
// prom-source-id, …). They change how prom treats an event, so no publisher, projector
// definition or Lua handler may set one (docs/events.md).
#pragma once

#include <string_view>

#include "core/text.hpp"

namespace prom {

// "prom-" in any case.
inline bool reserved_header_name(std::string_view name) {
    constexpr std::string_view prefix = "prom-";
    return name.size() >= prefix.size() && iequals(name.substr(0, prefix.size()), prefix);
}

}  // namespace prom
