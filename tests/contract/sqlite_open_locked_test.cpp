// Opening a SQLite database whose schema is up to date takes no write lock, so another
// process's write transaction does not hold it up; one that needs its schema written, while
// another process holds the write lock past the busy timeout, fails naming the file and the
// cause (found from outside: a read-only command said only "PRAGMA auto_vacuum=INCREMENTAL:
// database is locked", and waited for a write lock it did not need).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "prom/store.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

// Another process's write transaction, held until `release`.
sqlite3* hold_write_lock(const std::string& path) {
    sqlite3* lock = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &lock), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    return lock;
}

void release(sqlite3* lock) {
    sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(lock);
}

TEST(sqlite_open, an_up_to_date_database_opens_and_reads_while_another_process_writes) {
    test::temp_dir dir;
    const std::string path = dir.file("busy.db");
    {
        auto made = open_store("sqlite:" + path);
        ASSERT_TRUE(made);
        std::vector<event_input> batch(1);
        batch[0].topic = "t";
        batch[0].key = "k";
        batch[0].payload = json::object{{"n", 1}};
        ASSERT_TRUE((*made)->append(std::move(batch)));
    }
    sqlite3* lock = hold_write_lock(path);
    const auto started = std::chrono::steady_clock::now();
    auto opened = open_store("sqlite:" + path, {.busy_timeout = 2000ms, .must_exist = true});
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(opened) << opened.error().message;
    EXPECT_LT(took, 1500ms) << "the open waited for the write lock";
    auto events = (*opened)->scan({.topic = "t"});
    release(lock);
    ASSERT_TRUE(events) << events.error().message;
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->front().key, "k");
}

TEST(sqlite_open, a_database_locked_past_the_busy_timeout_is_named_with_the_cause) {
    test::temp_dir dir;
    const std::string path = dir.file("locked.db");
    ASSERT_TRUE(open_store("sqlite:" + path));  // made, then closed
    // As a database of an older prom: its schema is to be written at open.
    sqlite3* older = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &older), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(older, "UPDATE meta SET v = '7' WHERE k = 'schema_version'", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(older);
    sqlite3* lock = hold_write_lock(path);
    auto opened = open_store("sqlite:" + path, {.busy_timeout = 200ms, .must_exist = true});
    release(lock);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, errc::unavailable);
    EXPECT_NE(opened.error().message.find("cannot open database '" + path + "'"), std::string::npos)
        << opened.error().message;
    EXPECT_NE(opened.error().message.find("another process held its write lock for more than "
                                          "200 ms"),
              std::string::npos)
        << opened.error().message;
    EXPECT_TRUE(open_store("sqlite:" + path, {.must_exist = true}));  // free again
}

}  // namespace
}  // namespace prom
