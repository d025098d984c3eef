// Opening a SQLite database whose write lock another process holds past the busy timeout
// fails naming the file and the cause (found from outside: a read-only command said only
// "PRAGMA auto_vacuum=INCREMENTAL: database is locked").
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "prom/store.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

TEST(sqlite_open, a_database_locked_past_the_busy_timeout_is_named_with_the_cause) {
    test::temp_dir dir;
    const std::string path = dir.file("locked.db");
    ASSERT_TRUE(open_store("sqlite:" + path));  // made, then closed
    sqlite3* lock = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &lock), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

    auto opened = open_store("sqlite:" + path, {.busy_timeout = 200ms, .must_exist = true});
    sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(lock);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, errc::unavailable);
    EXPECT_NE(opened.error().message.find("cannot open database '" + path + "'"),
              std::string::npos)
        << opened.error().message;
    EXPECT_NE(opened.error().message.find("another process held its write lock for more than "
                                          "200 ms"),
              std::string::npos)
        << opened.error().message;
    EXPECT_TRUE(open_store("sqlite:" + path, {.must_exist = true}));  // free again
}

}  // namespace
}  // namespace prom
