// The loop behind every library consumer (bus subscriptions and projectors): a thread of its
// own that drives one consumer_state (lease, starting cursor, batches in seq order), hands
// each batch to `deliver`, and sleeps until the store changes (docs/threads.md). The
// WebSocket gateway drives many consumer_states from a few threads instead: delivery_pool.hpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "bus/consumer_state.hpp"
#include "core/thread_annotations.hpp"

namespace prom::bus_internal {

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
    // Stops like stop(), but the lease is not given back: it runs out by itself, so that no
    // other node takes the group over meanwhile (a user-defined projector that failed: the
    // other nodes stop its projectors once they read `failed` in the registry, within the
    // lease's time; found from outside: a standby took over and dead-lettered five more).
    void stop_keeping_lease();
    // Inside `deliver`: consumer_state::renew_lease.
    bool renew_lease() { return state_->consumer.renew_lease(); }
    // Any thread: consumer_state::confirm_lease (before an ack).
    result<bool> confirm_lease() { return state_->consumer.confirm_lease(); }
    bool active() const { return state_->consumer.active(); }
    bool stopping() const { return state_->stop.load(); }
    // Sleeps unless stop() comes first; false when stopped.
    bool sleep_for(std::chrono::milliseconds d) { return state_->sleep_for(d); }
    // Forget the position and re-read the durable cursor before the next batch (after a
    // conflict showed that someone else moved it).
    void resync() { state_->consumer.resync(); }
    // Where the loop stands: the seq up to which its group's cursor is known to be (read
    // from the store, or where a group without a cursor starts). Inside `deliver` only.
    seq_t position() const { return state_->consumer.position(); }
    const consumer_config& config() const { return state_->consumer.config(); }
    // True on the loop's own thread (inside `deliver`).
    bool on_loop_thread() const { return state_->thread_id.load() == std::this_thread::get_id(); }
    const std::string& owner() const { return state_->consumer.owner(); }

  private:
    // Everything the loop's thread uses. The thread holds its own reference, so the state
    // outlives a consumer_loop destroyed from inside `deliver`.
    struct state {
        state(store& s, consumer_config c, deliver_fn d);
        void run();
        bool sleep_for(std::chrono::milliseconds d);
        void request_stop();
        void wait_until_started();

        store& storage;
        consumer_state consumer;  // only the loop's thread moves it (active()/resync() are atomic)
        deliver_fn deliver;
        std::atomic<bool> stop{false};
        std::atomic<bool> keep_lease{false};  // at the end: the lease is not released
        std::atomic<std::thread::id> thread_id{};
        prom::mutex sleep_mu;  // guards `started`, and the wake-ups of `stop`
        std::condition_variable sleep_cv;
        bool started PROM_GUARDED_BY(sleep_mu) = false;  // start() has assigned the thread
    };

    std::shared_ptr<state> state_;
    std::thread thread_;
};

}  // namespace prom::bus_internal
