// Shutdown of `prom serve` does not wait for a long retention pass (docs/retention.md,
// "Pacing"): runner::stop() returns once the pass in progress ends its current transaction.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "prom/store.hpp"
#include "retention/runner.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

std::int64_t count_of(store& s, const std::string& topic) {
    auto t = s.topic(topic);
    return t && *t ? (*t)->count : -1;
}

TEST(retention_runner, stop_ends_a_pass_in_progress_between_two_transactions) {
    auto opened = open_store("memory:");
    ASSERT_TRUE(opened) << opened.error().message;
    store& s = **opened;
    std::vector<event_input> batch;
    for (int i = 1; i <= 200; ++i) {
        batch.push_back({.topic = "slow", .key = "k", .ts = ts_ms{i}, .payload = i});
    }
    ASSERT_TRUE(s.append(std::move(batch)));
    auto p = retention::parse_policy("slow", *parse_json(R"({"compact":{"horizon":"1ms"}})"));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(retention::put_policy(s, *p));

    // One event per transaction and a long pause after each: the pass would take 40 s.
    retention::runner r(
        s, {.interval = 10ms, .snapshots = false, .batch_events = 1, .pause = 200ms, .clock = [] {
                return ts_ms{1'000'000};
            }});
    r.start();
    const auto waited_from = std::chrono::steady_clock::now();
    while (count_of(s, "slow") == 200 && std::chrono::steady_clock::now() - waited_from < 20s) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_LT(count_of(s, "slow"), 200) << "the pass never began";

    const auto stopping = std::chrono::steady_clock::now();
    r.stop();
    const auto took = std::chrono::steady_clock::now() - stopping;
    EXPECT_LT(took, 2s) << "stop() waited for the pass";
    const std::int64_t left = count_of(s, "slow");
    EXPECT_GT(left, 1) << "the pass ran to its end";

    // What it left is whole, and the next pass (the lease was released) drops the rest.
    auto next = retention::run_pass(s, "slow", *p, {.now = ts_ms{1'000'000}});
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->compacted, left - 1);
    EXPECT_EQ(count_of(s, "slow"), 1);
}

}  // namespace
}  // namespace prom
