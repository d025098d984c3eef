#include "bus/consumer_loop.hpp"

#include <spdlog/spdlog.h>

#include <limits>

namespace prom::bus_internal {

consumer_loop::state::state(store& s, consumer_config c, deliver_fn d)
    : storage(s), config(std::move(c)), deliver(std::move(d)) {
    owner = new_event_id();
    lease_name = "consumer/" + config.topic + "/" + config.group;
    if (config.batch_size == 0) config.batch_size = 1;
}

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
    std::lock_guard lock(s->sleep_mu);
    thread_ = std::thread([s] {
        s->wait_until_started();
        s->run();
    });
    s->thread_id = thread_.get_id();
    s->started = true;
    s->sleep_cv.notify_all();  // under the lock: `this` may be gone once it is released
}

void consumer_loop::state::wait_until_started() {
    std::unique_lock lock(sleep_mu);
    sleep_cv.wait(lock, [&] { return started; });
}

void consumer_loop::state::request_stop() {
    {
        std::lock_guard lock(sleep_mu);
        stop = true;
    }
    sleep_cv.notify_all();
}

void consumer_loop::stop() {
    state_->request_stop();
    // From its own thread (a handler ending its consumer) the loop just exits after the
    // handler returns; a later stop() from another thread joins it.
    if (thread_.joinable() && !on_loop_thread()) thread_.join();
}

bool consumer_loop::state::sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(sleep_mu);
    return !sleep_cv.wait_for(lock, d, [&] { return stop.load(); });
}

bool consumer_loop::state::hold_lease() {
    if (config.ephemeral) {
        if (!active) {
            auto pos = initial_position();
            if (!pos) return false;
            position = *pos;
            active = true;
        }
        return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (active && now - renewed < config.lease_ttl / 3) return true;
    auto got = storage.acquire_lease(lease_name, owner, config.lease_ttl);
    if (!got) {
        spdlog::warn("consumer {}/{}: lease: {}", config.topic, config.group, got.error().message);
    }
    bool held = got && *got;
    if (held) {
        renewed = now;
        if (!active) {
            // Taking over: whatever the previous holder delivered but did not ack comes again.
            auto pos = initial_position();
            if (!pos) return false;
            position = *pos;
            active = true;
        }
    } else {
        active = false;
    }
    return held;
}

std::optional<seq_t> consumer_loop::state::initial_position() {
    if (config.ephemeral) {
        if (config.from == start_from::earliest) return 0;
        auto t = storage.topic(config.topic);
        if (!t) return std::nullopt;
        return *t ? (*t)->last_seq : 0;
    }
    auto cur = storage.cursor(config.topic, config.group);
    if (!cur) return std::nullopt;
    if (*cur) {
        // A cursor past the topic's end cannot come from an ack (bus::ack refuses those) but
        // may be in a database from before that check, or be written by hand: it would skip
        // every event appended up to it. Pulled back to the end, where it can do no harm.
        auto t = storage.topic(config.topic);
        if (!t) return std::nullopt;
        const seq_t last = *t ? (*t)->last_seq : 0;
        if (**cur <= last) return **cur;
        spdlog::warn(
            "consumer {}/{}: the stored cursor {} is past the topic's last seq {}; "
            "moving it back to {}",
            config.topic, config.group, **cur, last, last);
        if (!storage.set_cursor(config.topic, config.group, last)) return std::nullopt;
        return last;
    }
    seq_t start = 0;
    if (config.from == start_from::latest) {
        auto t = storage.topic(config.topic);
        if (!t) return std::nullopt;
        start = *t ? (*t)->last_seq : 0;
    }
    // Persist the starting point, so `latest` means "from when the group was created",
    // not "from whenever the process last restarted".
    if (!storage.set_cursor(config.topic, config.group, start)) return std::nullopt;
    return start;
}

void consumer_loop::state::run() {
    const auto idle_wait =
        std::min<std::chrono::milliseconds>(config.lease_ttl / 3, std::chrono::milliseconds(100));
    while (!stop) {
        auto version = storage.change_version();
        if (!hold_lease()) {
            storage.wait_for_change(version, idle_wait);
            continue;
        }
        if (position == std::numeric_limits<seq_t>::max()) {
            // Nothing can come after the largest seq (and position + 1 would overflow).
            storage.wait_for_change(version, idle_wait);
            continue;
        }
        scan_query q{.topic = config.topic, .from_seq = position + 1, .limit = config.batch_size};
        auto batch = storage.scan(q);
        if (!batch) {
            spdlog::warn("consumer {}/{}: {}", config.topic, config.group, batch.error().message);
            sleep_for(config.retry_backoff);
            continue;
        }
        if (batch->empty()) {
            storage.wait_for_change(version, idle_wait);
            continue;
        }
        auto reached = deliver(*batch);
        if (!reached || *reached <= position) {
            // Not processed, or processed without moving the position: either way the same
            // events would come again at once, so wait first. Never spin on one batch.
            if (reached) {
                spdlog::warn("consumer {}/{}: a batch up to seq {} left the position at {}",
                             config.topic, config.group, batch->back().seq, position);
            }
            sleep_for(config.retry_backoff);
            continue;
        }
        position = *reached;
    }
    if (active) (void)storage.release_lease(lease_name, owner);
    active = false;
}

}  // namespace prom::bus_internal
