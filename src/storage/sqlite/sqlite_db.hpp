// A small RAII layer over the SQLite C API: connections with a prepared-statement cache.
// A connection is used by one thread at a time (callers hold a lock or own it).
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "prom/error.hpp"
#include "prom/seq_and_time.hpp"
#include "storage/row_codec.hpp"

namespace prom::storage::sqlite {

error error_from(sqlite3* db, int rc, std::string_view context);

// Before the process's first SQLite call (connection::open and the file check call it):
// no allocation statistics. With them on (Debian's build default) every sqlite3_malloc and
// sqlite3_free takes one process-wide mutex, shared by the writer, the key indexer and every
// reader; prom never asks for the statistics (docs/benchmarks.md, "SQLite's allocator
// without statistics").
void configure_sqlite_once();

// One use of a cached statement; resets it (and clears bindings) when it goes away. Its
// current row is a row_reader, so the shared decoders (storage/row_codec.hpp) read it.
class statement final : public row_reader {
  public:
    explicit statement(sqlite3_stmt* s) : s_(s) {}
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

    void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
    void bind(int i, seq_t v) { sqlite3_bind_int64(s_, i, v.value); }
    void bind(int i, ts_ms v) { sqlite3_bind_int64(s_, i, v.value); }
    void bind(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    // Without a copy: `v` must stay alive and unchanged until this statement object is gone
    // (it resets the statement), e.g. a field of the batch being appended.
    void bind_static(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    void bind_null(int i) { sqlite3_bind_null(s_, i); }

    int step() { return sqlite3_step(s_); }  // SQLITE_ROW, SQLITE_DONE or an error
    // Ready to step again with new bindings (one statement object for a loop of upserts).
    void reset() { sqlite3_reset(s_); }

    std::int64_t int64(int col) const override { return sqlite3_column_int64(s_, col); }
    std::string_view text(int col) const override {
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                 : std::string_view();
    }
    bool is_null(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    // Of a TEXT column, its length without the conversion text() may make.
    std::size_t text_bytes(int col) const override {
        return static_cast<std::size_t>(sqlite3_column_bytes(s_, col));
    }

  private:
    sqlite3_stmt* s_;
};

// The file beside the database that holds its key index (`key_events`, attached to every
// connection as `keys`): its own file so that a thread of its own fills it while the writer
// appends to the log (sqlite_key_indexer.hpp). Derived data: deleting it loses nothing.
inline std::string keys_path(const std::string& db_path) { return db_path + "-keys"; }

class connection {
  public:
    // Opens the database and attaches its keys file (made empty beside an existing database
    // that has none).
    static result<std::unique_ptr<connection>> open(const std::string& path, bool create,
                                                    int busy_timeout_ms);
    ~connection();

    // Begins a write transaction that holds the write lock of the main database only. BEGIN
    // IMMEDIATE would take the keys file's as well, and shut its indexer out of every append.
    status begin_main_write();
    // Takes the keys file's write lock inside a write transaction, before the transaction
    // reads it: a transaction that read it first could not write it after the indexer's next
    // commit (SQLITE_BUSY_SNAPSHOT).
    status hold_keys();

    // A cached prepared statement for `sql` (text is the cache key).
    result<statement> prepare(std::string_view sql);
    status exec(const char* sql);
    // Runs one statement that returns no rows, through the statement cache (for the hot
    // BEGIN / COMMIT / SAVEPOINT path, which sqlite3_exec would re-parse every time).
    status run(std::string_view sql);
    error last_error(int rc, std::string_view context) const {
        return error_from(db_, rc, context);
    }
    sqlite3* raw() const { return db_; }

  private:
    explicit connection(sqlite3* db) : db_(db) {}
    // Looked up by string_view: no std::string is made per statement use (an append uses
    // four statements per event).
    struct sql_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    sqlite3* db_;
    std::unordered_map<std::string, sqlite3_stmt*, sql_hash, std::equal_to<>> cache_;
};

}  // namespace prom::storage::sqlite
