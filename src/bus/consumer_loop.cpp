#include "bus/consumer_loop.hpp"

#include "core/thread_name.hpp"

namespace prom::bus_internal {

consumer_loop::state::state(store& s, consumer_config c, deliver_fn d)
    : storage(s), consumer(s, std::move(c)), deliver(std::move(d)) {}

consumer_loop::consumer_loop(store& s, consumer_config config, deliver_fn deliver)
    : state_(std::make_shared<state>(s, std::move(config), std::move(deliver))) {}

consumer_loop::~consumer_loop() {
    stop();
    // Destroyed from its own thread (the owner died inside `deliver`): nothing can join it.
    // The thread keeps its own reference to the state and exits once `deliver` returns.
    if (thread_.joinable()) thread_.detach();
}

// The thread owns a reference to the state: not `this`, which may be gone before it ends.
// It waits until `thread_` is assigned: a first batch handled at once may stop or even
// destroy the loop from that thread, which reads `thread_` (a data race found by the tsan
// preset in projector_contract.stop_on_poison…, and a use after free in the unit test).
void consumer_loop::start() {
    std::shared_ptr<state> s = state_;
    prom::lock_guard lock(s->sleep_mu);
    thread_ = std::thread([s] {
        s->wait_until_started();
        s->run();
    });
    s->thread_id = thread_.get_id();
    s->started = true;
    s->sleep_cv.notify_all();  // under the lock: `this` may be gone once it is released
}

void consumer_loop::state::wait_until_started() {
    prom::unique_lock lock(sleep_mu);
    while (!started) sleep_cv.wait(lock.native());
}

void consumer_loop::state::request_stop() {
    {
        prom::lock_guard lock(sleep_mu);
        stop = true;
    }
    sleep_cv.notify_all();
}

void consumer_loop::stop_keeping_lease() {
    state_->keep_lease = true;
    stop();
}

void consumer_loop::stop() {
    state_->request_stop();
    // From its own thread (a handler ending its consumer) the loop just exits after the
    // handler returns; a later stop() from another thread joins it.
    if (thread_.joinable() && !on_loop_thread()) thread_.join();
}

bool consumer_loop::state::sleep_for(std::chrono::milliseconds d) {
    prom::unique_lock lock(sleep_mu);
    return !sleep_cv.wait_for(lock.native(), d, [&] { return stop.load(); });
}

// The rules (ephemeral start, a cursor past the end pulled back, waiting at the largest seq,
// backing off when a delivery does not move the position) live in consumer_state, shared
// with the delivery pool; this only carries out its steps.
void consumer_loop::state::run() {
    name_this_thread("prom-consumer");
    const std::string& topic = consumer.config().topic;
    while (!stop) {
        // Read before next() reads the topic, so that an append after that read wakes the wait.
        const std::uint64_t topic_seen = storage.topic_change_version(topic);
        auto step = consumer.next();
        switch (step.what) {
            case consumer_step::kind::wait_change:
                // Only this topic's appends wake it, not every commit of the store. A standby
                // only retries the lease, which is a write: waking it on every commit of the
                // active node would cost a transaction per commit.
                if (consumer.active()) {
                    storage.wait_for_topic_change(topic, topic_seen, step.wait);
                } else {
                    sleep_for(step.wait);
                }
                continue;
            case consumer_step::kind::back_off:
                sleep_for(step.wait);
                continue;
            case consumer_step::kind::deliver:
                break;
        }
        // A full batch: the topic likely holds more, read while this one is delivered.
        if (step.events.size() >= consumer.config().batch_size) {
            consumer.read_ahead(step.events.back().seq);
        }
        auto reached = deliver(step.events);
        if (!consumer.advance(reached, step.events.back().seq)) {
            sleep_for(consumer.config().retry_backoff);
        }
    }
    if (!keep_lease) consumer.release();
}

}  // namespace prom::bus_internal
