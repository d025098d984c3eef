// The loop behind every consumer (bus subscriptions and projectors): hold the group's lease,
// start from the durable cursor (or `from` when there is none), fetch batches in seq order,
// hand them to `deliver`, sleep until the store changes. Runs on its own thread
// (docs/threads.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
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

    // The store must outlive the loop's thread (see ~consumer_loop).
    consumer_loop(store& s, consumer_config config, deliver_fn deliver);
    // Stops and joins. From the loop's own thread (`deliver` destroyed the loop's owner) it
    // cannot join: the thread then finishes on its own once `deliver` returns, releasing
    // the lease, and touches nothing of this object, only the state it shares.
    ~consumer_loop();

    void start();
    void stop();
    bool active() const { return state_->active.load(); }
    bool stopping() const { return state_->stop.load(); }
    // Sleeps unless stop() comes first; false when stopped.
    bool sleep_for(std::chrono::milliseconds d) { return state_->sleep_for(d); }
    // Forget the position and re-read the durable cursor before the next batch (after a
    // conflict showed that someone else moved it).
    void resync() { state_->active = false; }
    const consumer_config& config() const { return state_->config; }
    // True on the loop's own thread (inside `deliver`).
    bool on_loop_thread() const { return state_->thread_id.load() == std::this_thread::get_id(); }
    const std::string& owner() const { return state_->owner; }

  private:
    // Everything the loop's thread uses. The thread holds its own reference, so the state
    // outlives a consumer_loop destroyed from inside `deliver`.
    struct state {
        state(store& s, consumer_config c, deliver_fn d);
        void run();
        bool hold_lease();
        std::optional<seq_t> initial_position();
        bool sleep_for(std::chrono::milliseconds d);
        void request_stop();
        void wait_until_started();

        store& storage;
        consumer_config config;
        deliver_fn deliver;
        std::string owner;
        std::string lease_name;
        std::atomic<bool> stop{false};
        std::atomic<bool> active{false};
        // Only the loop's thread touches these two.
        std::chrono::steady_clock::time_point renewed{};
        seq_t position = 0;
        std::atomic<std::thread::id> thread_id{};
        std::mutex sleep_mu;  // guards `started`, and the wake-ups of `stop`
        std::condition_variable sleep_cv;
        bool started = false;  // start() has assigned the thread
    };

    std::shared_ptr<state> state_;
    std::thread thread_;
};

}  // namespace prom::bus_internal
