// SQLite tells a process about another process's commits only when asked (PRAGMA
// data_version, docs/storage-schema.md): then the store's change counter moves and its append
// listeners hear of a change of unknown extent. The SQLite store asks by itself, on one
// thread of its own (storage/sqlite/sqlite_foreign_commits.hpp), so a node with no projector
// and no subscriber still notices an event written by the CLI, and a server's background
// watchers (the cursor waiters of read-your-writes, the WebSocket delivery pool) sleep while
// they have nothing to watch instead of waking on a timer (docs/threads.md).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "bus/delivery_pool.hpp"
#include "consistency/cursor_waiters.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

struct two_connections {
    test::temp_dir dir;
    std::unique_ptr<store> server = test::open_or_die("sqlite:" + dir.file("p.db"));
    std::unique_ptr<store> cli = test::open_or_die("sqlite:" + dir.file("p.db"));
    std::atomic<int> unknown_changes{0};

    two_connections() {
        server->add_append_listener([this](const appended_topics& a) {
            if (!a.complete) ++unknown_changes;
        });
    }
    // Commits through the other connection, then waits for the server to notice.
    bool server_notices_the_cli_commit() {
        std::this_thread::sleep_for(50ms);  // the store's own thread is idle by now
        const std::uint64_t version = server->change_version();
        EXPECT_TRUE(cli->append({{.topic = "t", .key = "k", .payload = 1}}));
        for (int i = 0; i < 400 && server->change_version() == version; ++i) {
            std::this_thread::sleep_for(5ms);
        }
        return server->change_version() != version && unknown_changes.load() > 0;
    }
};

// The threads of this process (Linux: /proc/self/task).
std::set<std::string> thread_ids() {
    std::set<std::string> ids;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
        ids.insert(e.path().filename().string());
    }
    return ids;
}

// How often the threads `ids` went to sleep of their own accord: a thread waiting on a
// condition variable until work arrives adds nothing; one that wakes on a timer adds one per
// tick.
long voluntary_switches(const std::set<std::string>& ids) {
    long total = 0;
    for (const auto& id : ids) {
        std::ifstream status("/proc/self/task/" + id + "/status");
        std::string line;
        while (std::getline(status, line)) {
            constexpr std::string_view field = "voluntary_ctxt_switches:";
            if (line.starts_with(field)) total += std::stol(line.substr(field.size()));
        }
    }
    return total;
}

TEST(idle_watchers, the_store_alone_notices_another_process) {
    // Nothing waits and no watcher runs: the store's own thread still asks.
    two_connections c;
    EXPECT_TRUE(c.server_notices_the_cli_commit());
}

TEST(idle_watchers, watchers_with_nothing_to_watch_sleep_and_still_hear_other_processes) {
    two_connections c;
    const auto before = thread_ids();
    consistency::cursor_waiters waiters(*c.server);
    bus_internal::delivery_pool pool(*c.server, 1);
    std::this_thread::sleep_for(50ms);  // both have started and gone idle
    std::set<std::string> watchers;
    for (const auto& id : thread_ids()) {
        if (!before.contains(id)) watchers.insert(id);
    }
    ASSERT_GE(watchers.size(), 2U);

    // A timer of 5 ms would tick about 80 times in 400 ms, per thread.
    const long switches = voluntary_switches(watchers);
    std::this_thread::sleep_for(400ms);
    EXPECT_LE(voluntary_switches(watchers) - switches, 4);

    // Asleep, not deaf: another process's commit still reaches the server.
    EXPECT_TRUE(c.server_notices_the_cli_commit());
    pool.close();
}

}  // namespace
}  // namespace prom
