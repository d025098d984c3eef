// Time-travel snapshots on PostgreSQL: the `snapshots` table, the append rule (inside
// prom_append, pg_schema.hpp) and the guard that keeps a fold which raced with a late
// append from storing a stale snapshot (store.hpp, docs/time-travel.md).
#include "retention/erasure_marker.hpp"
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

result<std::size_t> put_snapshots_in_txn(connection& c, std::string_view topic,
                                         std::string_view key, std::string_view reducer,
                                         seq_t known_seq,
                                         const std::vector<state_snapshot>& snaps) {
    if (snaps.empty()) return std::size_t{0};
    // The row appenders lock: from here on no append of this topic can commit until we
    // do, and one that committed before is visible to the next statement (a fresh
    // snapshot). A later late append runs the append rule and drops what we store.
    if (auto r = c.query("SELECT 1 FROM topics WHERE name = $1 FOR UPDATE", {topic}); !r) {
        return std::unexpected(r.error());
    }
    // `key || ''` keeps the planner on the (topic, seq) primary key, so this reads only
    // the events appended since the fold began, never the key's whole history. An erasure
    // marker among them counts as the earliest time there is: the fold read what the
    // erasure took, and none of its snapshots may be stored.
    auto late = c.query("SELECT min(CASE WHEN " PROM_IS_ERASURE_MARKER_SQL
                        " THEN $4::bigint ELSE ts END) FROM events "
                        "WHERE topic = $1 AND seq > $2 AND key || '' = $3",
                        {topic, known_seq, key, ts_ms::min()});
    if (!late) return std::unexpected(late.error());
    ts_ms late_ts = late->is_null(0, 0) ? ts_ms::max() : ts_ms{late->int64(0, 0)};
    std::vector<std::int64_t> ts, seq, count;
    std::vector<std::string_view> state;
    for (const auto& snap : snaps) {
        if (snap.ts > late_ts) continue;  // a late event raced with the fold
        ts.push_back(snap.ts.value);
        seq.push_back(snap.seq.value);
        count.push_back(snap.count);
        state.push_back(snap.state);
    }
    if (!ts.empty()) {
        auto ins = c.query(
            "INSERT INTO snapshots(topic, key, reducer, ts, seq, count, state) "
            "SELECT $1, $2, $3, u.ts, u.seq, u.count, u.state "
            "FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) "
            "AS u(ts, seq, count, state) "
            "ON CONFLICT (topic, key, reducer, ts, seq) "
            "DO UPDATE SET count = excluded.count, state = excluded.state",
            {topic, key, reducer, int_array(ts), int_array(seq), int_array(count),
             text_array(state)});
        if (!ins) return std::unexpected(ins.error());
    }
    return ts.size();
}

result<std::size_t> pg_store::put_snapshots(std::string_view topic, std::string_view key,
                                            std::string_view reducer, seq_t known_seq,
                                            const std::vector<state_snapshot>& snaps) {
    if (snaps.empty()) return std::size_t{0};
    auto c = take_connection();
    if (!c) return std::unexpected(c.error());
    connection& conn = **c;
    auto write = [&]() -> result<std::size_t> {
        if (auto r = conn.exec("BEGIN"); !r) return std::unexpected(r.error());
        auto stored = put_snapshots_in_txn(conn, topic, key, reducer, known_seq, snaps);
        if (!stored) return stored;
        if (auto r = conn.exec("COMMIT"); !r) return std::unexpected(r.error());
        return stored;
    };
    auto stored = write();
    if (!stored && !conn.broken() && conn.in_transaction()) (void)conn.exec("ROLLBACK");
    return stored;
}

result<std::optional<state_snapshot>> pg_store::snapshot_at_or_before(std::string_view topic,
                                                                      std::string_view key,
                                                                      std::string_view reducer,
                                                                      ts_ms t) {
    std::optional<state_snapshot> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query("SELECT " PROM_SNAPSHOT_COLUMNS
                         " FROM snapshots "
                         "WHERE topic = $1 AND key = $2 AND reducer = $3 AND ts <= $4 "
                         "ORDER BY ts DESC, seq DESC LIMIT 1",
                         {topic, key, reducer, t});
        if (!r) return std::unexpected(r.error());
        if (!r->empty()) out = decode_snapshot(r->row(0));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

}  // namespace prom::storage::postgres
