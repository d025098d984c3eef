// The loop behind every consumer (bus subscriptions and projectors): hold the group's lease,
// start from the durable cursor (or `from` when there is none), fetch batches in seq order,
// hand them to `deliver`, sleep until the store changes. Runs on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "prom/bus.hpp"

namespace prom::bus_internal {

struct consumer_config {
    std::string topic;
    std::string group;
    start_from from = start_from::earliest;
    std::size_t batch_size = 100;
    std::chrono::milliseconds lease_ttl{5000};
    std::chrono::milliseconds retry_backoff{100};
    bool ephemeral = false;  // no lease, no durable cursor: starts at `from` (bus.hpp)
};

class consumer_loop {
public:
    // Returns the seq up to which the batch was processed (its position moves there), or
    // nullopt when nothing was: the loop backs off and delivers the same events again.
    using deliver_fn = std::function<std::optional<seq_t>(const std::vector<event>& batch)>;

    consumer_loop(store& s, consumer_config config, deliver_fn deliver);
    ~consumer_loop();  // stops

    void start();
    void stop();
    bool active() const { return active_.load(); }
    bool stopping() const { return stop_.load(); }
    // Sleeps unless stop() comes first; false when stopped.
    bool sleep_for(std::chrono::milliseconds d);
    // Forget the position and re-read the durable cursor before the next batch (after a
    // conflict showed that someone else moved it).
    void resync() { active_ = false; }
    const consumer_config& config() const { return config_; }
    const std::string& owner() const { return owner_; }

private:
    void run();
    bool hold_lease();
    std::optional<seq_t> initial_position();

    store& store_;
    consumer_config config_;
    deliver_fn deliver_;
    std::string owner_;
    std::string lease_name_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> active_{false};
    std::chrono::steady_clock::time_point renewed_{};
    seq_t position_ = 0;
    std::mutex sleep_mu_;
    std::condition_variable sleep_cv_;
    std::thread thread_;
};

}  // namespace prom::bus_internal
