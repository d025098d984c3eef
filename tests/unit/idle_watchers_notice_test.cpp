// SQLite tells a process about another process's commits only when asked (PRAGMA
// data_version, docs/storage-schema.md): then the store's change counter moves and its append
// listeners hear of a change of unknown extent. The SQLite store asks by itself, on one
// thread of its own (storage/sqlite/sqlite_foreign_commits.hpp), so a server's background
// watchers (the cursor waiters of read-your-writes, the WebSocket delivery pool) sleep while
// they have nothing to watch, and a node with no projector and no subscriber still notices an
// event written by the CLI.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
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
        std::this_thread::sleep_for(50ms);  // the watcher is idle by now
        const std::uint64_t version = server->change_version();
        EXPECT_TRUE(cli->append({{.topic = "t", .key = "k", .payload = 1}}));
        for (int i = 0; i < 400 && server->change_version() == version; ++i) {
            std::this_thread::sleep_for(5ms);
        }
        return server->change_version() != version && unknown_changes.load() > 0;
    }
};

TEST(idle_watchers, the_cursor_waiters_without_waiters_still_notice_another_process) {
    two_connections c;
    consistency::cursor_waiters waiters(*c.server);
    EXPECT_TRUE(c.server_notices_the_cli_commit());
}

TEST(idle_watchers, the_delivery_pool_without_consumers_still_notices_another_process) {
    two_connections c;
    bus_internal::delivery_pool pool(*c.server, 1);
    EXPECT_TRUE(c.server_notices_the_cli_commit());
    pool.close();
}

TEST(idle_watchers, the_store_alone_notices_another_process) {
    // Nothing waits and no watcher runs: the store's own thread still asks.
    two_connections c;
    EXPECT_TRUE(c.server_notices_the_cli_commit());
}

}  // namespace
}  // namespace prom
