// The topic of SLO alarms (docs/operations.md), which only prom writes: each alarm event
// carries the header `prom-alarm` (a prom- header, which no publisher may set), and the
// schema check refuses any other event there and applies no schema to it. A client event
// keyed by a rule's name made the monitor count episodes wrong, so its later alarms were
// dropped as duplicates, and a schema on the topic refused the alarms themselves.
#pragma once

#include <string>
#include <string_view>

namespace prom::ops {

inline constexpr std::string_view alerts_topic = "prom.alerts";
inline constexpr std::string_view alarm_header = "prom-alarm";

// Why an event (a publish, a replay's copy, a projector's emit) may not go there.
inline std::string alerts_topic_refusal() {
    return "topic '" + std::string(alerts_topic) + "' holds prom's SLO alarms only";
}

}  // namespace prom::ops
