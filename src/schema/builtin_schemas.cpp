#include "schema/builtin_schemas.hpp"

namespace prom::schema {

namespace {

// The payloads the process projector accepts and emits, as docs/process-projector.md states
// them (pid a number or a string; cpu_pct and mem_mb any JSON value, passed through), so
// that `prom gen ts` types accept every event the server does.
constexpr std::string_view heartbeat = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "heartbeat.received",
  "description": "A heartbeat of a running process; the process projector turns it into a process.state event (docs/process-projector.md).",
  "type": "object",
  "properties": {
    "pid": {"type": ["number", "string"], "description": "The process id on its host."},
    "name": {"type": "string", "description": "The program's name."},
    "host": {"type": "string", "description": "The host the process runs on."},
    "processId": {"type": ["string", "null"], "minLength": 1, "description": "Default (also for null): host:name:pid."},
    "cpu_pct": {"description": "CPU use in percent: any JSON value (a number, usually)."},
    "mem_mb": {"description": "Resident memory in MB: any JSON value (a number, usually)."}
  },
  "required": ["pid", "name", "host"]
})";

constexpr std::string_view process_state = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "process.state",
  "description": "The state of one process, keyed by processId: derived from heartbeats, or stale when they stopped (docs/process-projector.md).",
  "type": "object",
  "properties": {
    "processId": {"type": "string", "minLength": 1},
    "pid": {"type": ["number", "string"]},
    "name": {"type": "string"},
    "host": {"type": "string"},
    "cpu_pct": {"description": "As the heartbeat gave it (null when it gave none)."},
    "mem_mb": {"description": "As the heartbeat gave it (null when it gave none)."},
    "status": {"enum": ["alive", "stale"]},
    "last_seen": {"type": "integer", "description": "Epoch milliseconds of the last heartbeat."}
  },
  "required": ["processId", "host"]
})";

}  // namespace

const std::vector<builtin_schema>& builtin_schemas() {
    static const std::vector<builtin_schema> all{{"heartbeat.received", heartbeat},
                                                 {"process.state", process_state}};
    return all;
}

}  // namespace prom::schema
