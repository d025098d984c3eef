// What a retention pass plans to drop (src/retention/pass_plan.hpp), without a store.
#include <gtest/gtest.h>

#include "retention/pass_plan.hpp"

namespace prom::retention {
namespace {

topic_index index_of(std::initializer_list<std::pair<std::int64_t, std::uint32_t>> ts_and_key) {
    topic_index ix;
    ix.keys = {"a", "b"};
    std::int64_t seq = 0;
    for (auto [ts, key] : ts_and_key) ix.events.push_back({seq_t{++seq}, ts_ms{ts}, key});
    return ix;
}

policy max_events(std::int64_t n) {
    policy p;
    p.pattern = "t";
    p.retain = retain_rule{.max_age = std::nullopt, .max_events = n};
    return p;
}

// An event dated after the clock is not dropped, nor anything after it: the horizon would
// pass the clock and refuse every event stamped now (found from outside: one event dated
// 9999-12-31 and max_events shut the topic for good).
TEST(retention_pass_plan, the_retained_prefix_stops_at_an_event_dated_after_now) {
    const auto ix = index_of({{100, 0}, {253402300799999, 0}, {200, 1}, {300, 1}});
    auto plan = plan_pass(ix, max_events(1), ts_ms{1000}, std::nullopt);
    EXPECT_EQ(plan.all_seqs(), std::vector<seq_t>{seq_t{1}});
    ASSERT_TRUE(plan.greatest_ts);
    EXPECT_EQ(*plan.greatest_ts, ts_ms{100});
    // Once the clock has passed it, it goes like any other.
    plan = plan_pass(ix, max_events(1), ts_ms{253402300799999}, std::nullopt);
    EXPECT_EQ(plan.all_seqs(), (std::vector<seq_t>{seq_t{1}, seq_t{2}, seq_t{3}}));
    EXPECT_EQ(*plan.greatest_ts, ts_ms{253402300799999});
}

TEST(retention_pass_plan, max_events_keeps_the_newest_events) {
    const auto ix = index_of({{100, 0}, {150, 1}, {200, 1}, {300, 0}});
    auto plan = plan_pass(ix, max_events(2), ts_ms{1000}, std::nullopt);
    EXPECT_EQ(plan.all_seqs(), (std::vector<seq_t>{seq_t{1}, seq_t{2}}));
    EXPECT_EQ(plan.retained_out, 2);
    EXPECT_EQ(*plan.greatest_ts, ts_ms{150});
}

}  // namespace
}  // namespace prom::retention
