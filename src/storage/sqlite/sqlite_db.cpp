#include "storage/sqlite/sqlite_db.hpp"

#include <boost/json/object.hpp>
#include <filesystem>
#include <fstream>

#include "docs/update.hpp"

namespace prom::storage::sqlite {

error error_from(sqlite3* db, int rc, std::string_view context) {
    errc code = errc::internal;
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            code = errc::unavailable;
            break;
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_PERM:
            code = errc::io_error;
            break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            code = errc::corrupt;
            break;
        case SQLITE_CONSTRAINT:
            code = errc::conflict;
            break;
        default:
            break;
    }
    std::string msg(context);
    msg += ": ";
    msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return error{code, std::move(msg)};
}

namespace {

// prom_match(body, field): the text a /list filter compares with (see docs::match_text).
// Deterministic, so it can back expression indexes.
void prom_match(sqlite3_context* ctx, int, sqlite3_value** argv) {
    auto* body = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    auto* field = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
    if (!body || !field) {
        sqlite3_result_null(ctx);
        return;
    }
    auto v = parse_stored_json(
        std::string_view(body, static_cast<std::size_t>(sqlite3_value_bytes(argv[0]))));
    if (!v || !v->is_object()) {
        sqlite3_result_null(ctx);
        return;
    }
    auto text = docs::match_text(v->get_object(), field);
    if (!text) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_text(ctx, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
}

}  // namespace

void configure_sqlite_once() {
    static const bool configured = [] {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // SQLITE_MISUSE if already initialized
        return true;
    }();
    (void)configured;
}

result<std::unique_ptr<connection>> connection::open(const std::string& path, bool create,
                                                     int busy_timeout_ms) {
    configure_sqlite_once();
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        error e = error_from(db, rc, "cannot open database '" + path + "'");
        e.code = errc::io_error;
        sqlite3_close_v2(db);
        return std::unexpected(e);
    }
    sqlite3_busy_timeout(db, busy_timeout_ms);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_create_function_v2(db, "prom_match", 2,
                               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                               prom_match, nullptr, nullptr, nullptr);
    std::unique_ptr<connection> c(new connection(db));
    // ATTACH makes a missing file only on a connection opened with SQLITE_OPEN_CREATE; an
    // empty file is an empty database.
    const std::string keys = keys_path(path);
    std::error_code ec;
    if (!std::filesystem::exists(keys, ec)) std::ofstream(keys, std::ios::app);
    sqlite3_stmt* attach = nullptr;
    rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS keys", -1, &attach, nullptr);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(attach, 1, keys.c_str(), -1, SQLITE_STATIC);
        rc = sqlite3_step(attach);
    }
    sqlite3_finalize(attach);
    if (rc != SQLITE_DONE) {
        error e = c->last_error(rc, "cannot open the key index '" + keys + "'");
        e.code = errc::io_error;
        return std::unexpected(e);
    }
    return c;
}

status connection::begin_main_write() {
    if (auto ok = run("BEGIN"); !ok) return ok;
    // A write statement takes its database's write lock when it starts, whatever it changes.
    if (auto ok = run("UPDATE main.meta SET v = v WHERE 0"); !ok) {
        (void)run("ROLLBACK");
        return ok;
    }
    return {};
}

status connection::hold_keys() { return run("UPDATE keys.key_progress SET seq = seq WHERE 0"); }

connection::~connection() {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
}

result<statement> connection::prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* st = nullptr;
        int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &st, nullptr);
        if (rc != SQLITE_OK) return std::unexpected(last_error(rc, "prepare"));
        it = cache_.emplace(std::string(sql), st).first;
    }
    return result<statement>(std::in_place, it->second);
}

status connection::run(std::string_view sql) {
    auto st = prepare(sql);
    if (!st) return std::unexpected(st.error());
    int rc = st->step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return std::unexpected(last_error(rc, sql));
    return {};
}

status connection::exec(const char* sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        std::string m = msg ? msg : sqlite3_errstr(rc);
        sqlite3_free(msg);
        error e = error_from(nullptr, rc, sql);
        e.message = std::string(sql).substr(0, 60) + ": " + m;
        return std::unexpected(e);
    }
    return {};
}

}  // namespace prom::storage::sqlite
