// The two built-in process projectors of `prom serve` (docs/process-projector.md).
//
// process projector: `heartbeat.received` {pid, name, host, cpu_pct, mem_mb[, processId]}
//   → `process.state` {processId, pid, name, host, cpu_pct, mem_mb, status, last_seen},
//   exactly one per heartbeat (the derived id is a function of the heartbeat's id), and one
//   more with status "stale" when a process sent nothing for `stale_after`.
// process.txn projector: `process.state` → upsert `processes` (_key = processId) and, in
//   the same transaction, `host_stats` (_key = host, seen += 1, last_ts).
#pragma once

#include <chrono>
#include <memory>

#include "prom/projector.hpp"

namespace prom {

inline constexpr std::string_view heartbeat_topic = "heartbeat.received";
inline constexpr std::string_view process_state_topic = "process.state";
inline constexpr std::string_view process_projector_group = "process-projector";
inline constexpr std::string_view process_txn_group = "processes.txn";
// The collections the transactional process projector writes.
inline constexpr std::string_view processes_collection = "processes";
inline constexpr std::string_view host_stats_collection = "host_stats";

struct process_projector_options {
    std::chrono::milliseconds stale_after{30000};
    std::chrono::milliseconds stale_check_every{1000};
    std::size_t batch_size = 500;
};

// Both projectors plus the stale detector; stop() or destruction stops all of them.
class process_projectors {
  public:
    virtual ~process_projectors() = default;
    virtual void stop() = 0;
    virtual projector& heartbeat_projector() = 0;
    virtual projector& txn_projector() = 0;
    virtual std::uint64_t stale_emitted() const = 0;
};

std::unique_ptr<process_projectors> start_process_projectors(store& s,
                                                             process_projector_options o = {});

}  // namespace prom
