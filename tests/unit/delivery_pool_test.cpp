// The delivery pool wakes a parked subscriber only when a commit grows its own topic (the
// store's append listeners say which topics grew), and a notification that never arrives
// delays a delivery, never loses it (the periodic full check).
#include "bus/delivery_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "support/forwarding_store.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;
using bus_internal::consumer_config;
using bus_internal::delivery_pool;

// Counts the scans of each topic: a scan is a subscriber reading its topic.
class counting_store : public test::forwarding_store {
  public:
    using forwarding_store::forwarding_store;
    result<std::vector<event>> scan(const scan_query& q) override {
        {
            std::lock_guard lock(mu);
            ++scans[q.topic];
        }
        return forwarding_store::scan(q);
    }
    std::size_t scans_of(const std::string& topic) {
        std::lock_guard lock(mu);
        return scans[topic];
    }
    std::mutex mu;
    std::map<std::string, std::size_t> scans;
};

// Never hears which topics grew: as if every notification were lost.
class deaf_store : public test::forwarding_store {
  public:
    using forwarding_store::forwarding_store;
    void add_append_listener(append_listener) override {}
};

void append_to(store& s, const std::string& topic) {
    std::vector<event_input> one(1);
    one[0].topic = topic;
    one[0].payload = 1;
    ASSERT_TRUE(s.append(std::move(one)));
}

struct received {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t events = 0;

    delivery_pool::deliver_fn deliver() {
        return [this](std::vector<event> batch, delivery_pool::done_fn done) {
            {
                std::lock_guard lock(mu);
                events += batch.size();
            }
            cv.notify_all();
            done(true);
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, timeout, [&] { return events >= n; });
    }
};

consumer_config ephemeral_on(const std::string& topic) {
    consumer_config c;
    c.topic = topic;
    c.group = "g";
    c.ephemeral = true;
    return c;
}

delivery_pool::settle_fn settle_all() {
    return [](seq_t last) { return std::optional<seq_t>(last); };
}

TEST(delivery_pool, an_append_wakes_the_subscribers_of_its_topic_and_no_other) {
    auto inner = open_store("memory:");
    ASSERT_TRUE(inner);
    counting_store s(**inner);
    received hot, idle;
    {
        delivery_pool pool(s, 2);
        std::vector<std::shared_ptr<delivery_pool::consumer>> consumers;
        consumers.reserve(51);
        for (int i = 0; i < 50; ++i) {
            consumers.push_back(
                pool.add(ephemeral_on("idle." + std::to_string(i)), idle.deliver(), settle_all()));
        }
        consumers.push_back(pool.add(ephemeral_on("hot"), hot.deliver(), settle_all()));
        // Every consumer has read its topic once and parked.
        for (int i = 0; i < 200 && s.scans_of("idle.49") == 0; ++i)
            std::this_thread::sleep_for(5ms);
        std::this_thread::sleep_for(50ms);
        std::size_t idle_scans = 0;
        for (int i = 0; i < 50; ++i) idle_scans += s.scans_of("idle." + std::to_string(i));
        EXPECT_EQ(idle_scans, 50u);

        for (int i = 0; i < 20; ++i) append_to(s, "hot");
        ASSERT_TRUE(hot.wait_for(20, 5s));
        std::size_t idle_scans_after = 0;
        for (int i = 0; i < 50; ++i) idle_scans_after += s.scans_of("idle." + std::to_string(i));
        EXPECT_EQ(idle_scans_after, idle_scans);  // 20 commits woke none of them
        EXPECT_EQ(idle.events, 0u);

        append_to(s, "idle.7");
        ASSERT_TRUE(idle.wait_for(1, 5s));
        pool.close();
    }
}

TEST(delivery_pool, a_lost_notification_delays_a_delivery_and_never_loses_it) {
    auto inner = open_store("memory:");
    ASSERT_TRUE(inner);
    deaf_store s(**inner);
    received r;
    delivery_pool pool(s, 1);
    auto c = pool.add(ephemeral_on("t"), r.deliver(), settle_all());
    std::this_thread::sleep_for(50ms);  // parked
    append_to(s, "t");
    EXPECT_TRUE(r.wait_for(1, delivery_pool::full_check_interval * 3));
    pool.close();
}

// A batch handed over and written later (done() called by write()), as a WebSocket frame
// queued behind others or a slow client is; what was settled, in order.
struct held_delivery {
    std::mutex mu;
    std::condition_variable cv;
    delivery_pool::done_fn pending;
    std::vector<seq_t> settled;

    delivery_pool::deliver_fn deliver() {
        return [this](std::vector<event>, delivery_pool::done_fn done) {
            std::lock_guard lock(mu);
            pending = std::move(done);  // written later, as a frame behind a slow client is
            cv.notify_all();
        };
    }
    delivery_pool::settle_fn settle() {
        return [this](seq_t last) {
            std::lock_guard lock(mu);
            settled.push_back(last);
            cv.notify_all();
            return std::optional<seq_t>(last);
        };
    }
    bool wait_pending() {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 5s, [&] { return pending != nullptr; });
    }
    void write() {
        delivery_pool::done_fn done;
        {
            std::lock_guard lock(mu);
            done = std::move(pending);
        }
        done(true);
    }
};

// A consumer stopped while its batch is on its way (a WebSocket frame queued, not yet
// written) settles the batch once it is delivered, before `stopped` runs: an `unsubscribe`
// right after a batch must not leave it unacknowledged, to be delivered again (found from
// outside: seqs 526-530 twice after a clean unsubscribe).
TEST(delivery_pool, a_stop_waits_for_the_batch_in_flight_and_settles_it) {
    auto inner = open_store("memory:");
    ASSERT_TRUE(inner);
    for (int i = 0; i < 5; ++i) append_to(**inner, "t");
    delivery_pool pool(**inner, 1);
    held_delivery d;
    consumer_config c = ephemeral_on("t");
    c.batch_size = 5;
    auto consumer = pool.add(c, d.deliver(), d.settle());
    ASSERT_TRUE(d.wait_pending());
    bool stopped = false;
    consumer->stop([&] {
        std::lock_guard lock(d.mu);
        stopped = true;
        d.cv.notify_all();
    });
    std::this_thread::sleep_for(50ms);
    {
        std::lock_guard lock(d.mu);
        EXPECT_FALSE(stopped) << "stopped before the batch in flight came back";
    }
    d.write();
    std::unique_lock lock(d.mu);
    ASSERT_TRUE(d.cv.wait_for(lock, 5s, [&] { return stopped; }));
    ASSERT_EQ(d.settled.size(), 1u);
    EXPECT_EQ(d.settled[0], seq_t{5});
    lock.unlock();
    pool.close();
}

consumer_config group_on(const std::string& topic, std::chrono::milliseconds lease_ttl) {
    consumer_config c;
    c.topic = topic;
    c.group = "g";
    c.lease_ttl = lease_ttl;
    return c;
}

// A group consumer whose batch waits for a slow client (a frame behind a full socket) keeps
// the group's lease meanwhile, and the batch is settled once written. Before, the lease was
// renewed only between batches: it lapsed after its time, another node's consumer took the
// group and got the same events while this one still delivered them (found from outside:
// PostgreSQL, two nodes, a client that stopped reading).
TEST(delivery_pool, a_batch_waiting_for_a_slow_client_keeps_the_groups_lease) {
    auto inner = open_store("memory:");
    ASSERT_TRUE(inner);
    for (int i = 0; i < 3; ++i) append_to(**inner, "t");
    delivery_pool pool(**inner, 1);
    held_delivery d;
    auto consumer = pool.add(group_on("t", 300ms), d.deliver(), d.settle());
    ASSERT_TRUE(d.wait_pending());
    std::this_thread::sleep_for(1s);  // three lease times without a written frame
    const auto name = bus_internal::consumer_lease_name("t", "g");
    auto other = (*inner)->acquire_lease(name, "another-node", 300ms);
    ASSERT_TRUE(other);
    EXPECT_FALSE(*other) << "the lease lapsed while the batch waited for its client";
    EXPECT_TRUE(consumer->active());
    d.write();
    {
        std::unique_lock lock(d.mu);
        ASSERT_TRUE(d.cv.wait_for(lock, 5s, [&] { return !d.settled.empty(); }));
        EXPECT_EQ(d.settled[0], seq_t{3});
    }
    pool.close();
}

// A consumer whose lease passed on while its batch waited (an operator revoked it here; a
// process paused longer than the lease does the same) neither settles that batch nor passes
// an ack made outside the pool: the cursor is the new holder's.
TEST(delivery_pool, a_batch_whose_lease_passed_on_is_not_settled_nor_acked) {
    auto inner = open_store("memory:");
    ASSERT_TRUE(inner);
    for (int i = 0; i < 3; ++i) append_to(**inner, "t");
    delivery_pool pool(**inner, 1);
    held_delivery d;
    auto consumer = pool.add(group_on("t", 300ms), d.deliver(), d.settle());
    ASSERT_TRUE(d.wait_pending());
    const auto name = bus_internal::consumer_lease_name("t", "g");
    ASSERT_TRUE((*inner)->seize_lease(name, "operator", 60s));
    // The next renewal (a third of the lease's time) finds it gone.
    for (int i = 0; i < 200 && consumer->active(); ++i) std::this_thread::sleep_for(5ms);
    EXPECT_FALSE(consumer->active());
    auto held = consumer->confirm_lease();
    ASSERT_TRUE(held);
    EXPECT_FALSE(*held);
    d.write();
    std::this_thread::sleep_for(200ms);
    {
        std::lock_guard lock(d.mu);
        EXPECT_TRUE(d.settled.empty()) << "settled a batch whose lease passed to another consumer";
    }
    pool.close();
}

}  // namespace
}  // namespace prom
