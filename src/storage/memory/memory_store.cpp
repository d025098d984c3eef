// Writers (appends and transactions) are serialized by `write_mu_`; a transaction stages its
// changes and publishes them under `data_mu_` at commit, so readers never see a partial one.
#include "storage/memory/memory_store.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/json_size.hpp"
#include "docs/update.hpp"
#include "retention/erasure_marker.hpp"
#include "storage/change_log.hpp"
#include "storage/common.hpp"
#include "storage/key_expectations.hpp"
#include "storage/page_bytes.hpp"
#include "storage/row_codec.hpp"

namespace prom::storage {

namespace {

struct topic_data {
    // events[i] has seq i + 1; empty where retention deleted the event (seqs are not reused).
    std::vector<std::optional<event>> events;
    std::int64_t count = 0;  // events that are not deleted
    ts_ms horizon{};         // topic_info::horizon
    std::unordered_map<std::string, seq_t> by_id;
    std::set<std::tuple<std::string, ts_ms, seq_t>> by_key_time;
    std::set<std::pair<ts_ms, seq_t>> by_time;
    std::map<std::string, seq_t> latest;
};

struct stored_doc {
    document doc;
    json::object object;
};

using cursor_key = std::pair<std::string, std::string>;

// What the other backends count of an event against a page's byte bound (row_codec.hpp,
// event_row_bytes): its payload's JSON text and its headers.
std::size_t stored_bytes(const event& e) {
    std::size_t bytes = measure_json(e.payload).bytes;
    for (const auto& [name, value] : e.headers) bytes += name.size() + value.size();
    return bytes;
}

struct stored_cursor {
    seq_t seq{};
    ts_ms acked_at{};  // cursor_status::acked_at
};

// topic -> key -> reducer -> (ts, seq) -> snapshot. Nested so that the append rule costs a
// seek per reducer of the key, not a walk over all the key's snapshots.
using positioned_snapshots = std::map<std::pair<ts_ms, seq_t>, state_snapshot>;
using key_snapshots = std::map<std::string, positioned_snapshots, std::less<>>;
using snapshot_map =
    std::map<std::string, std::map<std::string, key_snapshots, std::less<>>, std::less<>>;

// The append rule of store.hpp: drop (topic, key)'s snapshots with ts > `ts`.
void drop_snapshots(snapshot_map& snaps, std::string_view topic, std::string_view key, ts_ms ts) {
    auto t = snaps.find(topic);
    if (t == snaps.end()) return;
    auto k = t->second.find(key);
    if (k == t->second.end()) return;
    for (auto& [reducer, by_pos] : k->second) {
        by_pos.erase(by_pos.upper_bound({ts, seq_t::max()}), by_pos.end());
    }
}

// topic -> key -> what retention dropped of it (store.hpp, key_horizon).
using key_horizon_map =
    std::map<std::string, std::map<std::string, key_horizon, std::less<>>, std::less<>>;

class memory_store;

class memory_transaction final : public transaction {
  public:
    memory_transaction(memory_store& s, std::unique_lock<std::mutex> write_lock)
        : s_(s), write_lock_(std::move(write_lock)) {}

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override;
    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert) override;
    result<bool> delete_one(std::string_view collection, std::string_view key) override;
    result<bool> erase_one(std::string_view collection, std::string_view key) override;
    result<std::vector<append_result>> append(std::vector<event_input> batch) override;
    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override;
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override;
    result<std::size_t> delete_events(std::string_view topic,
                                      const std::vector<seq_t>& seqs) override;
    status put_key_horizon(std::string_view topic, const key_horizon& h) override;
    result<std::size_t> erase_key(std::string_view topic, std::string_view key) override;
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override;
    status commit() override;

  private:
    // Retention's changes, staged like the rest and applied by commit after the staged
    // events are published (so a deletion may name an event this transaction appended).
    struct horizon_op {
        std::string topic;
        std::string key;
        std::optional<key_horizon> merge;  // none: erase the key's record
    };
    // The event (topic, seq) as this transaction sees it: staged or stored, not deleted.
    const event* visible(const std::string& topic, seq_t seq) const;
    // Applies deleted_, erased_keys_ and horizon_ops_ to the store (the caller holds data_mu_).
    void apply_retention();
    // Refuses a batch with a new event below its topic's horizon (the caller holds data_mu_).
    status check_horizons(const std::vector<event_input>& batch) const;

    // Stages the batch (the caller holds data_mu_).
    std::vector<append_result> stage(std::vector<event_input>& batch);
    // A batch with expectations (storage/key_expectations.hpp): staged, checked, and
    // unstaged again when the check fails.
    result<std::vector<append_result>> stage_conditional(std::vector<event_input>& batch);
    seq_t latest_seq(const std::string& topic, const std::string& key) const;
    // The seq retention left a key at when it dropped all its events (key_horizon), or 0.
    seq_t base_seq_of(const std::string& topic, const std::string& key) const;

    const stored_doc* lookup(std::string_view collection, std::string_view key);

    memory_store& s_;
    std::unique_lock<std::mutex> write_lock_;
    std::map<std::pair<std::string, std::string>, stored_doc> docs_;
    std::vector<event> events_;
    std::map<std::string, seq_t> last_seq_;  // per topic, including staged events
    std::map<std::pair<std::string, std::string>, std::size_t> staged_ids_;  // index in events_
    std::map<cursor_key, stored_cursor> cursors_;
    std::set<std::pair<std::string, seq_t>> deleted_;            // (topic, seq)
    std::set<std::pair<std::string, std::string>> erased_keys_;  // (topic, key): snapshots go
    std::set<std::pair<std::string, std::string>> erased_docs_;  // (collection, key): bodies go
    std::vector<horizon_op> horizon_ops_;                        // in call order
    // Snapshots put_snapshots kept, stored by commit before apply_retention (so an erasure
    // later in the transaction still removes them).
    struct staged_snapshot {
        std::string topic, key, reducer;
        state_snapshot snap;
    };
    std::vector<staged_snapshot> snapshots_;
    bool committed_ = false;
};

class memory_store final : public store {
  public:
    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        auto txn = begin();
        auto r = (*txn)->append(std::move(batch));
        if (!r) return r;
        if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
        return r;
    }

    result<std::vector<event>> scan(const scan_query& q) override {
        std::lock_guard lock(data_mu_);
        std::vector<event> out;
        auto t = topics_.find(q.topic);
        if (t == topics_.end()) return out;
        auto fits = [&](const event& e) {
            return (!q.from_ts || e.ts >= *q.from_ts) && (!q.to_ts || e.ts <= *q.to_ts) &&
                   (!q.key || e.key == *q.key) && e.seq >= q.from_seq &&
                   (!q.to_seq || e.seq <= *q.to_seq);
        };
        auto& evs = t->second.events;
        page_bytes bound(q.max_bytes, "events of topic", q.topic);
        for (std::size_t i =
                 static_cast<std::size_t>(std::max<std::int64_t>(q.from_seq.value, 1) - 1);
             i < evs.size(); ++i) {
            if (q.to_seq && seq_t{static_cast<std::int64_t>(i) + 1} > *q.to_seq) break;
            if (q.limit && out.size() >= *q.limit) break;
            if (!evs[i] || !fits(*evs[i])) continue;
            if (auto ok = bound.add(stored_bytes(*evs[i])); !ok) return std::unexpected(ok.error());
            out.push_back(*evs[i]);
        }
        return out;
    }

    result<std::vector<event>> scan_key_by_time(const key_time_query& q) override {
        std::lock_guard lock(data_mu_);
        std::vector<event> out;
        auto t = topics_.find(q.topic);
        if (t == topics_.end()) return out;
        auto& idx = t->second.by_key_time;
        auto start = q.after ? idx.upper_bound({q.key, q.after->first, q.after->second})
                             : idx.lower_bound({q.key, ts_ms::min(), seq_t{}});
        page_bytes bound(q.max_bytes, "events of topic", q.topic);
        for (auto it = start; it != idx.end(); ++it) {
            auto& [k, ts, seq] = *it;
            if (k != q.key || ts > q.to_ts) break;
            if (q.limit && out.size() >= *q.limit) break;
            const event& e = *t->second.events[static_cast<std::size_t>(seq.value - 1)];
            if (auto ok = bound.add(stored_bytes(e)); !ok) return std::unexpected(ok.error());
            out.push_back(e);
        }
        return out;
    }

    result<std::vector<event>> latest_per_key(std::string_view topic) override {
        std::lock_guard lock(data_mu_);
        std::vector<event> out;
        auto t = topics_.find(std::string(topic));
        if (t == topics_.end()) return out;
        for (auto& [k, seq] : t->second.latest) {
            out.push_back(*t->second.events[static_cast<std::size_t>(seq.value - 1)]);
        }
        std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
        return out;
    }

    result<std::vector<std::string>> topic_keys(std::string_view topic, std::string_view after,
                                                std::size_t limit) override {
        std::lock_guard lock(data_mu_);
        std::vector<std::string> out;
        auto t = topics_.find(std::string(topic));
        if (t == topics_.end()) return out;
        auto& latest = t->second.latest;
        for (auto it = latest.upper_bound(std::string(after));
             it != latest.end() && out.size() < limit; ++it) {
            // `latest` follows deletions (apply_retention), so its keys are latest_per_key's.
            if (!it->first.empty()) out.push_back(it->first);
        }
        return out;
    }

    result<std::vector<topic_info>> topics() override {
        std::lock_guard lock(data_mu_);
        std::vector<topic_info> out;
        out.reserve(topics_.size());
        for (auto& [name, t] : topics_) out.push_back(info(name, t));
        return out;
    }

    result<std::optional<topic_info>> topic(std::string_view name) override {
        std::lock_guard lock(data_mu_);
        auto t = topics_.find(std::string(name));
        if (t == topics_.end()) return std::optional<topic_info>{};
        return std::optional<topic_info>{info(t->first, t->second)};
    }

    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        std::lock_guard lock(data_mu_);
        auto it = cursors_.find({std::string(topic), std::string(group)});
        if (it == cursors_.end()) return std::optional<seq_t>{};
        return std::optional<seq_t>{it->second.seq};
    }

    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override {
        auto txn = begin();
        if (auto ok = (*txn)->set_cursor(topic, group, seq); !ok) return ok;
        return (*txn)->commit();
    }

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        std::lock_guard lock(data_mu_);
        auto it = docs_.find({std::string(collection), std::string(key)});
        if (it == docs_.end()) return std::optional<document>{};
        return std::optional<document>{it->second.doc};
    }

    result<std::vector<document>> find(const find_query& q) override {
        std::lock_guard lock(data_mu_);
        std::vector<const stored_doc*> hits;
        auto it = docs_.lower_bound({q.collection, std::string()});
        for (; it != docs_.end() && it->first.first == q.collection; ++it) {
            bool ok = true;
            for (auto& [field, value] : q.equals) {
                auto text = docs::match_text(it->second.object, field);
                if (!text || *text != value) {
                    ok = false;
                    break;
                }
            }
            if (ok) hits.push_back(&it->second);
        }
        std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) {
            return a->doc.ts != b->doc.ts ? a->doc.ts > b->doc.ts : a->doc.key < b->doc.key;
        });
        std::vector<document> out;
        page_bytes bound(q.max_bytes, "documents of collection", q.collection);
        for (std::size_t i = q.offset; i < hits.size() && out.size() < q.limit; ++i) {
            if (auto ok = bound.add(hits[i]->doc.body.size()); !ok) {
                return std::unexpected(ok.error());
            }
            out.push_back(hits[i]->doc);
        }
        return out;
    }

    result<std::vector<document_change>> changes(const change_query& q) override {
        std::lock_guard lock(data_mu_);
        std::vector<document_change> out;
        auto it = changes_.find(q.collection);
        if (it == changes_.end()) return out;
        const auto& log = it->second;  // log[i].seq == i + 1
        page_bytes bound(q.max_bytes, "changes of collection", q.collection);
        for (auto i = static_cast<std::size_t>(std::max<std::int64_t>(q.after.value, 0));
             i < log.size() && out.size() < q.limit; ++i) {
            if (auto ok = bound.add(log[i].body.size()); !ok) return std::unexpected(ok.error());
            out.push_back(log[i]);
        }
        return out;
    }

    result<seq_t> last_change(std::string_view collection) override {
        std::lock_guard lock(data_mu_);
        auto it = changes_.find(collection);
        if (it == changes_.end()) return seq_t{};
        return seq_t{static_cast<std::int64_t>(it->second.size())};
    }

    result<std::vector<std::string>> logged_collections(std::string_view prefix) override {
        std::lock_guard lock(data_mu_);
        std::vector<std::string> out;
        for (auto it = changes_.lower_bound(prefix);
             it != changes_.end() && it->first.starts_with(prefix); ++it) {
            out.push_back(it->first);
        }
        return out;
    }

    status declare_index(std::string_view collection, std::string_view field) override {
        if (!docs::valid_collection_name(collection) || !docs::valid_field_name(field)) {
            return fail(errc::invalid_argument, "bad collection or field name for an index");
        }
        return {};  // an in-memory scan is the index
    }

    result<std::unique_ptr<transaction>> begin() override {
        return std::make_unique<memory_transaction>(*this, std::unique_lock(write_mu_));
    }

    result<bool> acquire_lease(std::string_view name, std::string_view owner,
                               std::chrono::milliseconds ttl) override {
        std::lock_guard lock(data_mu_);
        auto now = std::chrono::steady_clock::now();
        auto& l = leases_[std::string(name)];
        if (l.first.empty() || l.first == owner || l.second < now) {
            l = {std::string(owner), now + ttl};
            return true;
        }
        return false;
    }

    status release_lease(std::string_view name, std::string_view owner) override {
        {
            std::lock_guard lock(data_mu_);
            auto it = leases_.find(std::string(name));
            if (it != leases_.end() && it->second.first == owner) leases_.erase(it);
        }
        notifier_.bump();  // standbys wake and take over at once
        return {};
    }

    std::uint64_t change_version() override { return notifier_.version(); }
    void wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) override {
        notifier_.wait(seen, timeout);
    }
    std::uint64_t topic_change_version(std::string_view topic) override {
        return notifier_.topic_version(topic);
    }
    void wait_for_topic_change(std::string_view topic, std::uint64_t seen,
                               std::chrono::milliseconds timeout) override {
        notifier_.wait_topic(topic, seen, timeout);
    }
    void add_commit_listener(commit_listener l) override { notifier_.add_listener(std::move(l)); }
    void wait_for_commit_listeners() override { notifier_.wait_for_commit_listeners(); }
    void add_append_listener(append_listener l) override {
        notifier_.add_append_listener(std::move(l));
    }

    // ---- operations (store.hpp)
    result<std::vector<cursor_status>> list_cursors() override {
        std::lock_guard lock(data_mu_);
        std::vector<cursor_status> out;
        out.reserve(cursors_.size());
        for (const auto& [k, c] : cursors_) {
            cursor_status st{.topic = k.first, .group = k.second, .seq = c.seq};
            st.acked_at = c.acked_at;
            if (auto t = topics_.find(k.first); t != topics_.end()) {
                const auto& evs = t->second.events;
                st.topic_last_seq = seq_t{static_cast<std::int64_t>(evs.size())};
                // The first unacknowledged event that is still stored (retention may have
                // deleted the next ones).
                for (auto i = static_cast<std::size_t>(std::max<std::int64_t>(c.seq.value, 0));
                     i < evs.size(); ++i) {
                    if (evs[i]) {
                        st.next_ts = evs[i]->ts;
                        break;
                    }
                }
            }
            out.push_back(std::move(st));
        }
        return out;
    }

    result<std::vector<lease_status>> list_leases(std::string_view prefix) override {
        std::lock_guard lock(data_mu_);
        auto now = std::chrono::steady_clock::now();
        std::vector<lease_status> out;
        for (const auto& [name, l] : leases_) {
            if (!name.starts_with(prefix)) continue;
            out.push_back({name, l.first,
                           std::chrono::duration_cast<std::chrono::milliseconds>(l.second - now)});
        }
        return out;
    }

    result<bool> delete_cursor(std::string_view topic, std::string_view group) override {
        bool gone = false;
        {
            std::unique_lock write(write_mu_);
            std::lock_guard lock(data_mu_);
            gone = cursors_.erase({std::string(topic), std::string(group)}) > 0;
        }
        notifier_.bump();
        return gone;
    }

    status seize_lease(std::string_view name, std::string_view owner,
                       std::chrono::milliseconds ttl) override {
        {
            std::lock_guard lock(data_mu_);
            leases_[std::string(name)] = {std::string(owner),
                                          std::chrono::steady_clock::now() + ttl};
        }
        notifier_.bump();
        return {};
    }

    // ---- time-travel snapshots
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override {
        // Under data_mu_, which commits also take to publish events (and drop snapshots),
        // so the check below and the insert are atomic with respect to appends.
        std::lock_guard lock(data_mu_);
        const ts_ms late_ts = lowest_ts_since(topic, key, known_seq);
        std::size_t stored = 0;
        for (const auto& snap : snaps) {
            if (snap.ts > late_ts) continue;
            snapshots_[std::string(topic)][std::string(key)][std::string(reducer)]
                      [{snap.ts, snap.seq}] = snap;
            ++stored;
        }
        return stored;
    }

    result<std::optional<state_snapshot>> snapshot_at_or_before(std::string_view topic,
                                                                std::string_view key,
                                                                std::string_view reducer,
                                                                ts_ms t) override {
        std::lock_guard lock(data_mu_);
        auto none = std::optional<state_snapshot>{};
        auto t_it = snapshots_.find(topic);
        if (t_it == snapshots_.end()) return none;
        auto k_it = t_it->second.find(key);
        if (k_it == t_it->second.end()) return none;
        auto r_it = k_it->second.find(reducer);
        if (r_it == k_it->second.end()) return none;
        auto it = r_it->second.upper_bound({t, seq_t::max()});
        if (it == r_it->second.begin()) return none;
        --it;
        return std::optional<state_snapshot>{it->second};
    }

    // ---- retention (docs/retention.md)
    result<ts_ms> raise_horizon(std::string_view topic, ts_ms h) override {
        // write_mu_ is what orders appends: no transaction is open while we hold it, and
        // every later one checks the new horizon.
        std::unique_lock write(write_mu_);
        std::lock_guard lock(data_mu_);
        auto t = topics_.find(std::string(topic));
        if (t == topics_.end())
            return fail(errc::not_found, "no topic '" + std::string(topic) + "'");
        t->second.horizon = std::max(t->second.horizon, h);
        return t->second.horizon;
    }

    result<bool> has_event_id(std::string_view topic, std::string_view id) override {
        std::lock_guard lock(data_mu_);
        auto t = topics_.find(std::string(topic));
        return t != topics_.end() && t->second.by_id.contains(std::string(id));
    }

    result<std::optional<key_horizon>> find_key_horizon(std::string_view topic,
                                                        std::string_view key) override {
        std::lock_guard lock(data_mu_);
        auto none = std::optional<key_horizon>{};
        auto t = key_horizons_.find(topic);
        if (t == key_horizons_.end()) return none;
        auto k = t->second.find(key);
        if (k == t->second.end()) return none;
        return std::optional<key_horizon>{k->second};
    }

    result<std::vector<key_horizon>> key_horizons(std::string_view topic) override {
        std::lock_guard lock(data_mu_);
        std::vector<key_horizon> out;
        if (auto t = key_horizons_.find(topic); t != key_horizons_.end()) {
            for (const auto& [k, h] : t->second) out.push_back(h);
        }
        return out;
    }

    result<std::vector<topic_size>> topic_sizes() override {
        std::lock_guard lock(data_mu_);
        std::vector<topic_size> out;
        for (const auto& [name, t] : topics_) {
            topic_size sz{name, 0, 0};
            for (const auto& e : t.events) {
                if (!e) continue;
                ++sz.events;
                // What the SQL backends store: the payload's canonical JSON, the headers'.
                sz.bytes += static_cast<std::int64_t>(canonical_json(e->payload).size() +
                                                      encode_headers(e->headers).size() +
                                                      e->id.size() + e->key.size());
            }
            out.push_back(std::move(sz));
        }
        return out;
    }

    status reclaim_space() override { return {}; }   // freed memory is freed already
    status checkpoint_log() override { return {}; }  // no log to copy

  private:
    friend class memory_transaction;

    // The lowest ts of (topic, key)'s stored events after known_seq, or ts_ms::max(): the
    // check of put_snapshots (store.hpp); ts_ms::min() for an erasure marker (late_ts_of).
    // The caller holds data_mu_.
    ts_ms lowest_ts_since(std::string_view topic, std::string_view key, seq_t known_seq) const {
        ts_ms late_ts = ts_ms::max();
        if (auto t = topics_.find(std::string(topic)); t != topics_.end()) {
            auto& evs = t->second.events;
            for (auto i = static_cast<std::size_t>(std::max<std::int64_t>(known_seq.value, 0));
                 i < evs.size(); ++i) {
                if (evs[i] && evs[i]->key == key) late_ts = std::min(late_ts, late_ts_of(*evs[i]));
            }
        }
        return late_ts;
    }

    // What an event appended after a fold began says of its snapshots: none later than its
    // ts stands, and none at all after an erasure (the fold read what the erasure took).
    static ts_ms late_ts_of(const event& e) {
        return retention::is_erasure_marker(e) ? ts_ms::min() : e.ts;
    }

    static topic_info info(const std::string& name, const topic_data& t) {
        return topic_info{name, t.count, seq_t{static_cast<std::int64_t>(t.events.size())},
                          t.horizon};
    }

    std::mutex write_mu_;
    std::mutex data_mu_;
    std::map<std::string, topic_data> topics_;
    std::map<cursor_key, stored_cursor> cursors_;
    std::map<std::pair<std::string, std::string>, stored_doc> docs_;
    std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> leases_;
    snapshot_map snapshots_;
    key_horizon_map key_horizons_;
    std::map<std::string, std::vector<document_change>, std::less<>> changes_;
    change_notifier notifier_;
};

const stored_doc* memory_transaction::lookup(std::string_view collection, std::string_view key) {
    std::pair<std::string, std::string> k{std::string(collection), std::string(key)};
    if (auto it = docs_.find(k); it != docs_.end()) {
        return it->second.doc.deleted ? nullptr : &it->second;
    }
    std::lock_guard lock(s_.data_mu_);
    if (auto it = s_.docs_.find(k); it != s_.docs_.end()) return &it->second;
    return nullptr;  // only the writer mutates s_.docs_, and we are the writer
}

result<std::optional<document>> memory_transaction::find_one(std::string_view collection,
                                                             std::string_view key) {
    if (auto* d = lookup(collection, key)) return std::optional<document>{d->doc};
    return std::optional<document>{};
}

result<document> memory_transaction::update_one(std::string_view collection, std::string_view key,
                                                const json::object& update, bool upsert) {
    if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
    const stored_doc* cur = lookup(collection, key);
    if (!cur && !upsert) return fail(errc::not_found, "no document '" + std::string(key) + "'");
    auto obj = docs::apply_update(cur ? &cur->object : nullptr, update, key, now_ms());
    if (!obj) return std::unexpected(obj.error());
    stored_doc sd{docs::make_document(collection, key, *obj), std::move(*obj)};
    document out = sd.doc;
    docs_[{std::string(collection), std::string(key)}] = std::move(sd);
    return out;
}

result<bool> memory_transaction::delete_one(std::string_view collection, std::string_view key) {
    if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
    if (!lookup(collection, key)) return false;
    docs_[{std::string(collection), std::string(key)}] =
        stored_doc{deleted_document(collection, key), {}};
    return true;
}

result<bool> memory_transaction::erase_one(std::string_view collection, std::string_view key) {
    auto gone = delete_one(collection, key);
    if (!gone) return gone;
    bool logged = false;  // a change of the key with a body, in the committed log
    {
        std::lock_guard lock(s_.data_mu_);
        if (auto it = s_.changes_.find(collection); it != s_.changes_.end()) {
            for (const auto& c : it->second) logged = logged || (c.key == key && !c.deleted);
        }
    }
    erased_docs_.emplace(std::string(collection), std::string(key));
    return *gone || logged;
}

result<std::vector<append_result>> memory_transaction::append(std::vector<event_input> batch) {
    if (auto ok = prepare_inputs(batch); !ok) return std::unexpected(ok.error());
    std::lock_guard lock(s_.data_mu_);
    if (auto ok = check_horizons(batch); !ok) return std::unexpected(ok.error());
    if (has_expectations(batch)) return stage_conditional(batch);
    return stage(batch);
}

status memory_transaction::check_horizons(const std::vector<event_input>& batch) const {
    for (const auto& in : batch) {
        auto t = s_.topics_.find(in.topic);
        if (t == s_.topics_.end() || *in.ts >= t->second.horizon) continue;
        // A duplicate is answered with the original, however old (store.hpp).
        if (t->second.by_id.contains(*in.id) || staged_ids_.contains({in.topic, *in.id})) continue;
        return below_horizon(in.topic, *in.ts, t->second.horizon);
    }
    return {};
}

seq_t memory_transaction::base_seq_of(const std::string& topic, const std::string& key) const {
    auto t = s_.key_horizons_.find(topic);
    if (t == s_.key_horizons_.end()) return seq_t{};
    auto k = t->second.find(key);
    return k == t->second.end() ? seq_t{} : k->second.base_seq;
}

seq_t memory_transaction::latest_seq(const std::string& topic, const std::string& key) const {
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
        if (it->topic == topic && it->key == key && !deleted_.contains({topic, it->seq})) {
            return it->seq;
        }
    }
    auto t = s_.topics_.find(topic);
    if (t == s_.topics_.end()) return seq_t{};
    auto l = t->second.latest.find(key);
    if (l == t->second.latest.end()) return seq_t{};
    if (!deleted_.contains({topic, l->second})) return l->second;
    // This transaction deletes the key's latest event: its greatest surviving seq.
    seq_t best{};
    auto& idx = t->second.by_key_time;
    for (auto it = idx.lower_bound({key, ts_ms::min(), seq_t{}});
         it != idx.end() && std::get<0>(*it) == key; ++it) {
        if (!deleted_.contains({topic, std::get<2>(*it)})) best = std::max(best, std::get<2>(*it));
    }
    return best;
}

const event* memory_transaction::visible(const std::string& topic, seq_t seq) const {
    if (seq < 1 || deleted_.contains({topic, seq})) return nullptr;
    auto t = s_.topics_.find(topic);
    const std::int64_t stored =
        t == s_.topics_.end() ? 0 : static_cast<std::int64_t>(t->second.events.size());
    if (seq <= stored) {
        const auto& e = t->second.events[static_cast<std::size_t>(seq.value - 1)];
        return e ? &*e : nullptr;
    }
    for (const auto& e : events_) {
        if (e.topic == topic && e.seq == seq) return &e;
    }
    return nullptr;
}

result<std::size_t> memory_transaction::delete_events(std::string_view topic,
                                                      const std::vector<seq_t>& seqs) {
    std::lock_guard lock(s_.data_mu_);
    const std::string name(topic);
    std::size_t n = 0;
    for (seq_t seq : seqs) {
        if (!visible(name, seq)) continue;  // no such event, or already deleted
        deleted_.emplace(name, seq);
        ++n;
    }
    return n;
}

status memory_transaction::put_key_horizon(std::string_view topic, const key_horizon& h) {
    horizon_ops_.push_back({std::string(topic), h.key, h});
    return {};
}

result<std::size_t> memory_transaction::erase_key(std::string_view topic, std::string_view key) {
    std::lock_guard lock(s_.data_mu_);
    const std::string name(topic);
    std::vector<seq_t> seqs;
    if (auto t = s_.topics_.find(name); t != s_.topics_.end()) {
        auto& idx = t->second.by_key_time;
        for (auto it = idx.lower_bound({std::string(key), ts_ms::min(), seq_t{}});
             it != idx.end() && std::get<0>(*it) == key; ++it) {
            seqs.push_back(std::get<2>(*it));
        }
    }
    for (const auto& e : events_) {
        if (e.topic == topic && e.key == key) seqs.push_back(e.seq);
    }
    std::size_t n = 0;
    for (seq_t seq : seqs) n += deleted_.emplace(name, seq).second ? 1 : 0;
    erased_keys_.emplace(name, std::string(key));
    horizon_ops_.push_back({name, std::string(key), std::nullopt});
    return n;
}

result<std::size_t> memory_transaction::put_snapshots(std::string_view topic, std::string_view key,
                                                      std::string_view reducer, seq_t known_seq,
                                                      const std::vector<state_snapshot>& snaps) {
    // The transaction holds write_mu_, so no other commit adds events before ours: the
    // check now, over the stored events and those this transaction staged, holds at commit.
    std::lock_guard lock(s_.data_mu_);
    ts_ms late_ts = s_.lowest_ts_since(topic, key, known_seq);
    for (const auto& e : events_) {
        if (e.topic == topic && e.key == key && e.seq > known_seq)
            late_ts = std::min(late_ts, memory_store::late_ts_of(e));
    }
    std::size_t stored = 0;
    for (const auto& snap : snaps) {
        if (snap.ts > late_ts) continue;  // a late event raced with the fold
        snapshots_.push_back({std::string(topic), std::string(key), std::string(reducer), snap});
        ++stored;
    }
    return stored;
}

void memory_transaction::apply_retention() {
    std::set<std::pair<std::string, std::string>> touched;  // keys that lost an event
    for (const auto& [topic, seq] : deleted_) {
        auto t = s_.topics_.find(topic);
        if (t == s_.topics_.end()) continue;
        auto& td = t->second;
        auto& slot = td.events[static_cast<std::size_t>(seq.value - 1)];
        if (!slot) continue;
        td.by_id.erase(slot->id);
        td.by_key_time.erase({slot->key, slot->ts, seq});
        td.by_time.erase({slot->ts, seq});
        --td.count;
        touched.emplace(topic, slot->key);
        slot.reset();  // the payload goes with it
    }
    // `latest` stays right: a key whose latest event went points at its greatest surviving
    // seq, or loses its row.
    for (const auto& [topic, key] : touched) {
        auto& td = s_.topics_[topic];
        seq_t best{};
        for (auto it = td.by_key_time.lower_bound({key, ts_ms::min(), seq_t{}});
             it != td.by_key_time.end() && std::get<0>(*it) == key; ++it) {
            best = std::max(best, std::get<2>(*it));
        }
        if (best == 0) {
            td.latest.erase(key);
        } else {
            td.latest[key] = best;
        }
    }
    for (const auto& [topic, key] : erased_keys_) {
        if (auto t = s_.snapshots_.find(topic); t != s_.snapshots_.end()) {
            if (auto k = t->second.find(key); k != t->second.end()) t->second.erase(k);
        }
    }
    for (auto& op : horizon_ops_) {
        auto& keys = s_.key_horizons_[op.topic];
        if (!op.merge) {
            if (auto k = keys.find(op.key); k != keys.end()) keys.erase(k);
            continue;
        }
        auto [k, fresh] = keys.try_emplace(op.key, *op.merge);
        if (!fresh) merge_key_horizon(k->second, *op.merge);
    }
}

result<std::vector<append_result>> memory_transaction::stage_conditional(
    std::vector<event_input>& batch) {
    key_seqs before;
    for (auto& k : expected_keys(batch)) {
        seq_t seq = latest_seq(k.first, k.second);
        if (seq.value == 0) seq = base_seq_of(k.first, k.second);
        before.emplace(std::move(k), seq);
    }
    const std::size_t staged_before = events_.size();
    const auto last_seq_before = last_seq_;
    auto out = stage(batch);
    if (auto ok = check_key_expectations(batch, out, std::move(before)); !ok) {
        for (std::size_t i = staged_before; i < events_.size(); ++i) {
            staged_ids_.erase({events_[i].topic, events_[i].id});
        }
        events_.resize(staged_before);
        last_seq_ = last_seq_before;
        return std::unexpected(ok.error());
    }
    return out;
}

std::vector<append_result> memory_transaction::stage(std::vector<event_input>& batch) {
    std::vector<append_result> out;
    for (auto& in : batch) {
        auto id_key = std::make_pair(in.topic, *in.id);
        auto tit = s_.topics_.find(in.topic);
        topic_data* t = tit == s_.topics_.end() ? nullptr : &tit->second;
        if (t) {
            if (auto d = t->by_id.find(*in.id); d != t->by_id.end()) {
                out.push_back({*in.id, d->second,
                               t->events[static_cast<std::size_t>(d->second.value - 1)]->ts, true});
                continue;
            }
        }
        if (auto d = staged_ids_.find(id_key); d != staged_ids_.end()) {
            const event& e = events_[d->second];
            out.push_back({e.id, e.seq, e.ts, true});
            continue;
        }
        auto [ls, fresh] = last_seq_.try_emplace(
            in.topic, seq_t{t ? static_cast<std::int64_t>(t->events.size()) : 0});
        seq_t seq = ++ls->second;
        staged_ids_[id_key] = events_.size();
        json::value payload =
            in.payload_canonical.empty() ? std::move(in.payload) : payload_value(in);
        events_.push_back(event{*in.id, in.topic, in.key, *in.ts, seq, std::move(payload),
                                std::move(in.headers)});
        out.push_back({*in.id, seq, *in.ts, false});
    }
    return out;
}

status memory_transaction::set_cursor(std::string_view topic, std::string_view group, seq_t seq) {
    cursors_[{std::string(topic), std::string(group)}] = {seq, now_ms()};
    return {};
}

result<std::optional<seq_t>> memory_transaction::cursor(std::string_view topic,
                                                        std::string_view group) {
    if (auto it = cursors_.find({std::string(topic), std::string(group)}); it != cursors_.end()) {
        return std::optional<seq_t>{it->second.seq};
    }
    return s_.cursor(topic, group);
}

status memory_transaction::commit() {
    std::vector<document> changed;
    appended_topics appended;
    // From before the documents are visible until the listeners dropped their cached copies
    // (storage/common.hpp, commit_ticket).
    std::optional<change_notifier::commit_ticket> ticket;
    if (!docs_.empty()) ticket.emplace(s_.notifier_);
    {
        std::lock_guard lock(s_.data_mu_);
        for (auto& e : events_) {
            note_appended(appended.tips, e.topic, e.seq);
            auto& t = s_.topics_[e.topic];
            t.by_id[e.id] = e.seq;
            t.by_key_time.emplace(e.key, e.ts, e.seq);
            t.by_time.emplace(e.ts, e.seq);
            t.latest[e.key] = e.seq;
            ++t.count;
            drop_snapshots(s_.snapshots_, e.topic, e.key, e.ts);
            t.events.emplace_back(std::move(e));
        }
        for (auto& st : snapshots_) {
            s_.snapshots_[st.topic][st.key][st.reducer][{st.snap.ts, st.snap.seq}] =
                std::move(st.snap);
        }
        apply_retention();
        for (auto& [k, v] : cursors_) s_.cursors_[k] = v;
        // erase_one's: the key's logged changes read as deletions from now on.
        for (const auto& [coll, key] : erased_docs_) {
            auto it = s_.changes_.find(coll);
            if (it == s_.changes_.end()) continue;
            for (auto& c : it->second) {
                if (c.key != key) continue;
                c.deleted = true;
                c.body.clear();
                c.etag.clear();
            }
        }
        // The change log (storage/change_log.hpp): docs_ is ordered by (collection, key),
        // the order every backend logs a commit's changes in.
        for (auto& [k, v] : docs_) {
            auto& log = s_.changes_[k.first];
            const document& d = v.doc;
            log.push_back(document_change{seq_t{static_cast<std::int64_t>(log.size()) + 1},
                                          d.collection, d.key, d.ts, d.deleted, d.body, d.etag});
            changed.push_back(d);
            if (d.deleted) {
                s_.docs_.erase(k);
            } else {
                s_.docs_[k] = std::move(v);
            }
        }
    }
    committed_ = true;
    write_lock_.unlock();
    s_.notifier_.notify_commit(changed, appended);
    return {};
}

}  // namespace

std::unique_ptr<store> make_memory_store() { return std::make_unique<memory_store>(); }

}  // namespace prom::storage
