// A consumer may be destroyed from inside its own delivery (a handler that lets go of its
// subscription): the loop then ends on its own thread without touching the destroyed object
// (run under the asan/tsan presets to see a use after free), and releases the group's lease.
#include "bus/consumer_loop.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "prom/bus.hpp"
#include "prom/store.hpp"

namespace {

using namespace prom;
using namespace std::chrono_literals;

// A loop destroyed from its own thread finishes on that thread, detached; its store must
// outlive it, and nothing tells the test when that thread is gone. So these stores live to
// the end of the process (reachable from a static: not a leak to LeakSanitizer).
store& immortal_store_with_one_event() {
    static auto* stores = new std::vector<std::unique_ptr<store>>();
    auto s = open_store("memory:");
    EXPECT_TRUE(s.has_value());
    std::vector<event_input> one(1);
    one[0].topic = "t";
    one[0].payload = json::object{{"n", 1}};
    EXPECT_TRUE((*s)->append(std::move(one)).has_value());
    stores->push_back(std::move(*s));
    return *stores->back();
}

struct latch {
    std::mutex mu;
    std::condition_variable cv;
    int count = 0;
    void arrive() {
        {
            std::lock_guard lock(mu);
            ++count;
        }
        cv.notify_all();
    }
    bool wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, timeout, [&] { return count > 0; });
    }
};

// The lease of a loop that ended on its own thread is released as it exits; another owner
// then gets it at once (a lease left behind would only expire after lease_ttl, 60 s here).
bool lease_is_released(store& s, std::string_view name) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto got = s.acquire_lease(name, "someone-else", 60s);
        if (got && *got) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

TEST(consumer_loop, may_be_destroyed_from_inside_its_own_delivery) {
    store& s = immortal_store_with_one_event();
    latch delivered;
    std::unique_ptr<bus_internal::consumer_loop> loop;
    bus_internal::consumer_config config{.topic = "t", .group = "g", .lease_ttl = 60s};
    loop = std::make_unique<bus_internal::consumer_loop>(
        s, config, [&](const std::vector<event>& batch) -> std::optional<seq_t> {
            loop.reset();  // the owner lets go from the loop's own thread
            delivered.arrive();
            return batch.back().seq;
        });
    loop->start();
    ASSERT_TRUE(delivered.wait(10s));
    EXPECT_TRUE(lease_is_released(s, "consumer/t/g"));
    std::lock_guard lock(delivered.mu);
    EXPECT_EQ(delivered.count, 1);
}

TEST(bus, a_handler_may_drop_its_own_subscription) {
    store& s = immortal_store_with_one_event();
    bus b(s);
    latch handled;
    std::unique_ptr<subscription> sub;
    std::mutex sub_mu;  // the handler's thread and this one both touch `sub`
    {
        std::lock_guard lock(sub_mu);
        sub = b.subscribe(
            "t", "g",
            [&](std::span<const event>, subscription&) {
                // Destroying the subscription destroys this handler too: copy what it needs
                // out of its captures first, touch none of them after the reset.
                auto* owned = &sub;
                latch* done = &handled;
                std::lock_guard inner(sub_mu);
                owned->reset();
                done->arrive();
            },
            subscribe_options{.lease_ttl = 60s});
    }
    ASSERT_TRUE(handled.wait(10s));
    EXPECT_TRUE(lease_is_released(s, "consumer/t/g"));
    // Dropped before its ack: the event stays unacknowledged for the next subscriber.
    EXPECT_EQ(b.cursor("t", "g").value_or(seq_t{-1}), 0);
}

// The loop reads the next batch while it delivers a full one (consumer_state::read_ahead).
// Deliveries that take each batch whole get every event once, in order; a delivery that
// stops partway gets the rest next, not the batch read ahead after the end of this one.
std::unique_ptr<store> store_with_events(int n) {
    auto s = open_store("memory:");
    EXPECT_TRUE(s.has_value());
    std::vector<event_input> batch(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        batch[static_cast<std::size_t>(i)].topic = "t";
        batch[static_cast<std::size_t>(i)].payload = json::object{{"n", i}};
    }
    EXPECT_TRUE((*s)->append(std::move(batch)).has_value());
    return std::move(*s);
}

// Runs a loop over `s` until `until` seqs were delivered; returns the seqs in delivery order.
// `reach` says how far each delivery gets (the last seq it processed).
std::vector<seq_t> delivered_seqs(
    store& s, std::size_t until,
    const std::function<seq_t(const std::vector<event>&, int call)>& reach) {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<seq_t> seen;
    int calls = 0;
    bus_internal::consumer_config config{.topic = "t", .group = "g", .batch_size = 10};
    bus_internal::consumer_loop loop(s, config,
                                     [&](const std::vector<event>& batch) -> std::optional<seq_t> {
                                         std::lock_guard lock(mu);
                                         seq_t last = reach(batch, calls++);
                                         for (const auto& e : batch) {
                                             if (e.seq <= last) seen.push_back(e.seq);
                                         }
                                         cv.notify_all();
                                         return last;
                                     });
    loop.start();
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return seen.size() >= until; }));
    lock.unlock();
    loop.stop();
    return seen;
}

TEST(consumer_loop, full_batches_read_ahead_deliver_every_event_once_in_order) {
    auto s = store_with_events(95);
    auto seen =
        delivered_seqs(*s, 95, [](const std::vector<event>& b, int) { return b.back().seq; });
    ASSERT_EQ(seen.size(), 95u);
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], seq_t{std::int64_t(i) + 1});
}

TEST(consumer_loop, a_delivery_that_stops_partway_gets_the_rest_not_the_batch_read_ahead) {
    auto s = store_with_events(40);
    // Every other delivery takes only the first half of its batch.
    auto seen = delivered_seqs(*s, 40, [](const std::vector<event>& b, int call) {
        return call % 2 == 0 ? b[b.size() / 2 - 1].seq : b.back().seq;
    });
    ASSERT_EQ(seen.size(), 40u);
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], seq_t{std::int64_t(i) + 1});
}

}  // namespace
