// The operations part of the store (store.hpp; docs/operations.md): every cursor with its
// lag inputs, leases, deleting a group, revoking a lease. The cursor listing is the query
// PostgreSQL runs too (storage/ops_sql.hpp).
#include "storage/ops_sql.hpp"
#include "storage/row_codec.hpp"
#include "storage/sqlite/sqlite_schema.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

namespace {

// Runs `sql` when `probe` finds a row (`found`) or finds none (SQLite has no ADD COLUMN IF
// NOT EXISTS).
status run_if(connection& c, const char* probe, bool found, const char* sql) {
    int rc;
    {
        auto st = c.prepare(probe);
        if (!st) return std::unexpected(st.error());
        rc = st->step();
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return std::unexpected(c.last_error(rc, "read the schema"));
    }
    if ((rc == SQLITE_ROW) != found) return {};
    return c.exec(sql);
}

status add_column_if_missing(connection& c, const char* has, const char* add) {
    return run_if(c, has, false, add);
}

}  // namespace

status migrate_in_txn(connection& c) {
    if (auto ok = add_column_if_missing(c, has_cursor_ack_time_sql, add_cursor_ack_time_sql); !ok) {
        return ok;
    }
    if (auto ok = add_column_if_missing(c, has_topic_horizon_sql, add_topic_horizon_sql); !ok) {
        return ok;
    }
    if (auto ok = add_column_if_missing(c, has_keyed_seq_sql, add_keyed_seq_sql); !ok) return ok;
    if (auto ok = run_if(c, has_main_key_events_sql, true, move_key_events_sql); !ok) return ok;
    if (auto ok = c.exec(forget_keys_ahead_sql); !ok) return ok;
    return c.exec(dropped_at_open_sql);
}

result<std::vector<cursor_status>> sqlite_store::list_cursors() {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare(ops_sql::list_cursors);
    if (!st) return std::unexpected(st.error());
    std::vector<cursor_status> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) out.push_back(decode_cursor_status(*st));
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "list cursors"));
    return out;
}

result<std::vector<lease_status>> sqlite_store::list_leases(std::string_view prefix) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    // substr, not LIKE: a name may hold % or _.
    auto st = (*r)->prepare(
        "SELECT name, owner, expires_ms FROM leases WHERE substr(name, 1, length(?1)) = ?1 "
        "ORDER BY name");
    if (!st) return std::unexpected(st.error());
    st->bind(1, prefix);
    const ts_ms now = now_ms();
    std::vector<lease_status> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        out.push_back({std::string(st->text(0)), std::string(st->text(1)),
                       std::chrono::milliseconds(st->int64(2) - now.value)});
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "list leases"));
    return out;
}

result<bool> sqlite_store::delete_cursor(std::string_view topic, std::string_view group) {
    bool gone = false;
    {
        auto lock = lock_writer();
        auto st = writer_->prepare("DELETE FROM cursors WHERE topic = ?1 AND grp = ?2");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, group);
        int rc = st->step();
        if (rc != SQLITE_DONE) return std::unexpected(writer_->last_error(rc, "delete cursor"));
        gone = sqlite3_changes(writer_->raw()) == 1;
    }
    notifier_.bump();
    return gone;
}

status sqlite_store::seize_lease(std::string_view name, std::string_view owner,
                                 std::chrono::milliseconds ttl) {
    {
        auto lock = lock_writer();
        auto st = writer_->prepare(
            "INSERT INTO leases(name, owner, expires_ms) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, "
            "expires_ms = excluded.expires_ms");
        if (!st) return std::unexpected(st.error());
        st->bind(1, name);
        st->bind(2, owner);
        st->bind(3, (now_ms() + ttl.count()).value);
        int rc = st->step();
        if (rc != SQLITE_DONE) return std::unexpected(writer_->last_error(rc, "seize lease"));
    }
    notifier_.bump();
    return {};
}

}  // namespace prom::storage::sqlite
