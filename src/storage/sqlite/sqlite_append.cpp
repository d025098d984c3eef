// Appends: id dedupe, gapless seq assignment, and the write function of the group commit.
#include "storage/key_expectations.hpp"
#include "storage/sqlite/sqlite_key_index.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

result<topic_counters::counters*> topic_counters::get(connection& c, const std::string& topic) {
    if (auto it = topics_.find(topic); it != topics_.end()) return &it->second;
    // Read inside the write transaction, so seqs are gapless and strictly increasing across
    // threads, processes and crashes.
    auto st =
        c.prepare("SELECT last_seq, count, horizon_ms, keyed_seq FROM topics WHERE name = ?1");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    counters v;
    int rc = st->step();
    if (rc == SQLITE_ROW) {
        v = {seq_t{st->int64(0)}, st->int64(1), ts_ms{st->int64(2)}, seq_t{st->int64(3)}};
        v.stored = {v.last_seq, v.count, v.keyed_seq};
    } else if (rc != SQLITE_DONE) {
        return std::unexpected(c.last_error(rc, "read topic"));
    }
    v.track_latest = tail_ && tail_->keeps(topic);
    // One probe per topic and transaction instead of one per event (measured: the per-event
    // probe was one of the four statements an append ran per event).
    auto snaps = c.prepare("SELECT 1 FROM snapshots WHERE topic = ?1 LIMIT 1");
    if (!snaps) return std::unexpected(snaps.error());
    snaps->bind(1, topic);
    rc = snaps->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return std::unexpected(c.last_error(rc, "probe snapshots"));
    v.has_snapshots = rc == SQLITE_ROW;
    return &topics_.emplace(topic, v).first->second;
}

void topic_counters::set_latest(std::string_view topic, std::string_view key, seq_t seq) {
    if (auto it = latest_.find(std::pair(topic, key)); it != latest_.end()) {
        it->second = seq;
    } else {
        latest_.emplace(std::pair(std::string(topic), std::string(key)), seq);
    }
}

std::optional<seq_t> topic_counters::pending_latest(std::string_view topic,
                                                    std::string_view key) const {
    if (auto it = latest_.find(std::pair(topic, key)); it != latest_.end()) return it->second;
    return std::nullopt;
}

namespace {

// The seq that a statement reading one value over topic ?1, key ?2 (and `after` as ?3)
// reads; nullopt for no row or NULL.
result<std::optional<seq_t>> read_seq(connection& c, const char* sql, std::string_view topic,
                                      std::string_view key, std::optional<seq_t> after = {}) {
    auto st = c.prepare(sql);
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, key);
    if (after) st->bind(3, *after);
    int rc = st->step();
    if (rc == SQLITE_ROW && !st->is_null(0)) return decode_seq(*st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return std::unexpected(c.last_error(rc, "read latest"));
    return std::optional<seq_t>{};
}

}  // namespace

result<seq_t> topic_counters::stored_latest(connection& c, const std::string& topic,
                                            std::string_view key) {
    auto t = get(c, topic);
    if (!t) return std::unexpected(t.error());
    if (!tail_) {
        // No writer memory (inside a transaction): `latest` and the log's tail, walked here
        // (at most key_index_lag rows, plus the transaction's own appends, which its earlier
        // write-backs left in the log).
        auto r =
            read_seq(c,
                     "SELECT max(seq) FROM (SELECT seq FROM latest WHERE topic = ?1 AND "
                     "key = ?2 UNION ALL SELECT seq FROM events WHERE topic = ?1 AND " PROM_KEY_TAIL
                     " AND key = ?2)",
                     topic, key);
        if (!r) return std::unexpected(r.error());
        return r->value_or(seq_t{});
    }
    if (!(*t)->track_latest) {
        // This transaction's own events of the key, not recorded: the log after the row.
        auto own =
            read_seq(c, "SELECT max(seq) FROM events WHERE topic = ?1 AND key = ?2 AND seq > ?3",
                     topic, key, (*t)->stored.last_seq);
        if (!own) return std::unexpected(own.error());
        if (*own) return **own;
    }
    auto in_tail = tail_->find(c, topic, key, (*t)->stored);
    if (!in_tail) return std::unexpected(in_tail.error());
    if (*in_tail) return **in_tail;
    auto row = read_seq(c, "SELECT seq FROM latest WHERE topic = ?1 AND key = ?2", topic, key);
    if (!row) return std::unexpected(row.error());
    return row->value_or(seq_t{});
}

status topic_counters::write_back(connection& c) {
    for (auto& [name, v] : topics_) {
        // `latest` follows the log in steps of key_index_lag (sqlite_key_index.hpp); the key
        // index is the key indexer's (sqlite_key_indexer.hpp).
        if (v.last_seq.value - v.keyed_seq.value >= key_index_lag) {
            if (auto ok = step_latest_in_txn(c, name, v.keyed_seq); !ok) return ok;
            v.keyed_seq = v.last_seq;
        }
        auto up = c.prepare(
            "INSERT INTO topics(name, last_seq, count, keyed_seq) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(name) DO UPDATE SET last_seq = excluded.last_seq, "
            "count = excluded.count, keyed_seq = excluded.keyed_seq");
        if (!up) return std::unexpected(up.error());
        up->bind(1, name);
        up->bind(2, v.last_seq);
        up->bind(3, v.count);
        up->bind(4, v.keyed_seq);
        int rc = up->step();
        if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "update topic"));
    }
    return {};
}

appended_topics topic_counters::tips() const {
    appended_topics out;
    out.tips.reserve(topics_.size());
    for (const auto& [name, v] : topics_) out.tips.push_back({name, v.last_seq});
    return out;
}

namespace {

// Step 1 of a conditional append (storage/key_expectations.hpp), inside the write
// transaction, which no other writer can enter until it ends.
// An earlier batch of the same transaction may have appended to the key: `counters` has it.
result<key_seqs> latest_of_expected_keys(connection& c, const std::vector<event_input>& batch,
                                         topic_counters& counters) {
    key_seqs out;
    for (auto& k : expected_keys(batch)) {
        if (auto pending = counters.pending_latest(k.first, k.second)) {
            out.emplace(std::move(k), *pending);
            continue;
        }
        auto seq = counters.stored_latest(c, k.first, k.second);
        if (!seq) return std::unexpected(seq.error());
        if (seq->value == 0) {
            // Retention dropped every event of the key: it is at its base seq.
            auto base =
                read_seq(c, "SELECT base_seq FROM key_horizons WHERE topic = ?1 AND key = ?2",
                         k.first, k.second);
            if (!base) return std::unexpected(base.error());
            if (*base) *seq = **base;
        }
        out.emplace(std::move(k), *seq);
    }
    return out;
}

result<std::vector<append_result>> append_unconditionally(connection& c,
                                                          std::vector<event_input>& batch,
                                                          topic_counters& counters);

// Whether (topic, id) is stored already (then the input is a duplicate, answered with it).
result<bool> is_stored(connection& c, std::string_view topic, std::string_view id) {
    auto st = c.prepare("SELECT 1 FROM events WHERE topic = ?1 AND id = ?2");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, id);
    int rc = st->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "read id"));
    return rc == SQLITE_ROW;
}

// The horizon rule (store.hpp, raise_horizon): a new event with a ts below its topic's
// horizon fails the whole batch, before anything of it is written. The horizon comes with
// the topics row the append reads anyway, so an event at or above it costs one comparison;
// only one below it costs a lookup (a duplicate of a stored event is still answered).
status check_horizons(connection& c, const std::vector<event_input>& batch,
                      topic_counters& counters) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& in = batch[i];
        auto t = counters.get(c, in.topic);
        if (!t) return std::unexpected(t.error());
        if (*in.ts >= (*t)->horizon) continue;
        auto stored = is_stored(c, in.topic, *in.id);
        if (!stored) return std::unexpected(stored.error());
        if (*stored) continue;
        bool earlier = false;  // a copy earlier in the batch: a duplicate of that one
        for (std::size_t j = 0; j < i && !earlier; ++j) {
            earlier = batch[j].topic == in.topic && *batch[j].id == *in.id;
        }
        if (!earlier) return below_horizon(in.topic, *in.ts, (*t)->horizon);
    }
    return {};
}

}  // namespace

// A failed expectation leaves the batch's rows in the transaction (and `counters` moved):
// the caller rolls back, as it does for any failed append (write_group, sqlite_transaction).
result<std::vector<append_result>> append_in_txn(connection& c, std::vector<event_input>& batch,
                                                 topic_counters& counters) {
    if (auto ok = check_horizons(c, batch, counters); !ok) return std::unexpected(ok.error());
    if (!has_expectations(batch)) return append_unconditionally(c, batch, counters);
    auto before = latest_of_expected_keys(c, batch, counters);
    if (!before) return std::unexpected(before.error());
    auto out = append_unconditionally(c, batch, counters);
    if (!out) return out;
    if (auto ok = check_key_expectations(batch, *out, std::move(*before)); !ok) {
        return std::unexpected(ok.error());
    }
    return out;
}

namespace {

result<std::vector<append_result>> append_unconditionally(connection& c,
                                                          std::vector<event_input>& batch,
                                                          topic_counters& counters) {
    std::vector<append_result> out;
    out.reserve(batch.size());
    std::string payload;  // one buffer for payloads not encoded yet (storage/common.hpp)
    // One statement object each for the whole batch (the connection caches them across
    // batches and groups too): bound and stepped per event, never re-prepared.
    for (auto& in : batch) {
        auto t = counters.get(c, in.topic);
        if (!t) return std::unexpected(t.error());
        seq_t seq = (*t)->last_seq + 1;
        {
            const std::string_view payload_text = payload_text_of(in, payload);
            const std::string headers = encode_headers(in.headers);
            // The unique (topic, id) index does the dedupe: an ignored insert is a duplicate.
            auto ins = c.prepare(
                "INSERT OR IGNORE INTO events(topic, seq, id, key, ts, payload, headers) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            if (!ins) return std::unexpected(ins.error());
            // Bound without copies: every string outlives `ins`, which resets at the block's end.
            ins->bind_static(1, in.topic);
            ins->bind(2, seq);
            ins->bind_static(3, *in.id);
            ins->bind_static(4, in.key);
            ins->bind(5, *in.ts);
            ins->bind_static(6, payload_text);
            ins->bind_static(7, headers);
            int rc = ins->step();
            if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "insert event"));
        }
        if (sqlite3_changes(c.raw()) == 0) {
            auto dup = c.prepare("SELECT seq, ts FROM events WHERE topic = ?1 AND id = ?2");
            if (!dup) return std::unexpected(dup.error());
            dup->bind(1, in.topic);
            dup->bind(2, *in.id);
            if (dup->step() != SQLITE_ROW) {
                return fail(errc::internal, "an ignored insert has no original event");
            }
            out.push_back({*in.id, seq_t{dup->int64(0)}, ts_ms{dup->int64(1)}, true});
            continue;
        }
        (*t)->last_seq = seq;
        ++(*t)->count;
        if ((*t)->track_latest) counters.set_latest(in.topic, in.key, seq);
        // The snapshot append rule (store.hpp): a late event invalidates later snapshots.
        if ((*t)->has_snapshots) {
            if (auto ok = drop_snapshots_in_txn(c, in.topic, in.key, *in.ts); !ok) {
                return std::unexpected(ok.error());
            }
        }
        out.push_back({*in.id, seq, *in.ts, false});
    }
    return out;
}

}  // namespace

result<std::vector<append_result>> append_in_txn(connection& c, std::vector<event_input>& batch) {
    topic_counters counters;
    auto out = append_in_txn(c, batch, counters);
    if (!out) return out;
    if (auto ok = counters.write_back(c); !ok) return std::unexpected(ok.error());
    return out;
}

result<std::vector<append_result>> sqlite_store::append(std::vector<event_input> batch) {
    return group_commit_->append(std::move(batch));
}

void sqlite_store::append_async(std::vector<event_input> batch, append_callback done) {
    group_commit_->submit(std::move(batch), std::move(done));
}

void sqlite_store::write_group(std::vector<group_commit::request>& group) {
    auto fail_all = [&](const error& e) {
        for (auto& r : group) r.out = std::unexpected(e);
    };
    auto wlock = lock_writer();
    if (auto ok = writer_->begin_main_write(); !ok) return fail_all(ok.error());
    // The requests were validated before they were queued, so they nearly always all
    // succeed: write them straight into the transaction, with each topic's row read and
    // written once for the whole group.
    topic_counters counters(&tail_latest_);
    bool all_ok = true;
    for (auto& r : group) {
        r.out = append_in_txn(*writer_, r.batch, counters);
        if (!r.out) {
            all_ok = false;
            break;
        }
    }
    status committed = all_ok ? counters.write_back(*writer_) : status{};
    if (all_ok && committed) committed = writer_->run("COMMIT");
    if (all_ok && committed) {
        tail_latest_.committed(counters);
        wlock.unlock();
        notifier_.notify_commit({}, counters.tips());
        return;
    }
    (void)writer_->run("ROLLBACK");
    if (all_ok) return fail_all(committed.error());  // the database failed them all alike
    if (group.size() == 1) return;                   // its own error is its answer

    // One request failed: write the group again, a savepoint each, so that the others
    // still commit and only that one fails.
    if (auto ok = writer_->begin_main_write(); !ok) return fail_all(ok.error());
    for (auto& r : group) {
        if (auto ok = writer_->run("SAVEPOINT req"); !ok) {
            (void)writer_->run("ROLLBACK");
            return fail_all(ok.error());
        }
        r.out = append_in_txn(*writer_, r.batch);
        if (!r.out) (void)writer_->run("ROLLBACK TO req");
        (void)writer_->run("RELEASE req");
    }
    if (auto ok = writer_->run("COMMIT"); !ok) {
        (void)writer_->run("ROLLBACK");
        return fail_all(ok.error());
    }
    wlock.unlock();
    appended_topics appended;
    for (auto& r : group) {
        if (!r.out) continue;
        for (std::size_t i = 0; i < r.out->size(); ++i) {
            note_appended(appended.tips, r.batch[i].topic, (*r.out)[i].seq);
        }
    }
    notifier_.notify_commit({}, appended);
}

}  // namespace prom::storage::sqlite
