// prom serve's shutdown has a hard limit (docs/config.md, shutdown_deadline_ms): after
// SIGTERM it ends within the deadline plus 5 s whatever still waits, and a second signal ends
// it at once. What waits here is real: another process holds the SQLite database's write
// lock, so the projectors' last writes wait on it (without the limit, for as long as the lock
// is held). The tests use SQLite whatever the integration backend: the lock is SQLite's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace prom {
namespace {

using clock_type = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class serve_shutdown : public testing::Test {
  protected:
    void SetUp() override {
        std::ofstream(dir_.file("config.json")) << R"({"shutdown_deadline_ms": 200})";
        db_ = dir_.file("prom.db");
        log_ = dir_.file("serve.log");
    }
    void TearDown() override {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (lock_) sqlite3_close(lock_);
    }

    // Starts prom serve, its log in log_, and waits until it listens.
    void start() {
        std::vector<std::string> args{
            PROM_BINARY, "serve",       "--db",     "sqlite:" + db_,
            "--listen",  "127.0.0.1:0", "--config", dir_.file("config.json")};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t io;
        posix_spawn_file_actions_init(&io);
        posix_spawn_file_actions_addopen(&io, STDERR_FILENO, log_.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ASSERT_EQ(::posix_spawn(&pid_, PROM_BINARY, &io, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&io);
        const auto until = clock_type::now() + std::chrono::seconds(30);
        while (read_file(log_).find("listening on") == std::string::npos) {
            ASSERT_LT(clock_type::now(), until) << read_file(log_);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    // Takes the database's write lock, as a backup or a `sqlite3` shell left open would.
    void hold_write_lock() {
        ASSERT_EQ(sqlite3_open(db_.c_str(), &lock_), SQLITE_OK);
        sqlite3_busy_timeout(lock_, 10000);
        ASSERT_EQ(sqlite3_exec(lock_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK)
            << sqlite3_errmsg(lock_);
    }

    // The exit code once prom serve ended (-signal if a signal ended it), or nothing if it
    // runs on after `limit`.
    std::optional<int> wait_exit(std::chrono::milliseconds limit) {
        const auto until = clock_type::now() + limit;
        int status = 0;
        while (clock_type::now() < until) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = 0;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return std::nullopt;
    }

    test::temp_dir dir_;
    std::string db_, log_;
    pid_t pid_ = 0;
    sqlite3* lock_ = nullptr;
};

TEST_F(serve_shutdown, a_shutdown_that_waits_on_a_locked_database_ends_at_the_hard_limit) {
    start();
    hold_write_lock();
    const auto sent = clock_type::now();
    ::kill(pid_, SIGTERM);
    // Without the lock it ends in well under a second (the next test's first check).
    EXPECT_FALSE(wait_exit(std::chrono::milliseconds(2000))) << read_file(log_);
    // The limit is the deadline (200 ms) plus 5 s; the lock is held for far longer.
    auto code = wait_exit(std::chrono::seconds(20));
    const auto took = clock_type::now() - sent;
    ASSERT_TRUE(code) << "prom serve still runs 22 s after SIGTERM\n" << read_file(log_);
    EXPECT_EQ(*code, 1);
    EXPECT_GE(took, std::chrono::milliseconds(5200));
    EXPECT_LT(took, std::chrono::milliseconds(9000));
    EXPECT_NE(read_file(log_).find("shutdown not over 5200 ms after SIGTERM"), std::string::npos)
        << read_file(log_);

    // What was committed before is all there: the database opens and reads.
    sqlite3_exec(lock_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(lock_, "SELECT count(*) FROM topics", -1, &st, nullptr),
              SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    sqlite3_finalize(st);
}

TEST_F(serve_shutdown, a_second_signal_ends_a_waiting_shutdown_at_once) {
    // Unlocked, SIGTERM ends it cleanly and quickly.
    start();
    ::kill(pid_, SIGTERM);
    auto clean = wait_exit(std::chrono::seconds(5));
    ASSERT_TRUE(clean) << read_file(log_);
    EXPECT_EQ(*clean, 0) << read_file(log_);

    start();
    hold_write_lock();
    ::kill(pid_, SIGTERM);
    EXPECT_FALSE(wait_exit(std::chrono::milliseconds(1000))) << read_file(log_);
    const auto sent = clock_type::now();
    ::kill(pid_, SIGINT);
    auto code = wait_exit(std::chrono::seconds(3));
    ASSERT_TRUE(code) << "a second signal did not end prom serve\n" << read_file(log_);
    EXPECT_EQ(*code, 1);
    EXPECT_LT(clock_type::now() - sent, std::chrono::seconds(3));
    EXPECT_NE(read_file(log_).find("a second signal (SIGINT) while shutting down"),
              std::string::npos)
        << read_file(log_);
}

}  // namespace
}  // namespace prom
