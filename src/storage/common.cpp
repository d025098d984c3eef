#include "storage/common.hpp"

#include <algorithm>

namespace prom {

std::uint64_t store::topic_change_version(std::string_view) { return change_version(); }

void store::wait_for_topic_change(std::string_view, std::uint64_t seen,
                                  std::chrono::milliseconds timeout) {
    wait_for_change(seen, timeout);
}

// Backends without a writer thread of their own (memory) answer on the calling thread.
void store::append_async(std::vector<event_input> batch, append_callback done) {
    done(append(std::move(batch)));
}

result<std::vector<std::string>> store::topic_keys(std::string_view topic, std::string_view after,
                                                   std::size_t limit) {
    auto latest = latest_per_key(topic);
    if (!latest) return std::unexpected(latest.error());
    std::vector<std::string> out;
    for (auto& e : *latest) {
        if (e.key > after) out.push_back(std::move(e.key));
    }
    std::ranges::sort(out);
    if (out.size() > limit) out.resize(limit);
    return out;
}

status transaction::update(std::string_view collection, std::string_view key, json::object update,
                           bool upsert) {
    auto d = update_one(collection, key, update, upsert);
    if (!d) return std::unexpected(d.error());
    return {};
}

status transaction::create_one(std::string_view collection, std::string_view key,
                               json::object body) {
    auto cur = find_one(collection, key);
    if (!cur) return std::unexpected(cur.error());
    if (*cur) {
        return fail(errc::conflict, "document '" + std::string(key) + "' of '" +
                                        std::string(collection) + "' was created concurrently");
    }
    return update(collection, key, std::move(body), true);
}

result<bool> transaction::delete_one(std::string_view, std::string_view) {
    return fail(errc::invalid_argument, "this transaction cannot delete documents");
}

result<bool> transaction::erase_one(std::string_view, std::string_view) {
    return fail(errc::invalid_argument, "this transaction cannot erase documents");
}

result<std::size_t> transaction::delete_events(std::string_view, const std::vector<seq_t>&) {
    return fail(errc::invalid_argument, "this transaction cannot delete events");
}

status transaction::put_key_horizon(std::string_view, const key_horizon&) {
    return fail(errc::invalid_argument, "this transaction cannot record a horizon");
}

result<std::size_t> transaction::erase_key(std::string_view, std::string_view) {
    return fail(errc::invalid_argument, "this transaction cannot erase a key");
}

result<std::size_t> transaction::put_snapshots(std::string_view, std::string_view, std::string_view,
                                               seq_t, const std::vector<state_snapshot>&) {
    return fail(errc::invalid_argument, "this transaction cannot store snapshots");
}

}  // namespace prom

namespace prom::storage {

status prepare_inputs(std::vector<event_input>& batch) {
    if (batch.empty()) return fail(errc::invalid_argument, "no events to append");
    ts_ms now = now_ms();
    for (auto& in : batch) {
        if (auto ok = validate_input(in); !ok) return ok;
        if (!in.id) in.id = new_event_id();
        if (!in.ts) in.ts = now;
        in.payload_text.clear();  // the store's own field: never a caller's text
    }
    return {};
}

void encode_payloads(std::vector<event_input>& batch) {
    for (auto& in : batch) {
        in.payload_text.clear();
        if (!in.payload_canonical.empty()) continue;  // payload_text_of takes it as it is
        append_canonical_json(in.payload_text, in.payload);
        in.payload = nullptr;  // freed here rather than on the writer thread
    }
}

std::string_view payload_text_of(const event_input& in, std::string& scratch) {
    if (!in.payload_text.empty()) return in.payload_text;
    if (!in.payload_canonical.empty()) return in.payload_canonical.text();
    scratch.clear();
    append_canonical_json(scratch, in.payload);
    return scratch;
}

std::unexpected<error> below_horizon(std::string_view topic, ts_ms ts, ts_ms horizon) {
    error e{errc::gone, "topic '" + std::string(topic) + "': event ts " + to_string(ts) +
                            " is below the topic's horizon " + to_string(horizon) +
                            " (events before it were dropped by retention)"};
    e.horizon = horizon.value;
    return std::unexpected(std::move(e));
}

void merge_key_horizon(key_horizon& into, const key_horizon& h) {
    into.gone_from = std::min(into.gone_from, h.gone_from);
    if (std::pair(h.base_ts, h.base_seq) > std::pair(into.base_ts, into.base_seq)) {
        into.base_ts = h.base_ts;
        into.base_seq = h.base_seq;
    }
}

void change_notifier::bump() {
    {
        std::lock_guard lock(mu_);
        version_.fetch_add(1, std::memory_order_acq_rel);
    }
    cv_.notify_all();
}

void change_notifier::wait(std::uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return version_.load() != seen; });
}

void change_notifier::add_listener(commit_listener l) {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back(std::move(l));
}

void change_notifier::add_append_listener(append_listener l) {
    std::lock_guard lock(listeners_mu_);
    append_listeners_.push_back(std::move(l));
}

std::uint64_t change_notifier::topic_version(std::string_view topic) {
    std::lock_guard lock(topics_mu_);
    auto it = topics_.find(topic);
    // From now on commits to `topic` are recorded; none before matters to the caller, who
    // reads the topic after this.
    if (it == topics_.end()) it = topics_.try_emplace(std::string(topic), topic_clock_).first;
    return std::max(it->second.version, unknown_version_);
}

void change_notifier::wait_topic(std::string_view topic, std::uint64_t seen,
                                 std::chrono::milliseconds timeout) {
    std::unique_lock lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) it = topics_.try_emplace(std::string(topic), topic_clock_).first;
    topic_watch& w = it->second;
    w.cv.wait_for(lock, timeout, [&] { return std::max(w.version, unknown_version_) != seen; });
}

void change_notifier::note_topics(const appended_topics& appended) {
    std::lock_guard lock(topics_mu_);
    if (topics_.empty()) return;
    if (!appended.complete) {
        unknown_version_ = ++topic_clock_;
        for (auto& [name, w] : topics_) w.cv.notify_all();
        return;
    }
    bool ticked = false;
    for (const auto& tip : appended.tips) {
        auto it = topics_.find(tip.topic);
        if (it == topics_.end()) continue;
        if (!ticked) {
            ++topic_clock_;
            ticked = true;
        }
        it->second.version = topic_clock_;
        it->second.cv.notify_all();
    }
}

void change_notifier::notify_commit(const std::vector<document>& docs,
                                    const appended_topics& appended) {
    if (!appended.tips.empty() || !appended.complete) note_topics(appended);
    if (!docs.empty() || !appended.tips.empty() || !appended.complete) {
        std::lock_guard lock(listeners_mu_);
        if (!docs.empty()) {
            for (auto& l : listeners_) l(docs);
        }
        if (!appended.tips.empty() || !appended.complete) {
            for (auto& l : append_listeners_) l(appended);
        }
    }
    bump();
}

void change_notifier::notify_unknown_change() { notify_commit({}, appended_topics{{}, false}); }

std::uint64_t change_notifier::begin_commit() {
    std::lock_guard lock(tickets_mu_);
    open_tickets_.insert(++next_ticket_);
    return next_ticket_;
}

void change_notifier::end_commit(std::uint64_t ticket) {
    {
        std::lock_guard lock(tickets_mu_);
        open_tickets_.erase(ticket);
    }
    tickets_cv_.notify_all();
}

void change_notifier::wait_for_commit_listeners() {
    std::unique_lock lock(tickets_mu_);
    const std::uint64_t taken = next_ticket_;
    // Tickets taken later do not hold it up: commits that began after the call are not
    // what the caller read.
    tickets_cv_.wait(lock, [&] { return open_tickets_.empty() || *open_tickets_.begin() > taken; });
}

void note_appended(std::vector<topic_tip>& tips, std::string_view topic, seq_t seq) {
    for (auto& t : tips) {
        if (t.topic == topic) {
            t.last_seq = std::max(t.last_seq, seq);
            return;
        }
    }
    tips.push_back({std::string(topic), seq});
}

}  // namespace prom::storage
