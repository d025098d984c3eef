// The instants an event can have (docs/events.md): epoch milliseconds from 1970-01-01 to the
// last millisecond of 9999, the last instant ISO-8601's four-digit year and HTTP dates write.
#pragma once

#include <cstdint>

namespace prom {

inline constexpr std::int64_t last_event_ms = 253402300799999;  // 9999-12-31T23:59:59.999Z

}  // namespace prom
