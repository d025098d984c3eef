// Time-travel snapshots on SQLite: the `snapshots` table (sqlite_schema.hpp) and the checks
// that keep it valid when late events arrive (store.hpp, docs/time-travel.md).
#include "retention/erasure_marker.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

status drop_snapshots_in_txn(connection& c, std::string_view topic, std::string_view key,
                             ts_ms ts) {
    // Almost every append is not late: a read-only probe first, because a DELETE, even one
    // that finds nothing, costs a write statement (measured: it doubled bulk-load time).
    {
        auto probe =
            c.prepare("SELECT 1 FROM snapshots WHERE topic = ?1 AND key = ?2 AND ts > ?3 LIMIT 1");
        if (!probe) return std::unexpected(probe.error());
        probe->bind(1, topic);
        probe->bind(2, key);
        probe->bind(3, ts);
        int rc = probe->step();
        if (rc == SQLITE_DONE) return {};
        if (rc != SQLITE_ROW) return std::unexpected(c.last_error(rc, "probe snapshots"));
    }
    auto st = c.prepare("DELETE FROM snapshots WHERE topic = ?1 AND key = ?2 AND ts > ?3");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, key);
    st->bind(3, ts);
    int rc = st->step();
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "drop snapshots"));
    return {};
}

namespace {

// The lowest ts among (topic, key)'s events appended after `known_seq`, or ts_ms::max();
// ts_ms::min() when one of them is an erasure marker: the fold read what the erasure took.
// The unary `+` keeps SQLite on the (topic, seq) primary key, so this reads only the
// events appended since the fold began, never the key's whole history.
result<ts_ms> lowest_ts_since(connection& c, std::string_view topic, std::string_view key,
                              seq_t known_seq) {
    auto st = c.prepare("SELECT CASE WHEN " PROM_IS_ERASURE_MARKER_SQL
                        " THEN ?4 ELSE ts END FROM events "
                        "WHERE topic = ?1 AND seq > ?2 AND +key = ?3");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, known_seq);
    st->bind(3, key);
    st->bind(4, ts_ms::min());
    ts_ms lowest = ts_ms::max();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) lowest = std::min(lowest, ts_ms{st->int64(0)});
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "check late events"));
    return lowest;
}

}  // namespace

result<std::size_t> put_snapshots_in_txn(connection& c, std::string_view topic,
                                         std::string_view key, std::string_view reducer,
                                         seq_t known_seq,
                                         const std::vector<state_snapshot>& snaps) {
    if (snaps.empty()) return std::size_t{0};
    auto late_ts = lowest_ts_since(c, topic, key, known_seq);
    if (!late_ts) return std::unexpected(late_ts.error());
    std::size_t stored = 0;
    for (const auto& snap : snaps) {
        if (snap.ts > *late_ts) continue;  // a late event raced with the fold
        auto st = c.prepare(
            "INSERT OR REPLACE INTO snapshots(topic, key, reducer, ts, seq, count, state) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, key);
        st->bind(3, reducer);
        st->bind(4, snap.ts);
        st->bind(5, snap.seq);
        st->bind(6, snap.count);
        st->bind(7, snap.state);
        int rc = st->step();
        if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "put snapshot"));
        ++stored;
    }
    return stored;
}

result<std::size_t> sqlite_store::put_snapshots(std::string_view topic, std::string_view key,
                                                std::string_view reducer, seq_t known_seq,
                                                const std::vector<state_snapshot>& snaps) {
    if (snaps.empty()) return std::size_t{0};
    auto lock = lock_writer();
    if (auto ok = writer_->begin_main_write(); !ok) return std::unexpected(ok.error());
    auto stored = put_snapshots_in_txn(*writer_, topic, key, reducer, known_seq, snaps);
    if (!stored) {
        (void)writer_->exec("ROLLBACK");
        return stored;
    }
    if (auto ok = writer_->exec("COMMIT"); !ok) {
        (void)writer_->exec("ROLLBACK");
        return std::unexpected(ok.error());
    }
    return stored;
}

result<std::optional<state_snapshot>> sqlite_store::snapshot_at_or_before(std::string_view topic,
                                                                          std::string_view key,
                                                                          std::string_view reducer,
                                                                          ts_ms t) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare("SELECT " PROM_SNAPSHOT_COLUMNS
                            " FROM snapshots "
                            "WHERE topic = ?1 AND key = ?2 AND reducer = ?3 AND ts <= ?4 "
                            "ORDER BY ts DESC, seq DESC LIMIT 1");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, key);
    st->bind(3, reducer);
    st->bind(4, t);
    int rc = st->step();
    if (rc == SQLITE_ROW) {
        return std::optional<state_snapshot>{decode_snapshot(*st)};
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read snapshot"));
    return std::optional<state_snapshot>{};
}

}  // namespace prom::storage::sqlite
