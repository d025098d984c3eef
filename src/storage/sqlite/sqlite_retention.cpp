// Retention on SQLite (store.hpp, docs/retention.md): the topic horizon, deleting events,
// key horizons, erasure, sizes and giving space back. The horizon check itself is in the
// append path (sqlite_append.cpp), on the topics row the append reads anyway.
#include <set>

#include "storage/sqlite/sqlite_key_index.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

namespace {

status step_done(connection& c, statement& st, std::string_view what) {
    int rc = st.step();
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, what));
    return {};
}

status lower_count(connection& c, std::string_view topic, std::size_t n) {
    if (n == 0) return {};
    auto st = c.prepare("UPDATE topics SET count = count - ?2 WHERE name = ?1");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, static_cast<std::int64_t>(n));
    return step_done(c, *st, "update topic count");
}

// The key lost events: if its latest row names one of `deleted`, point it at the key's
// greatest surviving seq, or drop it when none survives.
status repoint_latest(connection& c, std::string_view topic, std::string_view key,
                      const std::set<std::int64_t>& deleted) {
    std::int64_t latest = 0;
    {
        auto st = c.prepare("SELECT seq FROM latest WHERE topic = ?1 AND key = ?2");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, key);
        int rc = st->step();
        if (rc == SQLITE_DONE) return {};
        if (rc != SQLITE_ROW) return std::unexpected(c.last_error(rc, "read latest"));
        latest = st->int64(0);
    }
    if (!deleted.contains(latest)) return {};
    std::optional<std::int64_t> survivor;
    {
        // Only events that exist: key_events may still name deleted ones (put_key_horizon).
        auto st = c.prepare(
            "SELECT max(seq) FROM events WHERE topic = ?1 AND seq IN (" PROM_KEY_SEQS ")");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, key);
        int rc = st->step();
        if (rc != SQLITE_ROW) return std::unexpected(c.last_error(rc, "read a key's last seq"));
        if (!st->is_null(0)) survivor = st->int64(0);
    }
    if (!survivor) {
        auto del = c.prepare("DELETE FROM latest WHERE topic = ?1 AND key = ?2");
        if (!del) return std::unexpected(del.error());
        del->bind(1, topic);
        del->bind(2, key);
        return step_done(c, *del, "delete latest");
    }
    auto up = c.prepare("UPDATE latest SET seq = ?3 WHERE topic = ?1 AND key = ?2");
    if (!up) return std::unexpected(up.error());
    up->bind(1, topic);
    up->bind(2, key);
    up->bind(3, *survivor);
    return step_done(c, *up, "update latest");
}

// Deletes the rows of (topic, key) from `table`; returns how many.
result<std::size_t> delete_key_rows(connection& c, const char* sql, std::string_view topic,
                                    std::string_view key) {
    auto st = c.prepare(sql);
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, key);
    if (auto ok = step_done(c, *st, "erase a key"); !ok) return std::unexpected(ok.error());
    return static_cast<std::size_t>(sqlite3_changes(c.raw()));
}

}  // namespace

// The deleted events' key_events rows stay: deleting them here dirtied one key_events page
// per event (a pass deletes in seq order, which spreads over every key), most of a delete
// transaction's WAL. Readers join key_events to events, so a row without its event names
// nothing; put_key_horizon_in_txn deletes a key's such rows, in key order.
result<std::size_t> delete_events_in_txn(connection& c, std::string_view topic,
                                         const std::vector<seq_t>& seqs) {
    if (auto ok = c.hold_keys(); !ok) return std::unexpected(ok.error());  // repoint_latest
    std::map<std::string, std::set<std::int64_t>, std::less<>> by_key;     // what each key lost
    std::size_t n = 0;
    for (seq_t seq : seqs) {
        auto st = c.prepare("DELETE FROM events WHERE topic = ?1 AND seq = ?2 RETURNING key");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, seq);
        int rc = st->step();
        if (rc == SQLITE_DONE) continue;  // no such event (or deleted already)
        if (rc != SQLITE_ROW) return std::unexpected(c.last_error(rc, "delete event"));
        by_key[std::string(st->text(0))].insert(seq.value);
        if (rc = st->step(); rc != SQLITE_DONE) {
            return std::unexpected(c.last_error(rc, "delete event"));
        }
        ++n;
    }
    for (const auto& [key, deleted] : by_key) {
        if (auto ok = repoint_latest(c, topic, key, deleted); !ok)
            return std::unexpected(ok.error());
    }
    if (auto ok = lower_count(c, topic, n); !ok) return std::unexpected(ok.error());
    return n;
}

status put_key_horizon_in_txn(connection& c, std::string_view topic, const key_horizon& h) {
    if (auto ok = c.hold_keys(); !ok) return ok;
    // The merge rule (store.hpp, key_horizon): gone_from only goes down, the base position
    // (base_ts, base_seq) only goes up. SET reads the row's values from before the update.
    auto st = c.prepare(
        "INSERT INTO key_horizons(topic, key, gone_from, base_ts, base_seq) "
        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(topic, key) DO UPDATE SET "
        "gone_from = min(gone_from, excluded.gone_from), "
        "base_ts = CASE WHEN (excluded.base_ts, excluded.base_seq) > (base_ts, base_seq) "
        "THEN excluded.base_ts ELSE base_ts END, "
        "base_seq = CASE WHEN (excluded.base_ts, excluded.base_seq) > (base_ts, base_seq) "
        "THEN excluded.base_seq ELSE base_seq END");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, h.key);
    st->bind(3, h.gone_from);
    st->bind(4, h.base_ts);
    st->bind(5, h.base_seq);
    if (auto ok = step_done(c, *st, "put key horizon"); !ok) return ok;
    // The key's key_events rows whose events were deleted (delete_events_in_txn). A pass
    // puts each record again after its deletions, keys in order, so this costs a page or
    // two per key; rows a crash left behind go with the key's next record or its erasure.
    auto tidy = c.prepare(
        "DELETE FROM keys.key_events WHERE topic = ?1 AND key = ?2 AND NOT EXISTS "
        "(SELECT 1 FROM events e WHERE e.topic = ?1 AND e.seq = key_events.seq)");
    if (!tidy) return std::unexpected(tidy.error());
    tidy->bind(1, topic);
    tidy->bind(2, h.key);
    return step_done(c, *tidy, "tidy the key index");
}

// The writer runs with secure_delete on (sqlite_store.cpp, init): the pages these deletes
// free or change are overwritten with zeros, and so were the copies earlier writes left.
result<std::size_t> erase_key_in_txn(connection& c, std::string_view topic, std::string_view key) {
    // The key's seqs come from the key index and the log's tail (sqlite_key_index.hpp); then
    // the key's key_events rows go, with any whose events retention deleted before. The keys
    // file's lock is held from the start, so the key indexer adds no row of the key's events
    // after their deletion (sqlite_key_indexer.cpp, index_topic).
    if (auto ok = c.hold_keys(); !ok) return std::unexpected(ok.error());
    auto n = delete_key_rows(
        c, "DELETE FROM events WHERE topic = ?1 AND key = ?2 AND seq IN (" PROM_KEY_SEQS ")", topic,
        key);
    if (!n) return n;
    for (const char* sql : {"DELETE FROM keys.key_events WHERE topic = ?1 AND key = ?2",
                            "DELETE FROM snapshots WHERE topic = ?1 AND key = ?2",
                            "DELETE FROM latest WHERE topic = ?1 AND key = ?2",
                            "DELETE FROM key_horizons WHERE topic = ?1 AND key = ?2"}) {
        if (auto d = delete_key_rows(c, sql, topic, key); !d) return d;
    }
    if (auto ok = lower_count(c, topic, *n); !ok) return std::unexpected(ok.error());
    return n;
}

result<ts_ms> sqlite_store::raise_horizon(std::string_view topic, ts_ms h) {
    // In a write transaction: the same lock every append takes before it reads the topics
    // row, so each append either committed before or reads the new horizon.
    auto lock = lock_writer();
    if (auto ok = writer_->begin_main_write(); !ok) return std::unexpected(ok.error());
    auto raise = [&]() -> result<std::optional<ts_ms>> {
        auto st = writer_->prepare(
            "UPDATE topics SET horizon_ms = max(horizon_ms, ?2) WHERE name = ?1 "
            "RETURNING horizon_ms");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, h);
        int rc = st->step();
        if (rc == SQLITE_DONE) return std::optional<ts_ms>{};
        if (rc != SQLITE_ROW) return std::unexpected(writer_->last_error(rc, "raise horizon"));
        ts_ms now{st->int64(0)};
        if (rc = st->step(); rc != SQLITE_DONE) {
            return std::unexpected(writer_->last_error(rc, "raise horizon"));
        }
        return std::optional<ts_ms>{now};
    };
    auto now = raise();
    if (!now || !*now) {
        (void)writer_->run("ROLLBACK");
        if (!now) return std::unexpected(now.error());
        return fail(errc::not_found, "no topic '" + std::string(topic) + "'");
    }
    if (auto ok = writer_->run("COMMIT"); !ok) {
        (void)writer_->run("ROLLBACK");
        return std::unexpected(ok.error());
    }
    return **now;
}

namespace {

key_horizon decode_key_horizon(const statement& st) {
    return key_horizon{std::string(st.text(0)), ts_ms{st.int64(1)}, ts_ms{st.int64(2)},
                       seq_t{st.int64(3)}};
}

}  // namespace

result<std::optional<key_horizon>> sqlite_store::find_key_horizon(std::string_view topic,
                                                                  std::string_view key) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare(
        "SELECT key, gone_from, base_ts, base_seq FROM key_horizons "
        "WHERE topic = ?1 AND key = ?2");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, key);
    int rc = st->step();
    if (rc == SQLITE_ROW) return std::optional<key_horizon>{decode_key_horizon(*st)};
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read key horizon"));
    return std::optional<key_horizon>{};
}

result<std::vector<key_horizon>> sqlite_store::key_horizons(std::string_view topic) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    // TEXT compares with BINARY (memcmp): byte order, as the other backends.
    auto st = (*r)->prepare(
        "SELECT key, gone_from, base_ts, base_seq FROM key_horizons WHERE topic = ?1 "
        "ORDER BY key");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    std::vector<key_horizon> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) out.push_back(decode_key_horizon(*st));
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "list key horizons"));
    return out;
}

result<std::vector<topic_size>> sqlite_store::topic_sizes() {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    // Bytes, not characters: length() of a BLOB counts bytes.
    auto st = (*r)->prepare(
        "SELECT t.name, count(e.seq), "
        "COALESCE(sum(length(CAST(e.payload AS BLOB)) + length(CAST(e.headers AS BLOB)) + "
        "length(CAST(e.id AS BLOB)) + length(CAST(e.key AS BLOB))), 0) "
        "FROM topics t LEFT JOIN events e ON e.topic = t.name GROUP BY t.name ORDER BY t.name");
    if (!st) return std::unexpected(st.error());
    std::vector<topic_size> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        out.push_back({std::string(st->text(0)), st->int64(1), st->int64(2)});
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "topic sizes"));
    return out;
}

namespace {

// Copies the whole WAL into the database file and truncates it to nothing, waiting (busy
// timeout) for readers still on the WAL. A checkpoint they kept from finishing is reported:
// the WAL may still hold pages erasure deleted (docs/retention.md).
status checkpoint(connection& c) {
    auto st = c.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st) return std::unexpected(st.error());
    int rc = st->step();
    if (rc != SQLITE_ROW) return std::unexpected(c.last_error(rc, "checkpoint"));
    if (st->int64(0) != 0) {
        return fail(errc::unavailable,
                    "the WAL checkpoint could not finish (readers kept using the WAL): try again");
    }
    return {};
}

}  // namespace

status sqlite_store::reclaim_space() {
    auto lock = lock_writer();
    auto no_background_copy = checkpointer_->hold();
    // Readers still on the WAL are waited for a second, not the whole busy timeout (10 s by
    // default): prom's own finish within it, and a reader outside prom that holds a
    // transaction open would keep an erasure's answer (and its warning) waiting for nothing.
    constexpr int reader_wait_ms = 1000;
    sqlite3_busy_timeout(writer_->raw(), reader_wait_ms);
    struct restore_busy_timeout {
        sqlite3* db;
        int ms;
        ~restore_busy_timeout() { sqlite3_busy_timeout(db, ms); }
    } restore{writer_->raw(), static_cast<int>(options_.busy_timeout.count())};
    // Copy the WAL into the file, hand the free pages back (only a database made with
    // auto_vacuum=INCREMENTAL can; sqlite_store.cpp, init), then copy that in too and
    // truncate the WAL to nothing.
    if (auto ok = checkpoint(*writer_); !ok) return ok;
    if (auto ok = writer_->exec("PRAGMA incremental_vacuum"); !ok) return ok;
    return checkpoint(*writer_);
}

namespace {

// checkpoint_log copies the WAL once it holds this many frames: well before the writer hands
// it to its checkpointer (sqlite_checkpointer.hpp), without a checkpoint (two fsyncs) after
// every small transaction of a pass.
constexpr int log_checkpoint_frames = wal_checkpointer::background_frames / 4;

}  // namespace

int sqlite_store::on_wal_commit(void* self, sqlite3* db, const char* name, int frames) {
    auto* s = static_cast<sqlite_store*>(self);
    if (std::string_view(name) != "main") {
        // The keys file, written here only by erasure and retention, in small transactions:
        // SQLite's own rule (1000 frames). The key indexer's connection, which writes it in
        // steps of one page per key, waits for key_indexer::checkpoint_frames instead.
        if (frames >= 1000)
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        return SQLITE_OK;
    }
    s->wal_frames_.store(frames, std::memory_order_relaxed);
    s->checkpointer_->after_commit(db, name, frames);
    return SQLITE_OK;
}

status sqlite_store::checkpoint_log() {
    if (wal_frames_.load(std::memory_order_relaxed) < log_checkpoint_frames) return {};
    // On a read connection, without write_mu_: a PASSIVE checkpoint copies what no reader
    // still needs and waits for nobody, and a commit beside it goes on appending to the WAL.
    // Otherwise the writer's commit could find the WAL past the checkpointer's bound and
    // copy it inline: after a pass's deletions that was often a publisher's commit
    // (docs/benchmarks.md, issue 16).
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare("PRAGMA wal_checkpoint(PASSIVE)");
    if (!st) return std::unexpected(st.error());
    int rc = st->step();
    if (rc != SQLITE_ROW) return std::unexpected((*r)->last_error(rc, "checkpoint"));
    return {};
}

}  // namespace prom::storage::sqlite
