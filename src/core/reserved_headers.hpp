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

// Event ids starting "prom-" (in any case) are prom's too: an erasure marker's id is
// predictable, and a publisher who took it first made the erasure's marker a "duplicate" of
// another key's event, so no consumer saw the erasure (docs/events.md).
inline bool reserved_event_id(std::string_view id) { return reserved_header_name(id); }

// On a dead-letter entry and on a dead-letter replay's copy: the seq of the event first
// published (in the same topic), which a copy of a copy keeps. A projector names what it
// derives from a copy by that event (userproj/effects.hpp).
inline constexpr std::string_view original_seq_header = "prom-original-seq";

inline constexpr std::string_view reserved_event_id_message =
    "ids starting with 'prom-' are reserved for prom's own events";

}  // namespace prom
