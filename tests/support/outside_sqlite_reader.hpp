// A SQLite reader outside prom (a sqlite3 shell, a backup tool) holding a read transaction on
// a database file, for as long as it lives: it keeps the WAL from being checkpointed.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace prom::test {

class outside_sqlite_reader {
  public:
    explicit outside_sqlite_reader(const std::string& path) {
        const std::string file = "file:" + path + "?mode=ro";
        EXPECT_EQ(
            sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr),
            SQLITE_OK);
        EXPECT_EQ(
            sqlite3_exec(db_, "BEGIN; SELECT count(*) FROM events;", nullptr, nullptr, nullptr),
            SQLITE_OK);
    }
    ~outside_sqlite_reader() { release(); }
    outside_sqlite_reader(const outside_sqlite_reader&) = delete;
    outside_sqlite_reader& operator=(const outside_sqlite_reader&) = delete;

    void release() {
        if (db_ == nullptr) return;
        sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_close(db_);
        db_ = nullptr;
    }

  private:
    sqlite3* db_ = nullptr;
};

}  // namespace prom::test
