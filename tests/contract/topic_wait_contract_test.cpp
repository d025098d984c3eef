// store::topic_change_version / wait_for_topic_change: a consumer of a quiet topic sleeps
// through the commits of other topics and wakes on an append to its own (store.hpp). The
// projectors' consumer loops wait this way, so a server under publish load to one topic no
// longer wakes every other consumer on every commit.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class topic_wait : public testing::TestWithParam<test::backend> {};

void append_to(store& s, const std::string& topic) {
    ASSERT_TRUE(s.append({{.topic = topic, .key = "k", .payload = 1}}));
}

TEST_P(topic_wait, other_topics_do_not_end_the_wait_and_an_append_to_the_topic_does) {
    test::temp_dir dir;
    auto s = test::open_or_die(GetParam().fresh_url(dir), {.durable = false});
    const std::uint64_t seen = s->topic_change_version("quiet");
    append_to(*s, "busy");
    EXPECT_EQ(s->topic_change_version("quiet"), seen);

    std::atomic<bool> woke{false};
    std::thread waiter([&] {
        s->wait_for_topic_change("quiet", seen, 10s);
        woke = true;
    });
    for (int i = 0; i < 20; ++i) {
        append_to(*s, "busy");
        std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(woke.load()) << "an append to another topic ended the wait";

    const auto appended_at = std::chrono::steady_clock::now();
    append_to(*s, "quiet");
    waiter.join();
    EXPECT_TRUE(woke.load());
    EXPECT_LT(std::chrono::steady_clock::now() - appended_at, 5s);  // woken, not timed out
    EXPECT_NE(s->topic_change_version("quiet"), seen);
}

TEST_P(topic_wait, a_version_read_before_an_append_does_not_wait_at_all) {
    test::temp_dir dir;
    auto s = test::open_or_die(GetParam().fresh_url(dir), {.durable = false});
    const std::uint64_t seen = s->topic_change_version("t");
    append_to(*s, "t");  // lands between the read of the version and the wait
    const auto start = std::chrono::steady_clock::now();
    s->wait_for_topic_change("t", seen, 10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_P(topic_wait, the_wait_ends_at_its_timeout) {
    test::temp_dir dir;
    auto s = test::open_or_die(GetParam().fresh_url(dir), {.durable = false});
    const std::uint64_t seen = s->topic_change_version("t");
    const auto start = std::chrono::steady_clock::now();
    s->wait_for_topic_change("t", seen, 50ms);
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 45ms);
    EXPECT_LT(waited, 5s);
}

// SQLite learns of another process's commit only through data_version: a change of unknown
// extent, which ends every topic's wait.
TEST(topic_wait_sqlite, another_process_appending_ends_the_wait) {
    test::temp_dir dir;
    auto server = test::open_or_die("sqlite:" + dir.file("p.db"));
    auto cli = test::open_or_die("sqlite:" + dir.file("p.db"));
    const std::uint64_t seen = server->topic_change_version("t");
    std::thread other([&] {
        std::this_thread::sleep_for(50ms);
        append_to(*cli, "t");
    });
    const auto start = std::chrono::steady_clock::now();
    server->wait_for_topic_change("t", seen, 10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    other.join();
}

INSTANTIATE_TEST_SUITE_P(backends, topic_wait, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
