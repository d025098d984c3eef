// Operations over every backend: every group's lag in events and seconds from the durable
// cursors (the same on a second node and after a reopen), seek, group removal, the ack-time
// column of databases made before it existed.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "bus/consumer_state.hpp"
#include "ops/groups.hpp"
#include "prom/bus.hpp"
#include "prom/projector.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class seq_log {
  public:
    void add(std::span<const event> batch) {
        {
            std::lock_guard lock(mu_);
            for (auto& e : batch) seqs_.push_back(e.seq.value);
        }
        cv_.notify_all();
    }
    bool wait_for_seq(std::int64_t s, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(
            lock, timeout, [&] { return std::find(seqs_.begin(), seqs_.end(), s) != seqs_.end(); });
    }
    std::vector<std::int64_t> seqs() {
        std::lock_guard lock(mu_);
        return seqs_;
    }
    void clear() {
        std::lock_guard lock(mu_);
        seqs_.clear();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::int64_t> seqs_;
};

class ops_groups_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    // Events with ts = 1000 * (first + i), i = 0..n-1.
    void publish(std::string_view topic, int first, int n) {
        std::vector<event_input> batch;
        batch.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            batch.push_back({.topic = std::string(topic),
                             .key = "k",
                             .ts = ts_ms{std::int64_t{1000} * (first + i)},
                             .payload = first + i});
        }
        ASSERT_TRUE(store_->append(std::move(batch)));
    }

    static const ops::group_info* find(const std::vector<ops::group_info>& gs,
                                       std::string_view topic, std::string_view group) {
        for (const auto& g : gs) {
            if (g.topic == topic && g.group == group) return &g;
        }
        return nullptr;
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
};

TEST_P(ops_groups_contract, lag_in_events_and_seconds_for_a_projector_and_a_library_consumer) {
    const ts_ms before = now_ms();
    publish("t", 1, 5);  // seq 1..5, ts 1000..5000
    {
        auto p = start_transactional_projector(
            *store_, {.topic = "t", .group = "proj", .handler = [](const event&, transaction&) {
                          return status{};
                      }});
        ASSERT_TRUE(p->wait_until(seq_t{5}, 10s));
    }
    publish("t", 6, 3);  // seq 6..8, ts 6000..8000: the projector is stopped
    bus b(*store_);
    ASSERT_TRUE(store_->set_cursor("t", "lib", seq_t{0}));
    ASSERT_TRUE(b.ack("t", "lib", seq_t{2}));
    ASSERT_TRUE(store_->set_cursor("t", "done", seq_t{8}));

    auto gs = ops::list_groups(*store_, ts_ms{10'000});
    ASSERT_TRUE(gs) << gs.error().message;
    ASSERT_EQ(gs->size(), 3u);
    auto* proj = find(*gs, "t", "proj");
    ASSERT_NE(proj, nullptr);
    EXPECT_EQ(proj->cursor, 5);
    EXPECT_EQ(proj->last_seq, 8);
    EXPECT_EQ(proj->lag_events, 3);
    EXPECT_DOUBLE_EQ(proj->lag_seconds, 4.0);  // 10000 - ts of seq 6
    EXPECT_FALSE(proj->holder);                // stopped: its lease is released
    ASSERT_TRUE(proj->last_ack);
    EXPECT_GE(*proj->last_ack, before);
    auto* lib = find(*gs, "t", "lib");
    ASSERT_NE(lib, nullptr);
    EXPECT_EQ(lib->lag_events, 6);
    EXPECT_DOUBLE_EQ(lib->lag_seconds, 7.0);  // 10000 - ts of seq 3
    auto* done = find(*gs, "t", "done");
    ASSERT_NE(done, nullptr);
    EXPECT_EQ(done->lag_events, 0);
    EXPECT_EQ(done->lag_seconds, 0.0);
    // Ordered by (topic, group).
    EXPECT_EQ((*gs)[0].group, "done");
    EXPECT_EQ((*gs)[2].group, "proj");
}

TEST_P(ops_groups_contract, an_active_subscriber_shows_as_the_holder) {
    publish("t", 1, 3);
    seq_log got;
    bus b(*store_);
    auto sub = b.subscribe("t", "live", [&](auto batch, auto&) { got.add(batch); });
    ASSERT_TRUE(got.wait_for_seq(3));
    auto gs = ops::list_groups(*store_, ts_ms{10'000});
    ASSERT_TRUE(gs);
    auto* g = find(*gs, "t", "live");
    ASSERT_NE(g, nullptr);
    EXPECT_TRUE(g->holder);
    sub.reset();
    gs = ops::list_groups(*store_, ts_ms{10'000});
    ASSERT_TRUE(gs);
    EXPECT_FALSE(find(*gs, "t", "live")->holder);
}

TEST_P(ops_groups_contract, a_second_node_and_a_reopened_store_report_the_same_lag) {
    if (!GetParam().durable) GTEST_SKIP() << "memory: nothing survives a reopen";
    publish("t", 1, 10);
    ASSERT_TRUE(store_->set_cursor("t", "g", seq_t{4}));
    auto here = ops::list_groups(*store_, ts_ms{20'000});
    ASSERT_TRUE(here);
    // A second store on the same database: a standby node.
    auto other = test::open_or_die(url_, {.durable = false});
    auto there = ops::list_groups(*other, ts_ms{20'000});
    ASSERT_TRUE(there);
    ASSERT_EQ(there->size(), 1u);
    EXPECT_EQ((*there)[0].lag_events, 6);
    EXPECT_DOUBLE_EQ((*there)[0].lag_seconds, 15.0);  // 20000 - ts 5000
    EXPECT_EQ(ops::to_json((*there)[0]), ops::to_json((*here)[0]));
    // After a restart: a fresh process reads the same cursors.
    other.reset();
    store_.reset();
    store_ = test::open_or_die(url_, {.durable = false});
    auto after = ops::list_groups(*store_, ts_ms{20'000});
    ASSERT_TRUE(after);
    EXPECT_EQ(ops::to_json((*after)[0]), ops::to_json((*here)[0]));
}

TEST_P(ops_groups_contract, topics_report_last_ts_and_dead_letters) {
    publish("a", 1, 4);
    publish("a.dlq", 2, 1);
    auto ts = ops::list_topics(*store_);
    ASSERT_TRUE(ts);
    ASSERT_EQ(ts->size(), 2u);
    EXPECT_EQ((*ts)[0].topic, "a");
    EXPECT_EQ((*ts)[0].events, 4);
    EXPECT_EQ((*ts)[0].last_seq, 4);
    EXPECT_EQ((*ts)[0].last_ts, 4000);
    EXPECT_EQ((*ts)[0].dead_letters, 1);
    EXPECT_EQ((*ts)[1].dead_letters, 0);
}

TEST_P(ops_groups_contract, rewind_redelivers_and_skip_ahead_skips) {
    publish("t", 1, 6);
    bus b(*store_);
    seq_log got;
    {
        auto sub = b.subscribe("t", "g", [&](auto batch, auto&) { got.add(batch); });
        ASSERT_TRUE(got.wait_for_seq(6));
    }
    auto r = ops::seek(*store_, "t", "g", {ops::seek_target::kind::seq, 2}, false);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->previous, 6);
    EXPECT_EQ(r->seq, 2);
    EXPECT_FALSE(r->revoked);
    got.clear();
    {
        auto sub = b.subscribe("t", "g", [&](auto batch, auto&) { got.add(batch); });
        ASSERT_TRUE(got.wait_for_seq(6));
        EXPECT_EQ(got.seqs(), (std::vector<std::int64_t>{3, 4, 5, 6}));
    }
    // Skip ahead by time: the first event with ts >= 5000 is seq 5.
    ASSERT_TRUE(store_->set_cursor("t", "g", seq_t{0}));
    r = ops::seek(*store_, "t", "g", {ops::seek_target::kind::ts, 5000}, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, 4);
    got.clear();
    {
        auto sub = b.subscribe("t", "g", [&](auto batch, auto&) { got.add(batch); });
        ASSERT_TRUE(got.wait_for_seq(6));
        EXPECT_EQ(got.seqs(), (std::vector<std::int64_t>{5, 6}));
    }
    r = ops::seek(*store_, "t", "g", {ops::seek_target::kind::earliest, 0}, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, 0);
    r = ops::seek(*store_, "t", "g", {ops::seek_target::kind::latest, 0}, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, 6);
    r = ops::seek(*store_, "t", "g", {ops::seek_target::kind::ts, 99'000}, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, 6);  // nothing that late: the end
}

TEST_P(ops_groups_contract, bad_seeks_change_nothing) {
    publish("t", 1, 3);
    ASSERT_TRUE(store_->set_cursor("t", "g", seq_t{1}));
    auto expect_code = [&](ops::seek_target t, std::string_view topic, std::string_view group,
                           errc code) {
        auto r = ops::seek(*store_, topic, group, t, false);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, code) << r.error().message;
        EXPECT_EQ(store_->cursor("t", "g")->value(), 1);
    };
    expect_code({ops::seek_target::kind::seq, 4}, "t", "g", errc::invalid_argument);
    expect_code({ops::seek_target::kind::seq, -1}, "t", "g", errc::invalid_argument);
    expect_code({ops::seek_target::kind::seq, 0}, "nope", "g", errc::not_found);
    expect_code({ops::seek_target::kind::seq, 0}, "t", "nope", errc::not_found);
    for (std::string_view body :
         {R"({})", R"({"seq":1,"ts":2})", R"({"seq":"1"})", R"({"to":"middle"})",
          R"({"seq":1,"force":1})", R"({"seq":1,"extra":true})", R"({"ts":"yesterday"})", "[1]"}) {
        auto req = ops::parse_seek_request(*parse_json(body));
        EXPECT_FALSE(req) << body;
    }
    auto ok = ops::parse_seek_request(*parse_json(R"({"ts":"1970-01-01T00:00:02Z","force":true})"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->target.value, 2000);
    EXPECT_TRUE(ok->force);
}

TEST_P(ops_groups_contract, an_active_group_refuses_a_seek_unless_forced) {
    publish("t", 1, 4);
    bus b(*store_);
    seq_log got;
    auto sub =
        b.subscribe("t", "g", [&](auto batch, auto&) { got.add(batch); }, {.lease_ttl = 600ms});
    ASSERT_TRUE(got.wait_for_seq(4));
    // The ack follows the handler: wait for it (an ack in flight when a forced seek lands may
    // still move the cursor forward; docs/operations.md).
    for (int i = 0; i < 500 && store_->cursor("t", "g")->value_or(seq_t{}) < 4; ++i) {
        store_->wait_for_change(store_->change_version(), 20ms);
    }
    auto refused = ops::seek(*store_, "t", "g", {ops::seek_target::kind::seq, 0}, false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::conflict);
    EXPECT_EQ(store_->cursor("t", "g")->value(), 4);
    auto removed = ops::remove_group(*store_, "t", "g");
    ASSERT_FALSE(removed);
    EXPECT_EQ(removed.error().code, errc::conflict);

    got.clear();
    auto forced = ops::seek(*store_, "t", "g", {ops::seek_target::kind::seq, 1}, true);
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_TRUE(forced->revoked);
    // The running subscriber loses its lease, takes it again once the seek's hold lapses,
    // re-reads the cursor and gets seq 2.. once more.
    ASSERT_TRUE(got.wait_for_seq(4, 15s));
    auto seqs = got.seqs();
    ASSERT_FALSE(seqs.empty());
    EXPECT_EQ(seqs.front(), 2);
}

// While a forced seek holds the group's lease for the revoked consumer's remaining time, no
// consumer holds the group: it is listed inactive and a seek needs no force; a removal waits
// for the pause, saying so (found from outside: it showed "active" held by "prom-seek:…",
// and a removal said "stop its consumer first").
TEST_P(ops_groups_contract, a_group_paused_by_a_forced_seek_is_not_active) {
    publish("t", 1, 4);
    ASSERT_TRUE(store_->set_cursor("t", "g", seq_t{4}));
    const auto lease = bus_internal::consumer_lease_name("t", "g");
    ASSERT_TRUE(store_->seize_lease(lease, "a-consumer", 30s));
    auto holder = [&]() -> std::optional<std::string> {
        auto gs = ops::list_groups(*store_, ts_ms{0});
        EXPECT_TRUE(gs);
        for (const auto& g : *gs) {
            if (g.group == "g") return g.holder;
        }
        return std::nullopt;
    };
    EXPECT_EQ(holder(), "a-consumer");
    auto forced = ops::seek(*store_, "t", "g", {ops::seek_target::kind::seq, 1}, true);
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_TRUE(forced->revoked);
    EXPECT_EQ(holder(), std::nullopt);
    auto again = ops::seek(*store_, "t", "g", {ops::seek_target::kind::seq, 2}, false);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->revoked);
    EXPECT_EQ(store_->cursor("t", "g")->value(), 2);
    auto removed = ops::remove_group(*store_, "t", "g");
    ASSERT_FALSE(removed);
    EXPECT_EQ(removed.error().code, errc::conflict);
    EXPECT_NE(removed.error().message.find("is paused by a forced seek for "), std::string::npos)
        << removed.error().message;
    // The pause still keeps the revoked consumer out until it lapses.
    EXPECT_FALSE(*store_->acquire_lease(lease, "a-consumer", 1s));
}

TEST_P(ops_groups_contract, an_inactive_group_can_be_removed) {
    publish("t", 1, 2);
    ASSERT_TRUE(store_->set_cursor("t", "old", seq_t{1}));
    ASSERT_TRUE(ops::remove_group(*store_, "t", "old"));
    EXPECT_FALSE(*store_->cursor("t", "old"));
    auto again = ops::remove_group(*store_, "t", "old");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, errc::not_found);
    auto gs = ops::list_groups(*store_, ts_ms{0});
    ASSERT_TRUE(gs);
    EXPECT_TRUE(gs->empty());
}

TEST_P(ops_groups_contract, list_cursors_and_leases_at_the_store) {
    publish("t", 1, 3);
    ASSERT_TRUE(store_->set_cursor("t", "g", seq_t{3}));
    ASSERT_TRUE(store_->set_cursor("u", "g", seq_t{0}));  // a topic with no events yet
    auto cs = store_->list_cursors();
    ASSERT_TRUE(cs);
    ASSERT_EQ(cs->size(), 2u);
    EXPECT_EQ((*cs)[0].topic_last_seq, 3);
    EXPECT_FALSE((*cs)[0].next_ts);
    EXPECT_EQ((*cs)[1].topic_last_seq, 0);
    ASSERT_TRUE(*store_->acquire_lease("consumer/x", "me", 5s));
    ASSERT_TRUE(*store_->acquire_lease("other", "me", 5s));
    auto ls = store_->list_leases("consumer/");
    ASSERT_TRUE(ls);
    ASSERT_EQ(ls->size(), 1u);
    EXPECT_EQ((*ls)[0].owner, "me");
    EXPECT_GT((*ls)[0].remaining, 3s);
    ASSERT_TRUE(store_->seize_lease("consumer/x", "op", 10s));
    EXPECT_FALSE(*store_->acquire_lease("consumer/x", "me", 5s));
    ls = store_->list_leases("consumer/x");
    ASSERT_TRUE(ls);
    EXPECT_EQ((*ls)[0].owner, "op");
}

INSTANTIATE_TEST_SUITE_P(backends, ops_groups_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
