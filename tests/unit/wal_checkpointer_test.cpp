// The SQLite WAL copied into the database file off the commit path
// (src/storage/sqlite/sqlite_checkpointer.hpp): the WAL stays bounded under a stream of
// commits, its thread copies the rows into the file while the writer goes on, and an
// explicit checkpoint can hold the thread off.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "storage/sqlite/sqlite_checkpointer.hpp"
#include "storage/sqlite/sqlite_db.hpp"

using namespace prom::storage::sqlite;
namespace fs = std::filesystem;

namespace {

struct scratch_db {
    fs::path dir = fs::temp_directory_path() /
                   ("prom-ckpt-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::string path = (dir / "t.db").string();
    scratch_db() {
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~scratch_db() { fs::remove_all(dir); }
};

// What the writer saw over a run of commits.
struct writer_run {
    int longest_wal = 0;  // frames after a commit, at most
    int restarts = 0;     // times the WAL was written again from its start
    int last_frames = 0;
    wal_checkpointer* checkpointer = nullptr;
};

// The store's wal_hook, counting.
int hook(void* arg, sqlite3* db, const char* name, int frames) {
    auto* run = static_cast<writer_run*>(arg);
    if (frames < run->last_frames) ++run->restarts;
    run->last_frames = frames;
    run->longest_wal = std::max(run->longest_wal, frames);
    run->checkpointer->after_commit(db, name, frames);
    return SQLITE_OK;
}

// Commits `txns` transactions of `rows` rows of ~1 KiB each through the hook.
writer_run write(connection& c, wal_checkpointer& ckpt, int txns, int rows) {
    writer_run run;
    run.checkpointer = &ckpt;
    sqlite3_wal_hook(c.raw(), &hook, &run);
    const std::string filler(1000, 'x');
    for (int t = 0; t < txns; ++t) {
        EXPECT_TRUE(c.run("BEGIN IMMEDIATE"));
        for (int r = 0; r < rows; ++r) {
            auto st = c.prepare("INSERT INTO t(v) VALUES(?1)");
            EXPECT_TRUE(st);
            st->bind(1, filler + std::to_string(t * rows + r));
            EXPECT_EQ(st->step(), SQLITE_DONE);
        }
        EXPECT_TRUE(c.run("COMMIT"));
    }
    sqlite3_wal_hook(c.raw(), nullptr, nullptr);
    return run;
}

std::unique_ptr<connection> open_wal(const std::string& path) {
    auto c = connection::open(path, true, 5000);
    EXPECT_TRUE(c);
    EXPECT_TRUE(
        (*c)->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)"));
    return std::move(*c);
}

std::int64_t count_rows(connection& c) {
    auto st = c.prepare("SELECT count(*) FROM t");
    EXPECT_TRUE(st);
    EXPECT_EQ(st->step(), SQLITE_ROW);
    return st->int64(0);
}

}  // namespace

TEST(wal_checkpointer, the_wal_stays_bounded_and_is_written_again_from_its_start) {
    scratch_db db;
    auto c = open_wal(db.path);
    wal_checkpointer ckpt(db.path, 5000, false);
    // ~25 frames per commit, ~50,000 frames in all: many times the WAL's bound.
    auto run = write(*c, ckpt, 2000, 100);
    EXPECT_LE(run.longest_wal, wal_checkpointer::inline_frames + 100);
    EXPECT_GT(run.restarts, 0);
    EXPECT_EQ(count_rows(*c), 200000);
}

// Fewer frames than restart_frames and inline_frames: the writer copies nothing itself, so
// only the thread can have put the rows into the database file, while the writer's
// connection stays open (SQLite's own copy at close is not what is looked at).
TEST(wal_checkpointer, its_thread_copies_the_wal_into_the_database_file) {
    scratch_db db;
    auto c = open_wal(db.path);
    wal_checkpointer ckpt(db.path, 5000, false);
    auto run = write(*c, ckpt, 100, 100);  // ~10 MB of rows, ~2,700 frames
    ASSERT_GE(run.longest_wal, wal_checkpointer::background_frames);
    ASSERT_LT(run.longest_wal, wal_checkpointer::restart_frames);
    // One copy of the thread: background_frames pages of 4 KiB or more (the frames left
    // under that stay in the WAL, so not all ~10 MB need be in the file).
    const std::uintmax_t copied_at_least = wal_checkpointer::background_frames * 4096u * 9 / 10;
    const auto before = fs::file_size(db.path);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (fs::file_size(db.path) < copied_at_least &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(fs::file_size(db.path), copied_at_least)
        << "the file held " << before << " bytes before";
    EXPECT_EQ(count_rows(*c), 10000);
}

TEST(wal_checkpointer, holding_it_lets_a_truncating_checkpoint_finish) {
    scratch_db db;
    auto c = open_wal(db.path);
    wal_checkpointer ckpt(db.path, 5000, false);
    for (int i = 0; i < 20; ++i) {
        (void)write(*c, ckpt, 60, 100);  // enough for the thread to be copying now and then
        auto held = ckpt.hold();
        auto st = c->prepare("PRAGMA wal_checkpoint(TRUNCATE)");
        ASSERT_TRUE(st);
        ASSERT_EQ(st->step(), SQLITE_ROW);
        EXPECT_EQ(st->int64(0), 0) << "the checkpoint was kept from finishing, round " << i;
        EXPECT_EQ(fs::file_size(db.path + "-wal"), 0u);
    }
}
