// Whether a database's schema is already what init() would make of it, asked with reads
// only: then opening it takes no write lock (found from outside: a read-only command waited
// for, and failed behind, another process's write transaction, only to find nothing to do).
//
// The objects to look for are read from the schema's own text ("IF NOT EXISTS name" must
// exist, "IF EXISTS name" must not), so a table added to the schema is checked without
// anyone remembering to add it here.
#include <string>
#include <string_view>
#include <vector>

#include "storage/sqlite/sqlite_schema.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

namespace {

struct object_name {
    std::string schema;  // "main" or "keys"
    std::string name;
};

// The names that follow `marker` in `sql` ("keys.key_events" → {"keys", "key_events"}).
void names_after(std::string_view sql, std::string_view marker, std::vector<object_name>& out) {
    auto is_name_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.';
    };
    for (auto at = sql.find(marker); at != std::string_view::npos; at = sql.find(marker, at)) {
        at += marker.size();
        auto end = at;
        while (end < sql.size() && is_name_char(sql[end])) ++end;
        std::string_view full = sql.substr(at, end - at);
        if (auto dot = full.find('.'); dot != std::string_view::npos) {
            out.push_back({std::string(full.substr(0, dot)), std::string(full.substr(dot + 1))});
        } else {
            out.push_back({"main", std::string(full)});
        }
    }
}

// Whether `sql` (one bound name at most) finds a row.
result<bool> finds_row(connection& c, std::string_view sql, std::string_view name = {}) {
    auto st = c.prepare(sql);
    if (!st) return std::unexpected(st.error());
    if (!name.empty()) st->bind(1, name);
    const int rc = st->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return std::unexpected(c.last_error(rc, "read the schema"));
    }
    return rc == SQLITE_ROW;
}

result<bool> exists(connection& c, const object_name& o) {
    return finds_row(c,
                     o.schema == "keys" ? "SELECT 1 FROM keys.sqlite_master WHERE name = ?1"
                                        : "SELECT 1 FROM main.sqlite_master WHERE name = ?1",
                     o.name);
}

result<bool> schema_is_current_in_txn(connection& c) {
    std::vector<object_name> made;
    names_after(schema_sql, "IF NOT EXISTS ", made);
    names_after(keys_schema_sql, "IF NOT EXISTS ", made);
    for (const auto& o : made) {
        auto there = exists(c, o);
        if (!there || !*there) return there;
    }
    std::vector<object_name> dropped;
    names_after(schema_sql, "IF EXISTS ", dropped);
    names_after(dropped_at_open_sql, "IF EXISTS ", dropped);
    dropped.push_back({"main", "key_events"});  // moved to the keys file (version 8)
    for (const auto& o : dropped) {
        auto there = exists(c, o);
        if (!there) return there;
        if (*there) return false;
    }
    // The tables all exist, so these read without error.
    for (const char* sql :
         {current_version_sql, has_cursor_ack_time_sql, has_topic_horizon_sql, has_keyed_seq_sql}) {
        auto found = finds_row(c, sql);
        if (!found || !*found) return found;
    }
    auto ahead = finds_row(c, "SELECT 1 WHERE EXISTS " PROM_KEYS_AHEAD);
    if (!ahead) return ahead;
    return !*ahead;
}

}  // namespace

result<bool> schema_is_current(connection& c) {
    // One read transaction, so that every answer is about the same state of the file.
    if (auto ok = c.exec("BEGIN"); !ok) return std::unexpected(ok.error());
    auto current = schema_is_current_in_txn(c);
    (void)c.exec("COMMIT");
    return current;
}

}  // namespace prom::storage::sqlite
