// The handlers behind the process projectors, separate so tests and benchmarks can use them.
#pragma once

#include "prom/process_projectors.hpp"

namespace prom::process {

// heartbeat.received → process.state (appended in `txn`, id derived from the heartbeat's id).
// A heartbeat without a string `name` and `host` and a `pid` is an error (→ dead letter).
status project_heartbeat(const event& heartbeat, transaction& txn);

// process.state → processes (replaced by the payload plus _key, _ts) and host_stats
// ($inc seen, $set last_ts), in `txn`.
status project_process_state(const event& state, transaction& txn);

// The id of the process.state derived from a heartbeat: `prom-state-of:<heartbeat's seq>`.
std::string derived_state_id(const event& heartbeat);

// Appends a `stale` process.state for every alive process whose last_seen is older than
// now - stale_after. Ids are derived from (processId, last_seen) — and, for a process that
// came alive again after a stale state with the same last_seen, from that state's seq — so
// two nodes or a restart cannot emit the same stale transition twice. Returns how many were
// new.
result<std::uint64_t> emit_stale_states(store& s, std::chrono::milliseconds stale_after, ts_ms now);

}  // namespace prom::process
