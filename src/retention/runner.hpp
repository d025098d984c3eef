// The background retention of `prom serve` (docs/retention.md, "Background and on demand"):
// every interval, under the lease `prom.retention` (one node of a deployment at a time), one
// pass (run_pass, in small batches) over each existing topic that has a policy, then, when
// asked, time-travel snapshots of the topics that grew since the last round, so that the
// first query of a long key does not fold it from its first event.
//
// It counts what its passes (and the passes recorded with record(), such as the on-demand
// route's) dropped, for /metrics. Thread-safe; stop() returns between two passes or two
// snapshot builds, or as soon as a pass in progress ends its current transaction.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "retention/retention.hpp"

namespace prom::retention {

inline constexpr std::string_view runner_lease = "prom.retention";

struct runner_options {
    std::chrono::milliseconds interval{60000};
    bool snapshots = true;
    std::size_t batch_events = pass_options{}.batch_events;
    std::chrono::microseconds pause = pass_options{}.pause;
    std::string owner;  // the lease owner; a fresh id when empty
    // How long the lease outlives the leader's last renewal, so how soon after a leader dies
    // (kill -9) another node, or the same node restarted, takes the rounds over. The leader
    // renews it every third of that, between rounds and between passes.
    std::chrono::milliseconds lease_ttl{30000};
    std::function<ts_ms()> clock;  // what policies' ages are measured on; now_ms() when empty
};

// What the passes dropped, since this runner started.
struct runner_stats {
    std::int64_t passes = 0;
    std::optional<ts_ms> last_pass;               // when the last pass ended
    std::map<std::string, std::int64_t> dropped;  // per topic: retained out + compacted
    std::map<std::pair<std::string, std::string>, std::int64_t> unseen;  // (topic, group)
};

// What one round did (tests and logs).
struct round_report {
    bool leader = false;  // false: another node held the lease; nothing was done
    std::vector<pass_report> passes;
    std::size_t snapshot_topics = 0;  // topics whose snapshots were brought up to date
};

class runner {
  public:
    // Registers an append listener on `s` (which must outlive the runner) that notes the
    // topics that grow. Nothing runs until start().
    runner(store& s, runner_options o);
    ~runner();
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;

    // The pacing of this runner's passes; on-demand passes of the same node use it too.
    pacing pass_pacing() const { return {options_.batch_events, options_.pause}; }

    void start();  // the background thread: a round every interval
    void stop();   // idempotent; releases the lease

    // One round now, on the calling thread.
    result<round_report> run_round();
    // Counts a pass in the stats (the runner's own passes are counted by run_round).
    void record(const pass_report& r);
    runner_stats stats() const;

  private:
    struct grown_topics;
    // Sleeps until `until` (false: stopped), renewing the lease meanwhile while this runner
    // leads (the last round found it the leader, and no renewal has failed since).
    bool sleep_leading(std::stop_token stop, std::chrono::steady_clock::time_point until);
    status build_snapshots(round_report& out);

    store& store_;
    runner_options options_;
    std::shared_ptr<grown_topics> grown_;
    std::atomic<bool> leading_{false};  // shared with the store's append listener
    mutable std::mutex mu_;
    runner_stats stats_;  // guarded by mu_
    std::jthread thread_;
    std::stop_source stop_;
};

}  // namespace prom::retention
