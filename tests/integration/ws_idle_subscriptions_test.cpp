// Idle WebSocket subscriptions cost no thread each: the gateway delivers from a fixed pool
// (src/bus/delivery_pool.hpp), so 200 of them leave the process's thread count where it was,
// and every one of them still receives what is published to its topic.
#include <dirent.h>
#include <gtest/gtest.h>

#include "prom/harness.hpp"
#include "support/test_support.hpp"
#include "support/ws_client.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;
using test::raw_ws;

std::size_t thread_count() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (auto* e = ::readdir(d)) {
            if (e->d_name[0] != '.') ++n;
        }
        ::closedir(d);
    }
    return n;
}

// Reads text frames until one has "op": op.
json::value expect_op(raw_ws& ws, std::string_view op) {
    for (int i = 0; i < 200; ++i) {
        auto text = ws.read_text();
        if (!text) break;
        auto v = parse_json(*text);
        if (v && v->is_object() && v->at("op").is_string() && v->at("op").get_string() == op)
            return *v;
    }
    ADD_FAILURE() << "no '" << op << "' frame";
    return nullptr;
}

TEST(ws_idle_subscriptions, two_hundred_idle_subscriptions_do_not_add_a_thread_each) {
    if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
    test::temp_dir dir;
    auto h = harness::start({.db = test::integration_db_url(dir, "memory:")});
    ASSERT_TRUE(h) << h.error().message;
    constexpr int connections = 4, per_connection = 50;  // 64 is the limit per connection
    std::vector<std::unique_ptr<raw_ws>> clients;
    for (int c = 0; c < connections; ++c) {
        raw_ws::handshake hs;
        clients.push_back(raw_ws::connect((*h)->port(), hs));
        ASSERT_EQ(hs.status, 101) << hs.response;
    }
    std::this_thread::sleep_for(200ms);  // the server's threads are all started
    const std::size_t before = thread_count();
    for (int c = 0; c < connections; ++c) {
        for (int i = 0; i < per_connection; ++i) {
            // Half in consumer groups (a lease each), half ephemeral.
            const std::string topic = "idle." + std::to_string(c) + "." + std::to_string(i);
            const std::string group = i % 2 ? R"(,"group":"g")" : "";
            ASSERT_TRUE(clients[c]->send_text(R"({"op":"subscribe","topic":")" + topic + "\"" +
                                              group + "}"));
        }
    }
    for (auto& ws : clients) {
        for (int i = 0; i < per_connection; ++i) expect_op(*ws, "subscribed");
    }
    std::this_thread::sleep_for(300ms);  // every consumer has taken its lease and gone idle
    const std::size_t after = thread_count();
    // A thread per subscription would be 200 more; the pool is a fixed handful.
    EXPECT_LE(after, before + 4) << "threads before " << before << ", after " << after;

    // Idle is not dead: each of them gets what is published to its topic.
    for (int c = 0; c < connections; ++c) {
        for (int i = 0; i < per_connection; ++i) {
            ASSERT_TRUE((*h)->bus().publish(
                {.topic = "idle." + std::to_string(c) + "." + std::to_string(i), .payload = i}));
        }
    }
    for (auto& ws : clients) {
        std::set<std::string> topics;
        for (int i = 0; i < per_connection; ++i) {
            auto ev = expect_op(*ws, "events");
            if (!ev.is_object()) break;
            topics.insert(std::string(ev.at("topic").as_string()));
            EXPECT_EQ(ev.at("events").as_array().size(), 1u);
        }
        EXPECT_EQ(topics.size(), static_cast<std::size_t>(per_connection));
    }
    EXPECT_LE(thread_count(), before + 4);
}

}  // namespace
}  // namespace prom
