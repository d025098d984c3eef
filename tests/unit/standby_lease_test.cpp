// A consumer without its group's lease (a standby: another node holds it, or a process that
// died still holds it until it expires) retries the lease on a timer, not on every commit:
// each retry is a write, and on PostgreSQL a write is a WAL flush, so a standby woken by every
// commit of the active node doubled the database's transactions (docs/benchmarks.md).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "bus/consumer_loop.hpp"
#include "bus/consumer_state.hpp"
#include "bus/delivery_pool.hpp"
#include "support/forwarding_store.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;
using bus_internal::consumer_config;
using bus_internal::consumer_loop;
using bus_internal::delivery_pool;

class lease_counting_store : public test::forwarding_store {
  public:
    using forwarding_store::forwarding_store;
    result<bool> acquire_lease(std::string_view name, std::string_view owner,
                               std::chrono::milliseconds ttl) override {
        ++attempts;
        return forwarding_store::acquire_lease(name, owner, ttl);
    }
    std::atomic<int> attempts{0};
};

consumer_config standby_of_t() {
    consumer_config c;
    c.topic = "t";
    c.group = "g";
    c.lease_ttl = 300ms;  // a retry every 100 ms (a third of it)
    return c;
}

// 50 commits over ~250 ms: a standby woken by each would try the lease ~50 times.
int lease_attempts_during_50_commits(lease_counting_store& s) {
    std::this_thread::sleep_for(150ms);  // the consumer has tried once and is waiting
    const int before = s.attempts.load();
    for (int i = 0; i < 50; ++i) {
        std::vector<event_input> one(1);
        one[0].topic = "t";
        one[0].payload = i;
        EXPECT_TRUE(s.append(std::move(one)));
        std::this_thread::sleep_for(5ms);
    }
    return s.attempts.load() - before;
}

struct held_elsewhere {
    std::unique_ptr<store> inner;
    std::unique_ptr<lease_counting_store> s;
    held_elsewhere() {
        auto opened = open_store("memory:");
        EXPECT_TRUE(opened);
        inner = std::move(*opened);
        s = std::make_unique<lease_counting_store>(*inner);
        auto got = inner->acquire_lease(bus_internal::consumer_lease_name("t", "g"),
                                        "the-active-node", 60s);
        EXPECT_TRUE(got && *got);
    }
};

TEST(standby_lease, a_consumer_loop_without_the_lease_retries_on_a_timer_not_per_commit) {
    held_elsewhere h;
    std::atomic<int> delivered{0};
    consumer_loop loop(*h.s, standby_of_t(), [&](const std::vector<event>& batch) {
        delivered += static_cast<int>(batch.size());
        return std::optional<seq_t>(batch.back().seq);
    });
    loop.start();
    const int attempts = lease_attempts_during_50_commits(*h.s);
    loop.stop();
    EXPECT_GE(attempts, 1);  // it does keep trying
    EXPECT_LE(attempts, 8);  // ~3 timer retries in ~300 ms, not ~50
    EXPECT_EQ(delivered.load(), 0);
}

TEST(standby_lease, a_pooled_consumer_without_the_lease_retries_on_a_timer_not_per_commit) {
    held_elsewhere h;
    std::atomic<int> delivered{0};
    {
        delivery_pool pool(*h.s, 1);
        auto c = pool.add(
            standby_of_t(),
            [&](std::vector<event> batch, delivery_pool::done_fn done) {
                delivered += static_cast<int>(batch.size());
                done(true);
            },
            [](seq_t last) { return std::optional<seq_t>(last); });
        const int attempts = lease_attempts_during_50_commits(*h.s);
        EXPECT_GE(attempts, 1);
        EXPECT_LE(attempts, 8);
        pool.close();
    }
    EXPECT_EQ(delivered.load(), 0);
}

}  // namespace
}  // namespace prom
