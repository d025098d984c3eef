// The bus contract: consumer groups, cursors, from, at-least-once, one active consumer.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "bus/consumer_state.hpp"
#include "prom/bus.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

// Collects delivered seqs; tests wait on it instead of sleeping.
class recorder {
  public:
    void add(std::span<const event> batch) {
        {
            std::lock_guard lock(mu_);
            for (auto& e : batch) seqs_.push_back(e.seq);
            batches_.push_back(batch.size());
        }
        cv_.notify_all();
    }
    bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return seqs_.size() >= n; });
    }
    std::vector<seq_t> seqs() {
        std::lock_guard lock(mu_);
        return seqs_;
    }
    std::vector<std::size_t> batches() {
        std::lock_guard lock(mu_);
        return batches_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<seq_t> seqs_;
    std::vector<std::size_t> batches_;
};

class bus_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
        bus_ = std::make_unique<bus>(*store_);
    }

    void publish(int n, std::string topic = "t") {
        std::vector<event_input> batch(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            batch[static_cast<std::size_t>(i)].topic = topic;
            batch[static_cast<std::size_t>(i)].payload = i;
        }
        ASSERT_TRUE(bus_->publish_batch(std::move(batch)));
    }

    static std::vector<seq_t> range(std::int64_t from, std::int64_t to) {
        std::vector<seq_t> v;
        for (seq_t s{from}; s <= to; ++s) v.push_back(s);
        return v;
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
    std::unique_ptr<bus> bus_;
};

TEST_P(bus_contract, earliest_delivers_everything_in_seq_order_in_bounded_batches) {
    publish(25);
    recorder r;
    auto sub = bus_->subscribe("t", "g", [&](auto batch, auto&) { r.add(batch); },
                               {.from = start_from::earliest, .batch_size = 10});
    ASSERT_TRUE(r.wait_for_count(25));
    EXPECT_EQ(r.seqs(), range(1, 25));
    for (auto n : r.batches()) EXPECT_LE(n, 10u);
    sub.reset();
    EXPECT_EQ(bus_->cursor("t", "g").value(), 25);
}

TEST_P(bus_contract, new_events_wake_an_idle_subscriber) {
    recorder r;
    auto sub = bus_->subscribe("t", "g", [&](auto batch, auto&) { r.add(batch); });
    publish(1);
    ASSERT_TRUE(r.wait_for_count(1));
    publish(2);
    ASSERT_TRUE(r.wait_for_count(3));
    EXPECT_EQ(r.seqs(), range(1, 3));
}

TEST_P(bus_contract, latest_skips_the_past_only_when_the_group_has_no_cursor) {
    publish(5);
    recorder r;
    auto sub = bus_->subscribe("t", "g", [&](auto batch, auto&) { r.add(batch); },
                               {.from = start_from::latest});
    // The group's starting point is recorded once it is active.
    for (int i = 0; i < 500 && !bus_->storage().cursor("t", "g").value(); ++i) {
        std::this_thread::sleep_for(10ms);
    }
    publish(2);
    ASSERT_TRUE(r.wait_for_count(2));
    EXPECT_EQ(r.seqs(), range(6, 7));
    sub.reset();

    // An existing cursor wins over `from`.
    publish(1);
    recorder again;
    auto sub2 = bus_->subscribe("t", "g", [&](auto batch, auto&) { again.add(batch); },
                                {.from = start_from::earliest});
    ASSERT_TRUE(again.wait_for_count(1));
    EXPECT_EQ(again.seqs(), range(8, 8));
}

TEST_P(bus_contract, unacked_events_are_redelivered_after_a_crash) {
    publish(3);
    recorder first;
    {
        auto sub = bus_->subscribe("t", "g", [&](auto batch, auto&) { first.add(batch); },
                                   {.manual_ack = true});
        ASSERT_TRUE(first.wait_for_count(3));
        // "crash": gone without acking
    }
    EXPECT_EQ(bus_->cursor("t", "g").value(), 0);
    recorder second;
    auto sub = bus_->subscribe("t", "g",
                               [&](auto batch, subscription& s) {
                                   second.add(batch);
                                   ASSERT_TRUE(s.ack(batch.back().seq));
                               },
                               {.manual_ack = true});
    ASSERT_TRUE(second.wait_for_count(3));
    EXPECT_EQ(second.seqs(), range(1, 3));
    sub.reset();
    EXPECT_EQ(bus_->cursor("t", "g").value(), 3);
}

// A subscriber whose lease was taken while it held a batch (an operator's forced seek; a
// process paused past its lease the same) may not acknowledge it: the cursor belongs to
// whoever holds the lease now. Before, the ack read a flag refreshed only at the next renewal.
TEST_P(bus_contract, an_ack_after_the_lease_was_taken_is_refused) {
    publish(3);
    std::mutex mu;
    std::condition_variable cv;
    subscription* got = nullptr;
    auto sub = bus_->subscribe("t", "g",
                               [&](auto, subscription& s) {
                                   std::lock_guard lock(mu);
                                   got = &s;
                                   cv.notify_all();
                               },
                               {.manual_ack = true});
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return got != nullptr; }));
    }
    ASSERT_TRUE(store_->seize_lease(bus_internal::consumer_lease_name("t", "g"), "operator", 30s));
    auto refused = sub->ack(seq_t{3});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::conflict);
    EXPECT_EQ(bus_->cursor("t", "g").value(), 0);
}

TEST_P(bus_contract, a_throwing_handler_gets_the_same_batch_again) {
    publish(2);
    recorder r;
    std::atomic<int> calls{0};
    auto sub = bus_->subscribe("t", "g",
                               [&](auto batch, auto&) {
                                   if (calls++ == 0) throw std::runtime_error("flaky");
                                   r.add(batch);
                               },
                               {.retry_backoff = 10ms});
    ASSERT_TRUE(r.wait_for_count(2));
    EXPECT_EQ(r.seqs(), range(1, 2));
}

TEST_P(bus_contract, ack_never_moves_a_cursor_backwards) {
    publish(5);
    ASSERT_TRUE(bus_->ack("t", "g", seq_t{4}));
    ASSERT_TRUE(bus_->ack("t", "g", seq_t{2}));
    EXPECT_EQ(bus_->cursor("t", "g").value(), 4);
    EXPECT_EQ(bus_->cursor("t", "unknown-group").value(), 0);
}

TEST_P(bus_contract, one_group_has_one_active_consumer_and_fails_over) {
    publish(50);
    std::atomic<int> inside{0}, max_inside{0};
    recorder all;
    auto handler = [&](std::span<const event> batch, subscription&) {
        int now = ++inside;
        int prev = max_inside.load();
        while (now > prev && !max_inside.compare_exchange_weak(prev, now)) {
        }
        std::this_thread::sleep_for(1ms);
        all.add(batch);
        --inside;
    };
    subscribe_options o{.batch_size = 5, .lease_ttl = 600ms};
    auto a = bus_->subscribe("t", "g", handler, o);
    auto b = bus_->subscribe("t", "g", handler, o);
    ASSERT_TRUE(all.wait_for_count(50));
    EXPECT_EQ(max_inside.load(), 1);
    EXPECT_EQ(all.seqs(), range(1, 50));
    EXPECT_NE(a->active(), b->active());

    // The active one stops; the standby takes over from the durable cursor.
    auto& active = a->active() ? a : b;
    active.reset();
    publish(10);
    ASSERT_TRUE(all.wait_for_count(60));
    EXPECT_EQ(all.seqs(), range(1, 60));
    EXPECT_EQ(max_inside.load(), 1);
}

TEST_P(bus_contract, different_groups_each_get_every_event) {
    publish(4);
    recorder x, y;
    auto a = bus_->subscribe("t", "gx", [&](auto batch, auto&) { x.add(batch); });
    auto b = bus_->subscribe("t", "gy", [&](auto batch, auto&) { y.add(batch); });
    ASSERT_TRUE(x.wait_for_count(4));
    ASSERT_TRUE(y.wait_for_count(4));
    EXPECT_EQ(x.seqs(), y.seqs());
}

// `prom tail --url` without --group: watching a topic must leave nothing behind.
TEST_P(bus_contract, an_ephemeral_subscription_stores_no_cursor_and_takes_no_lease) {
    publish(3);
    recorder a, b;
    auto sub_a = bus_->subscribe("t", "", [&](auto batch, auto&) { a.add(batch); },
                                 {.from = start_from::earliest, .ephemeral = true});
    auto sub_b = bus_->subscribe("t", "", [&](auto batch, auto&) { b.add(batch); },
                                 {.from = start_from::earliest, .ephemeral = true});
    // No lease: both receive every event, at once.
    ASSERT_TRUE(a.wait_for_count(3));
    ASSERT_TRUE(b.wait_for_count(3));
    EXPECT_EQ(a.seqs(), range(1, 3));
    EXPECT_EQ(b.seqs(), range(1, 3));
    EXPECT_TRUE(sub_a->ack(seq_t{3}));  // accepted, and stores nothing
    sub_a.reset();
    sub_b.reset();
    EXPECT_FALSE(store_->cursor("t", "").value());

    // Nothing remembered: `latest` starts at the end each time, `earliest` at the start.
    recorder late;
    auto sub_late = bus_->subscribe("t", "", [&](auto batch, auto&) { late.add(batch); },
                                    {.from = start_from::latest, .ephemeral = true});
    for (int i = 0; i < 500 && !sub_late->active(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(sub_late->active());
    publish(1);
    ASSERT_TRUE(late.wait_for_count(1));
    EXPECT_EQ(late.seqs(), range(4, 4));
    recorder again;
    auto sub_again =
        bus_->subscribe("t", "", [&](auto batch, auto&) { again.add(batch); }, {.ephemeral = true});
    ASSERT_TRUE(again.wait_for_count(4));
    EXPECT_EQ(again.seqs(), range(1, 4));
    sub_late.reset();
    sub_again.reset();
    EXPECT_FALSE(store_->cursor("t", "").value());
}

INSTANTIATE_TEST_SUITE_P(backends, bus_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
