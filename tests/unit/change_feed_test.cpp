// consistency::change_feed on a memory store (docs/watches.md, "How it is built"): filters,
// order, resuming from a position, one delivery at a time until ready(), and no callback
// after unwatch().
#include "consistency/change_feed.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/test_support.hpp"

namespace prom::consistency {
namespace {

using namespace std::chrono_literals;

struct inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<document_change> got;
    int deliveries = 0;

    change_feed::deliver callback() {
        return [this](std::uint64_t, watched_changes changes) {
            std::lock_guard lock(mu);
            ++deliveries;
            for (const auto& c : changes) got.push_back(c->change);
            cv.notify_all();
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds t = 5s) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, t, [&] { return got.size() >= n; });
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return got.size();
    }
};

class change_feed_test : public testing::Test {
  protected:
    void put(std::string_view coll, std::string_view key, std::int64_t v) {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one(coll, key, json::object{{"v", v}}, true));
        ASSERT_TRUE((*txn)->commit());
    }
    test::temp_dir dir_;
    std::unique_ptr<store> store_ = test::open_or_die("memory:");
};

TEST_F(change_feed_test, renders_a_change_and_a_deletion_as_canonical_json) {
    document_change c{seq_t{7}, "c", "k\"1", ts_ms{5}, false, R"({"_key":"k\"1","v":1})", "\"e\""};
    EXPECT_EQ(
        render_change(c),
        R"({"body":{"_key":"k\"1","v":1},"collection":"c","etag":"\"e\"","key":"k\"1","seq":7,"ts":5})");
    c.deleted = true;
    EXPECT_EQ(render_change(c), R"({"collection":"c","deleted":true,"key":"k\"1","seq":7,"ts":5})");
}

// A collection a rebuild swapped is read from its shadow, and its changes carry the name the
// watcher asked for, never `_prom.<token>.<name>` (found from outside).
TEST_F(change_feed_test, changes_carry_the_name_the_watcher_used) {
    change_feed feed(*store_, 50ms);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> texts;
    auto id = feed.watch(
        "_prom.0a1b.wc", {}, seq_t{0},
        [&](std::uint64_t, watched_changes changes) {
            std::lock_guard lock(mu);
            for (const auto& c : changes) texts.push_back(c->json);
            cv.notify_all();
        },
        "wc");
    put("_prom.0a1b.wc", "a", 1);
    for (int i = 0; i < 250; ++i) {
        feed.ready(id);
        std::unique_lock lock(mu);
        if (cv.wait_for(lock, 20ms, [&] { return !texts.empty(); })) break;
    }
    std::lock_guard lock(mu);
    ASSERT_EQ(texts.size(), 1u);
    EXPECT_NE(texts[0].find(R"("collection":"wc")"), std::string::npos) << texts[0];
    EXPECT_EQ(texts[0].find("_prom"), std::string::npos) << texts[0];
}

TEST_F(change_feed_test, hands_each_watcher_the_changes_its_filter_passes_in_order) {
    change_feed feed(*store_, 50ms);
    inbox all, one, prefixed;
    auto a = feed.watch("c", {}, seq_t{0}, all.callback());
    auto o = feed.watch("c", {.key = "x1", .exact = true}, seq_t{0}, one.callback());
    auto p = feed.watch("c", {.prefix = "y"}, seq_t{0}, prefixed.callback());
    put("c", "x1", 1);
    put("c", "y1", 2);
    put("other", "x1", 3);
    put("c", "x1", 4);
    // A watcher gets the next changes once it says it is ready again, so the changes may come
    // in several handings when the feed runs between the puts (a loaded machine).
    for (int i = 0; i < 250 && all.size() < 3; ++i) {
        for (auto id : {a, o, p}) feed.ready(id);
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(all.wait_for(3));
    for (int i = 0; i < 20 && (one.size() < 2 || prefixed.size() < 1); ++i) {
        for (auto id : {a, o, p}) feed.ready(id);
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(all.got.size(), 3u);
    EXPECT_EQ(all.got[0].seq, seq_t{1});
    EXPECT_EQ(all.got[2].seq, seq_t{3});
    ASSERT_EQ(one.got.size(), 2u);
    EXPECT_EQ(one.got[1].seq, seq_t{3});
    ASSERT_EQ(prefixed.got.size(), 1u);
    EXPECT_EQ(prefixed.got[0].key, "y1");
}

TEST_F(change_feed_test, a_watcher_gets_nothing_more_until_it_is_ready) {
    change_feed feed(*store_, 20ms);
    inbox in;
    put("c", "k", 0);
    auto id = feed.watch("c", {}, seq_t{0}, in.callback());
    ASSERT_TRUE(in.wait_for(1));
    put("c", "k", 1);
    put("c", "k", 2);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(in.size(), 1u) << "busy: the log holds the rest";
    feed.ready(id);
    ASSERT_TRUE(in.wait_for(3));
    EXPECT_EQ(in.deliveries, 2);
    EXPECT_EQ(in.got[1].seq, seq_t{2});
    EXPECT_EQ(in.got[2].seq, seq_t{3});
}

TEST_F(change_feed_test, resumes_after_a_position_and_pages_through_a_long_backlog) {
    for (int i = 0; i < 2500; ++i) put("c", "k" + std::to_string(i % 10), i);
    change_feed feed(*store_, 20ms);
    inbox in;
    auto id = feed.watch("c", {}, seq_t{100}, in.callback());
    for (int i = 0; i < 200 && in.size() < 2400; ++i) {
        feed.ready(id);
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(in.size(), 2400u);
    for (std::size_t i = 0; i < in.got.size(); ++i) {
        EXPECT_EQ(in.got[i].seq, seq_t{static_cast<std::int64_t>(i) + 101});
    }
    EXPECT_GE(in.deliveries, 3);  // a page (1,000 changes) at a time
}

TEST_F(change_feed_test, no_callback_runs_after_unwatch_returns) {
    change_feed feed(*store_, 5ms);
    std::atomic<bool> unwatched{false}, late{false};
    auto id = feed.watch("c", {}, seq_t{0}, [&](std::uint64_t, watched_changes) {
        if (unwatched.load()) late = true;
    });
    std::thread writer([&] {
        for (int i = 0; i < 200; ++i) put("c", "k", i);
    });
    std::this_thread::sleep_for(20ms);
    feed.unwatch(id);
    unwatched = true;
    writer.join();
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(late.load());
    EXPECT_EQ(feed.active(), 0u);
}

TEST(change_id, parses_decimal_ids_only) {
    EXPECT_EQ(parse_change_id("42"), seq_t{42});
    EXPECT_EQ(parse_change_id(" 0 "), seq_t{0});
    EXPECT_FALSE(parse_change_id(""));
    EXPECT_FALSE(parse_change_id("-1"));
    EXPECT_FALSE(parse_change_id("4x"));
    EXPECT_FALSE(parse_change_id("1234567890123456789"));  // 19 digits
}

}  // namespace
}  // namespace prom::consistency
