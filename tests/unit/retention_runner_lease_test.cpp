// The background retention's lease (docs/retention.md, "Background and on demand"): the
// leader renews it between rounds, so it holds however long the interval; a leader that
// stops renewing (killed) holds the other nodes' rounds for the lease's life only.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "prom/store.hpp"
#include "retention/runner.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

// Whether another owner could take the lease now (a 1 ms lease, gone at once if taken).
bool lease_is_free(store& s) {
    auto got = s.acquire_lease(retention::runner_lease, "probe", 1ms);
    return got && *got;
}

TEST(retention_runner_lease, the_leader_renews_its_lease_while_it_sleeps_between_rounds) {
    auto opened = open_store("memory:");
    ASSERT_TRUE(opened) << opened.error().message;
    store& s = **opened;
    retention::runner leader(
        s, {.interval = 1h, .snapshots = false, .owner = "leader", .lease_ttl = 900ms});
    auto round = leader.run_round();
    ASSERT_TRUE(round) << round.error().message;
    ASSERT_TRUE(round->leader);
    leader.start();  // its next round is an hour away; the lease must not lapse meanwhile

    const auto until = std::chrono::steady_clock::now() + 3s;  // more than three leases
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_FALSE(lease_is_free(s)) << "the leader's lease lapsed between its rounds";
        std::this_thread::sleep_for(50ms);
    }
    leader.stop();  // releases it
    EXPECT_TRUE(lease_is_free(s));
}

TEST(retention_runner_lease, a_dead_leader_holds_the_rounds_for_the_lease_not_its_interval) {
    auto opened = open_store("memory:");
    ASSERT_TRUE(opened) << opened.error().message;
    store& s = **opened;
    // What a killed leader leaves: its last renewal, whatever its interval was.
    const retention::runner_options dead{.interval = 1h, .owner = "dead", .lease_ttl = 300ms};
    auto taken = s.acquire_lease(retention::runner_lease, dead.owner, dead.lease_ttl);
    ASSERT_TRUE(taken && *taken);

    retention::runner next(s, {.interval = 1h, .snapshots = false, .lease_ttl = 300ms});
    auto first = next.run_round();
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_FALSE(first->leader);
    std::this_thread::sleep_for(400ms);
    auto later = next.run_round();
    ASSERT_TRUE(later) << later.error().message;
    EXPECT_TRUE(later->leader) << "the dead leader's lease outlived its life";
}

}  // namespace
}  // namespace prom
