// The loop behind every consumer (bus subscriptions and projectors): hold the group's lease,
// start from the durable cursor (or `from` when there is none), fetch batches in seq order,
// hand them to `deliver`, sleep until the store changes. Runs on its own thread (the
// WebSocket gateway drives many consumers from a few threads instead: delivery_pool.hpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "bus/consumer_state.hpp"

namespace prom::bus_internal {

class consumer_loop {
public:
    // Returns the seq up to which the batch was processed (its position moves there), or
    // nullopt when nothing was: the loop backs off and delivers the same events again.
    using deliver_fn = std::function<std::optional<seq_t>(const std::vector<event>& batch)>;

    consumer_loop(store& s, consumer_config config, deliver_fn deliver);
    ~consumer_loop();  // stops

    void start();
    void stop();
    bool active() const { return state_.active(); }
    bool stopping() const { return stop_.load(); }
    // Sleeps unless stop() comes first; false when stopped.
    bool sleep_for(std::chrono::milliseconds d);
    // Forget the position and re-read the durable cursor before the next batch (after a
    // conflict showed that someone else moved it).
    void resync() { state_.resync(); }
    const consumer_config& config() const { return state_.config(); }
    const std::string& owner() const { return state_.owner(); }

private:
    void run();

    store& store_;
    consumer_state state_;
    deliver_fn deliver_;
    std::atomic<bool> stop_{false};
    std::mutex sleep_mu_;
    std::condition_variable sleep_cv_;
    std::thread thread_;
};

}  // namespace prom::bus_internal
