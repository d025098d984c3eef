#include "bus/consumer_state.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace prom::bus_internal {

std::string consumer_lease_name(std::string_view topic, std::string_view group) {
    std::string name(consumer_lease_prefix);
    name += topic;
    name += '/';
    name += group;
    return name;
}

consumer_state::consumer_state(store& s, consumer_config config)
    : store_(s), config_(std::move(config)) {
    owner_ = new_event_id();
    lease_name_ = consumer_lease_name(config_.topic, config_.group);
    if (config_.batch_size == 0) config_.batch_size = 1;
}

std::chrono::milliseconds consumer_state::idle_wait() const {
    return std::min<std::chrono::milliseconds>(config_.lease_ttl / 3,
                                               std::chrono::milliseconds(100));
}

bool consumer_state::hold_lease() {
    if (config_.ephemeral) {
        if (!active_) {
            auto pos = initial_position();
            if (!pos) return false;
            position_ = *pos;
            active_ = true;
            if (config_.on_start) config_.on_start(position_);
        }
        return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (active_ && renewed_within_a_third(now)) return true;
    auto got = store_.acquire_lease(lease_name_, owner_, config_.lease_ttl);
    if (!got) {
        spdlog::warn("consumer {}/{}: lease: {}", config_.topic, config_.group,
                     got.error().message);
    }
    bool held = got && *got;
    if (held) {
        renewed_ = now.time_since_epoch().count();
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

std::optional<seq_t> consumer_state::starting_point() {
    if (config_.from_seq) {
        // Never past the end: a cursor there would skip events not yet published.
        auto t = store_.topic(config_.topic);
        if (!t) return std::nullopt;
        const seq_t last = *t ? (*t)->last_seq : seq_t{};
        return std::clamp(*config_.from_seq - 1, seq_t{}, last);
    }
    if (config_.from_ts) {
        auto first = store_.scan({.topic = config_.topic, .from_ts = *config_.from_ts, .limit = 1});
        if (!first) return std::nullopt;
        if (!first->empty()) return first->front().seq - 1;
        auto t = store_.topic(config_.topic);  // none that late yet: from the end
        if (!t) return std::nullopt;
        return *t ? (*t)->last_seq : seq_t{};
    }
    if (config_.from == start_from::earliest) return seq_t{};
    auto t = store_.topic(config_.topic);
    if (!t) return std::nullopt;
    return *t ? (*t)->last_seq : seq_t{};
}

std::optional<seq_t> consumer_state::initial_position() {
    if (config_.ephemeral) return starting_point();
    auto cur = store_.cursor(config_.topic, config_.group);
    if (!cur) return std::nullopt;
    if (*cur) {
        // A cursor past the topic's end cannot come from an ack (bus::ack refuses those) but
        // may be in a database from before that check, or be written by hand: it would skip
        // every event appended up to it. Pulled back to the end, where it can do no harm.
        auto t = store_.topic(config_.topic);
        if (!t) return std::nullopt;
        const seq_t last = *t ? (*t)->last_seq : seq_t{};
        if (**cur <= last) return **cur;
        spdlog::warn(
            "consumer {}/{}: the stored cursor {} is past the topic's last seq {}; "
            "moving it back to {}",
            config_.topic, config_.group, (**cur).value, last.value, last.value);
        if (!store_.set_cursor(config_.topic, config_.group, last)) return std::nullopt;
        return last;
    }
    auto start_at = starting_point();
    if (!start_at) return std::nullopt;
    const seq_t start = *start_at;
    // Persist the starting point, so `latest` means "from when the group was created",
    // not "from whenever the process last restarted". Only if there is still no cursor: an
    // ack that landed since the read above (a client acks as soon as it subscribed) stands.
    auto txn = store_.begin();
    if (!txn) return std::nullopt;
    auto now = (*txn)->cursor(config_.topic, config_.group);
    if (!now) return std::nullopt;
    if (*now) return **now;
    if (!(*txn)->set_cursor(config_.topic, config_.group, start)) return std::nullopt;
    if (!(*txn)->commit()) return std::nullopt;
    return start;
}

consumer_step consumer_state::next() {
    auto version = store_.change_version();
    if (!hold_lease()) return {consumer_step::kind::wait_change, {}, version, idle_wait()};
    if (position_ == seq_t::max()) {
        // Nothing can come after the largest seq (and position_ + 1 would overflow).
        return {consumer_step::kind::wait_change, {}, version, idle_wait()};
    }
    auto batch = read_batch();
    if (!batch) {
        spdlog::warn("consumer {}/{}: {}", config_.topic, config_.group, batch.error().message);
        return {consumer_step::kind::back_off, {}, version, config_.retry_backoff};
    }
    if (batch->empty()) return {consumer_step::kind::wait_change, {}, version, idle_wait()};
    return {consumer_step::kind::deliver, std::move(*batch), version, {}};
}

result<std::vector<event>> consumer_state::read_batch() {
    if (ahead_) {
        auto ahead = std::move(*ahead_);
        ahead_.reset();
        auto batch = ahead.batch.get();
        if (ahead.after == position_) return batch;
        // Read for a position the delivery did not reach (or a lease taken over since).
    }
    return read_from(position_ + 1);
}

scan_query consumer_state::batch_query(seq_t from) const {
    return {.topic = config_.topic,
            .from_seq = from,
            .limit = config_.batch_size,
            .max_bytes = config_.max_batch_bytes};
}

result<std::vector<event>> consumer_state::read_from(seq_t from) {
    auto q = batch_query(from);
    return scan_fitting(store_, q);
}

void consumer_state::read_ahead(seq_t last) {
    if (ahead_ || last == seq_t::max()) return;
    scan_query q = batch_query(last + 1);
    try {
        ahead_.emplace(batch_read_ahead{
            last, std::async(std::launch::async,
                             [&s = store_, q]() mutable { return scan_fitting(s, q); })});
    } catch (const std::system_error&) {
        // No thread to be had: next() reads the batch itself, as without read-ahead.
    }
}

bool consumer_state::advance(std::optional<seq_t> reached, seq_t batch_last) {
    if (!reached || *reached <= position_) {
        // Not processed, or processed without moving the position: either way the same
        // events would come again at once, so the caller waits first. Never spin on one batch.
        if (reached) {
            spdlog::warn("consumer {}/{}: a batch up to seq {} left the position at {}",
                         config_.topic, config_.group, batch_last.value, position_.value);
        }
        return false;
    }
    position_ = *reached;
    return true;
}

bool consumer_state::renew_lease() {
    if (config_.ephemeral || !active_) return active_;
    return hold_lease();
}

result<bool> consumer_state::confirm_lease() {
    if (config_.ephemeral || !active_) return active_.load();
    const auto now = std::chrono::steady_clock::now();
    bool held = false;
    if (!renewed_within_a_third(now)) {
        auto got = store_.acquire_lease(lease_name_, owner_, config_.lease_ttl);
        if (!got) return std::unexpected(got.error());
        held = *got;
        if (held) renewed_ = now.time_since_epoch().count();
    } else {
        // Renewed lately, so still this consumer's unless an operator took it (a forced
        // seek): a read, not a write, says which.
        auto leases = store_.list_leases(lease_name_);
        if (!leases) return std::unexpected(leases.error());
        for (const auto& l : *leases) {
            if (l.name == lease_name_) held = l.owner == owner_ && l.remaining.count() > 0;
        }
    }
    if (!held) active_ = false;  // the driver's next step re-reads the cursor if it gets it back
    return held;
}

bool consumer_state::renewed_within_a_third(std::chrono::steady_clock::time_point now) const {
    const std::chrono::steady_clock::time_point renewed{
        std::chrono::steady_clock::duration(renewed_.load())};
    return now - renewed < config_.lease_ttl / 3;
}

void consumer_state::release() {
    if (active_ && !config_.ephemeral) (void)store_.release_lease(lease_name_, owner_);
    active_ = false;
}

}  // namespace prom::bus_internal
