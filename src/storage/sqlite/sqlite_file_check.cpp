#include "storage/sqlite/sqlite_file_check.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <vector>

#include "storage/sqlite/sqlite_db.hpp"

namespace prom::storage::sqlite {

namespace {

status refused(const std::string& path, const std::string& why) {
    return fail(errc::invalid_argument,
                "'" + path + "' " + why + ": check --db (nothing was changed)");
}

}  // namespace

status refuse_foreign_file(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st)) return {};  // a new database: made by open
    if (std::filesystem::is_directory(st)) return refused(path, "is a directory, not a database");
    if (!std::filesystem::is_regular_file(st)) return refused(path, "is not a regular file");
    if (std::filesystem::file_size(path, ec) == 0 && !ec) return {};  // SQLite's empty database

    // Read-only: looking must not change the file (a read-write close could checkpoint
    // another application's WAL). A prom database being written by a server opens too.
    configure_sqlite_once();
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    std::vector<std::string> tables;
    bool has_meta = false;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt* st_tables = nullptr;
        rc = sqlite3_prepare_v2(db,
                                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                                -1, &st_tables, nullptr);
        if (rc == SQLITE_OK) {
            while ((rc = sqlite3_step(st_tables)) == SQLITE_ROW) {
                std::string name(reinterpret_cast<const char*>(sqlite3_column_text(st_tables, 0)));
                has_meta = has_meta || name == "meta";
                tables.push_back(std::move(name));
            }
            if (rc == SQLITE_DONE) rc = SQLITE_OK;
        }
        sqlite3_finalize(st_tables);
    }
    const int primary = rc & 0xff;
    sqlite3_close_v2(db);
    if (primary == SQLITE_NOTADB) return refused(path, "is not a SQLite database");
    // Locked, unreadable, a WAL whose index cannot be mapped read-only: not an answer about
    // what the file is; the read-write open that follows reports what is wrong.
    if (rc != SQLITE_OK) return {};
    if (tables.empty() || has_meta) return {};
    std::string names;
    for (std::size_t i = 0; i < tables.size() && i < 5; ++i) {
        names += (i == 0 ? "" : ", ") + tables[i];
    }
    if (tables.size() > 5) names += ", …";
    return refused(path, "is a SQLite database that prom did not make (tables: " + names + ")");
}

}  // namespace prom::storage::sqlite
