// The operations part of the store (store.hpp; docs/operations.md). The cursor listing is
// the query SQLite runs too (storage/ops_sql.hpp); lease times are the server's clock, like
// acquire_lease, so that `remaining` means the same on every node.
#include "storage/ops_sql.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/row_codec.hpp"

namespace prom::storage::postgres {

#define PROM_PG_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

result<std::vector<cursor_status>> pg_store::list_cursors() {
    std::vector<cursor_status> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(ops_sql::list_cursors);
        if (!r) return std::unexpected(r.error());
        out.clear();
        out.reserve(static_cast<std::size_t>(r->size()));
        for (int i = 0; i < r->size(); ++i) out.push_back(decode_cursor_status(r->row(i)));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<lease_status>> pg_store::list_leases(std::string_view prefix) {
    std::vector<lease_status> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query("SELECT name, owner, expires_ms - " PROM_PG_NOW_MS
                         " FROM leases WHERE left(name, length($1)) = $1 ORDER BY name",
                         {prefix});
        if (!r) return std::unexpected(r.error());
        out.clear();
        for (int i = 0; i < r->size(); ++i) {
            out.push_back({std::string(r->text(i, 0)), std::string(r->text(i, 1)),
                           std::chrono::milliseconds(r->int64(i, 2))});
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<bool> pg_store::delete_cursor(std::string_view topic, std::string_view group) {
    bool gone = false;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(
            "WITH gone AS (DELETE FROM cursors WHERE topic = $1 AND grp = $2 RETURNING 1) "
            "SELECT pg_notify($3, '') FROM gone",
            {topic, group, channel_});
        if (!r) return std::unexpected(r.error());
        gone = r->size() == 1;
        return {};
    });
    if (!st) return std::unexpected(st.error());
    notifier_.bump();
    return gone;
}

status pg_store::seize_lease(std::string_view name, std::string_view owner,
                             std::chrono::milliseconds ttl) {
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(
            "WITH up AS (INSERT INTO leases(name, owner, expires_ms) VALUES($1, $2, " PROM_PG_NOW_MS
            " + $3) ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, "
            "expires_ms = excluded.expires_ms RETURNING 1) SELECT pg_notify($4, '') FROM up",
            {name, owner, static_cast<std::int64_t>(ttl.count()), channel_});
        if (!r) return std::unexpected(r.error());
        return {};
    });
    if (st) notifier_.bump();
    return st;
}

}  // namespace prom::storage::postgres
