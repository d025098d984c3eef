// Retention on PostgreSQL (store.hpp, docs/retention.md): the topic horizon, deleting
// events, key horizons, erasure and sizes. The horizon check itself is in prom_append
// (pg_schema.hpp), on the topics rows it locks anyway.
//
// Lock order: whatever changes events of a topic locks its topics row first, as prom_append
// does, and only then `latest`, `snapshots` and the rest; so a deletion and an append of
// the same topic wait for each other instead of deadlocking.
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

namespace {

status lock_topic(connection& c, std::string_view topic) {
    auto r = c.query("SELECT 1 FROM topics WHERE name = $1 FOR UPDATE", {topic});
    if (!r) return std::unexpected(r.error());
    return {};
}

status lower_count(connection& c, std::string_view topic, std::size_t n) {
    if (n == 0) return {};
    auto r =
        c.query("UPDATE topics SET count = count - $2 WHERE name = $1", {topic, count_param(n)});
    if (!r) return std::unexpected(r.error());
    return {};
}

key_horizon decode_key_horizon(const rows& r, int i) {
    return key_horizon{std::string(r.text(i, 0)), ts_ms{r.int64(i, 1)}, ts_ms{r.int64(i, 2)},
                       seq_t{r.int64(i, 3)}};
}

}  // namespace

result<std::size_t> delete_events_in_txn(connection& c, std::string_view topic,
                                         const std::vector<seq_t>& seqs) {
    if (seqs.empty()) return std::size_t{0};
    std::vector<std::int64_t> wanted;
    wanted.reserve(seqs.size());
    for (seq_t s : seqs) wanted.push_back(s.value);
    const std::string seq_list = int_array(wanted);
    if (auto ok = lock_topic(c, topic); !ok) return std::unexpected(ok.error());
    auto del =
        c.query("DELETE FROM events WHERE topic = $1 AND seq = ANY($2::bigint[]) RETURNING key",
                {topic, seq_list});
    if (!del) return std::unexpected(del.error());
    const auto n = static_cast<std::size_t>(del->size());
    if (n == 0) return n;
    std::vector<std::string_view> keys;
    keys.reserve(n);
    for (int i = 0; i < del->size(); ++i) keys.push_back(del->text(i, 0));
    const std::string key_list = text_array(keys);
    if (auto ok = lower_count(c, topic, n); !ok) return std::unexpected(ok.error());
    // `latest` stays right: a key whose latest event went points at its greatest surviving
    // seq (these statements see the DELETE above), or loses its row when none survives.
    auto repoint = c.query(
        "UPDATE latest l SET seq = s.seq FROM ("
        "  SELECT l2.key, (SELECT max(e.seq) FROM events e "
        "                  WHERE e.topic = $1 AND e.key = l2.key) AS seq "
        "  FROM latest l2 WHERE l2.topic = $1 AND l2.key = ANY($2::text[]) "
        "  AND l2.seq = ANY($3::bigint[])) s "
        "WHERE l.topic = $1 AND l.key = s.key AND s.seq IS NOT NULL",
        {topic, key_list, seq_list});
    if (!repoint) return std::unexpected(repoint.error());
    auto drop = c.query(
        "DELETE FROM latest WHERE topic = $1 AND key = ANY($2::text[]) "
        "AND seq = ANY($3::bigint[])",
        {topic, key_list, seq_list});
    if (!drop) return std::unexpected(drop.error());
    return n;
}

status put_key_horizon_in_txn(connection& c, std::string_view topic, const key_horizon& h) {
    // The merge rule (store.hpp, key_horizon): gone_from only goes down, the base position
    // (base_ts, base_seq) only goes up. SET reads the row's values from before the update.
    auto r = c.query(
        "INSERT INTO key_horizons(topic, key, gone_from, base_ts, base_seq) "
        "VALUES($1, $2, $3, $4, $5) ON CONFLICT (topic, key) DO UPDATE SET "
        "gone_from = LEAST(key_horizons.gone_from, excluded.gone_from), "
        "base_ts = CASE WHEN (excluded.base_ts, excluded.base_seq) > "
        "(key_horizons.base_ts, key_horizons.base_seq) "
        "THEN excluded.base_ts ELSE key_horizons.base_ts END, "
        "base_seq = CASE WHEN (excluded.base_ts, excluded.base_seq) > "
        "(key_horizons.base_ts, key_horizons.base_seq) "
        "THEN excluded.base_seq ELSE key_horizons.base_seq END",
        {topic, h.key, h.gone_from, h.base_ts, h.base_seq});
    if (!r) return std::unexpected(r.error());
    return {};
}

result<std::size_t> erase_key_in_txn(connection& c, std::string_view topic, std::string_view key) {
    if (auto ok = lock_topic(c, topic); !ok) return std::unexpected(ok.error());
    auto del = c.query("DELETE FROM events WHERE topic = $1 AND key = $2", {topic, key});
    if (!del) return std::unexpected(del.error());
    const auto n = static_cast<std::size_t>(del->affected());
    if (auto ok = lower_count(c, topic, n); !ok) return std::unexpected(ok.error());
    for (const char* sql : {"DELETE FROM snapshots WHERE topic = $1 AND key = $2",
                            "DELETE FROM latest WHERE topic = $1 AND key = $2",
                            "DELETE FROM key_horizons WHERE topic = $1 AND key = $2"}) {
        if (auto r = c.query(sql, {topic, key}); !r) return std::unexpected(r.error());
    }
    return n;
}

result<ts_ms> pg_store::raise_horizon(std::string_view topic, ts_ms h) {
    // One autocommit UPDATE: it takes the row lock that prom_append's SELECT … FOR UPDATE
    // takes (waiting for appends in flight), and every append that locks the row after
    // this commits reads the new horizon.
    std::optional<ts_ms> now;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(
            "UPDATE topics SET horizon_ms = GREATEST(horizon_ms, $2) WHERE name = $1 "
            "RETURNING horizon_ms",
            {topic, h});
        if (!r) return std::unexpected(r.error());
        if (!r->empty()) now = ts_ms{r->int64(0, 0)};
        return {};
    });
    if (!st) return std::unexpected(st.error());
    if (!now) return fail(errc::not_found, "no topic '" + std::string(topic) + "'");
    return *now;
}

result<std::optional<key_horizon>> pg_store::find_key_horizon(std::string_view topic,
                                                              std::string_view key) {
    std::optional<key_horizon> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(
            "SELECT key, gone_from, base_ts, base_seq FROM key_horizons "
            "WHERE topic = $1 AND key = $2",
            {topic, key});
        if (!r) return std::unexpected(r.error());
        if (!r->empty()) out = decode_key_horizon(*r, 0);
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<key_horizon>> pg_store::key_horizons(std::string_view topic) {
    std::vector<key_horizon> out;
    auto st = with_reader([&](connection& c) -> status {
        out.clear();
        // key is COLLATE "C": byte order, as the other backends.
        auto r = c.query(
            "SELECT key, gone_from, base_ts, base_seq FROM key_horizons WHERE topic = $1 "
            "ORDER BY key",
            {topic});
        if (!r) return std::unexpected(r.error());
        for (int i = 0; i < r->size(); ++i) out.push_back(decode_key_horizon(*r, i));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<topic_size>> pg_store::topic_sizes() {
    std::vector<topic_size> out;
    auto st = with_reader([&](connection& c) -> status {
        out.clear();
        auto r = c.query(
            "SELECT t.name, count(e.seq), COALESCE(sum(octet_length(e.payload) + "
            "octet_length(e.headers) + octet_length(e.id) + octet_length(e.key)), 0) "
            "FROM topics t LEFT JOIN events e ON e.topic = t.name "
            "GROUP BY t.name ORDER BY t.name");
        if (!r) return std::unexpected(r.error());
        for (int i = 0; i < r->size(); ++i) {
            out.push_back({std::string(r->text(i, 0)), r->int64(i, 1), r->int64(i, 2)});
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

// Nothing to do: autovacuum makes the space of deleted rows reusable (docs/retention.md).
status pg_store::reclaim_space() { return {}; }

}  // namespace prom::storage::postgres
