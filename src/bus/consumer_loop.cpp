#include "bus/consumer_loop.hpp"

#include <spdlog/spdlog.h>

#include <limits>

namespace prom::bus_internal {

consumer_loop::consumer_loop(store& s, consumer_config config, deliver_fn deliver)
    : store_(s), config_(std::move(config)), deliver_(std::move(deliver)) {
    owner_ = new_event_id();
    lease_name_ = "consumer/" + config_.topic + "/" + config_.group;
    if (config_.batch_size == 0) config_.batch_size = 1;
}

consumer_loop::~consumer_loop() {
    stop();
    // Destroyed from its own thread (the owner died inside a handler): nothing can join
    // it; it exits as soon as the handler returns. Owners avoid this (see ws_session.cpp).
    if (thread_.joinable()) thread_.detach();
}

void consumer_loop::start() { thread_ = std::thread([this] { run(); }); }

void consumer_loop::stop() {
    {
        std::lock_guard lock(sleep_mu_);
        stop_ = true;
    }
    sleep_cv_.notify_all();
    // From its own thread (a handler ending its consumer) the loop just exits after the
    // handler returns; a later stop() from another thread joins it.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool consumer_loop::sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(sleep_mu_);
    return !sleep_cv_.wait_for(lock, d, [&] { return stop_.load(); });
}

bool consumer_loop::hold_lease() {
    if (config_.ephemeral) {
        if (!active_) {
            auto pos = initial_position();
            if (!pos) return false;
            position_ = *pos;
            active_ = true;
        }
        return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (active_ && now - renewed_ < config_.lease_ttl / 3) return true;
    auto got = store_.acquire_lease(lease_name_, owner_, config_.lease_ttl);
    if (!got) {
        spdlog::warn("consumer {}/{}: lease: {}", config_.topic, config_.group, got.error().message);
    }
    bool held = got && *got;
    if (held) {
        renewed_ = now;
        if (!active_) {
            // Taking over: whatever the previous holder delivered but did not ack comes again.
            auto pos = initial_position();
            if (!pos) return false;
            position_ = *pos;
            active_ = true;
        }
    } else {
        active_ = false;
    }
    return held;
}

std::optional<seq_t> consumer_loop::initial_position() {
    if (config_.ephemeral) {
        if (config_.from == start_from::earliest) return 0;
        auto t = store_.topic(config_.topic);
        if (!t) return std::nullopt;
        return *t ? (*t)->last_seq : 0;
    }
    auto cur = store_.cursor(config_.topic, config_.group);
    if (!cur) return std::nullopt;
    if (*cur) {
        // A cursor past the topic's end cannot come from an ack (bus::ack refuses those) but
        // may be in a database from before that check, or be written by hand: it would skip
        // every event appended up to it. Pulled back to the end, where it can do no harm.
        auto t = store_.topic(config_.topic);
        if (!t) return std::nullopt;
        const seq_t last = *t ? (*t)->last_seq : 0;
        if (**cur <= last) return **cur;
        spdlog::warn("consumer {}/{}: the stored cursor {} is past the topic's last seq {}; "
                     "moving it back to {}",
                     config_.topic, config_.group, **cur, last, last);
        if (!store_.set_cursor(config_.topic, config_.group, last)) return std::nullopt;
        return last;
    }
    seq_t start = 0;
    if (config_.from == start_from::latest) {
        auto t = store_.topic(config_.topic);
        if (!t) return std::nullopt;
        start = *t ? (*t)->last_seq : 0;
    }
    // Persist the starting point, so `latest` means "from when the group was created",
    // not "from whenever the process last restarted".
    if (!store_.set_cursor(config_.topic, config_.group, start)) return std::nullopt;
    return start;
}

void consumer_loop::run() {
    const auto idle_wait = std::min<std::chrono::milliseconds>(config_.lease_ttl / 3,
                                                                std::chrono::milliseconds(100));
    while (!stop_) {
        auto version = store_.change_version();
        if (!hold_lease()) {
            store_.wait_for_change(version, idle_wait);
            continue;
        }
        if (position_ == std::numeric_limits<seq_t>::max()) {
            // Nothing can come after the largest seq (and position_ + 1 would overflow).
            store_.wait_for_change(version, idle_wait);
            continue;
        }
        scan_query q{.topic = config_.topic, .from_seq = position_ + 1, .limit = config_.batch_size};
        auto batch = store_.scan(q);
        if (!batch) {
            spdlog::warn("consumer {}/{}: {}", config_.topic, config_.group, batch.error().message);
            sleep_for(config_.retry_backoff);
            continue;
        }
        if (batch->empty()) {
            store_.wait_for_change(version, idle_wait);
            continue;
        }
        auto reached = deliver_(*batch);
        if (!reached || *reached <= position_) {
            // Not processed, or processed without moving the position: either way the same
            // events would come again at once, so wait first. Never spin on one batch.
            if (reached) {
                spdlog::warn("consumer {}/{}: a batch up to seq {} left the position at {}",
                             config_.topic, config_.group, batch->back().seq, position_);
            }
            sleep_for(config_.retry_backoff);
            continue;
        }
        position_ = *reached;
    }
    if (active_) (void)store_.release_lease(lease_name_, owner_);
    active_ = false;
}

}  // namespace prom::bus_internal
