// The store's time-travel snapshot methods and append rule (store.hpp), on every backend.
#include <gtest/gtest.h>

#include "contract/snapshot_fixture.hpp"
#include "prom/timetravel.hpp"
#include "retention/retention.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class snapshot_store_contract : public test::snapshot_fixture {};

// ---- the store's snapshot methods

TEST_P(snapshot_store_contract, snapshot_at_or_before_picks_the_greatest_position_not_after_t) {
    append_one("t", "k", 10, 1);
    EXPECT_EQ(
        put("k", "r", 1, {{10, 1, 1, "1"}, {20, 3, 2, "2"}, {20, 5, 3, "3"}, {30, 6, 4, "4"}}), 4u);
    EXPECT_FALSE(snap_at("k", "r", 9));
    EXPECT_EQ(snap_at("k", "r", 10)->state, "1");
    EXPECT_EQ(snap_at("k", "r", 29)->state, "3");
    auto last = snap_at("k", "r", 1000);
    ASSERT_TRUE(last);
    EXPECT_EQ(last->ts, 30);
    EXPECT_EQ(last->seq, 6);
    EXPECT_EQ(last->count, 4);
    EXPECT_FALSE(snap_at("k", "other", 1000));
    EXPECT_FALSE(snap_at("other", "r", 1000));
}

TEST_P(snapshot_store_contract, put_snapshots_replaces_the_same_position) {
    append_one("t", "k", 10, 1);
    put("k", "r", 1, {{10, 1, 1, "\"old\""}});
    put("k", "r", 1, {{10, 1, 1, "\"new\""}});
    EXPECT_EQ(snap_at("k", "r", 10)->state, "\"new\"");
}

TEST_P(snapshot_store_contract, a_late_event_drops_later_snapshots_of_every_reducer_of_its_key) {
    append_one("t", "k", 10, 1);
    put("k", "a", 1, {{10, 1, 1, "1"}, {20, 2, 2, "2"}});
    put("k", "b", 1, {{20, 2, 2, "2"}});
    put("j", "a", 1, {{20, 2, 2, "2"}});
    append_one("t", "k", 10, 2);  // ts 10: drops k's snapshots with ts > 10, every reducer
    EXPECT_EQ(snap_at("k", "a", 100)->ts, 10);
    EXPECT_FALSE(snap_at("k", "b", 100));
    EXPECT_EQ(snap_at("j", "a", 100)->ts, 20);  // another key keeps its snapshots
    append_one("t", "k", 0, 3);  // the earliest time there is: drops all of k's snapshots
    EXPECT_FALSE(snap_at("k", "a", 100));
}

TEST_P(snapshot_store_contract, a_late_append_drops_the_snapshots_it_sorts_before) {
    append_one("t", "k", 10, 1);
    append_one("t", "k", 30, 2);
    put("k", "r", 2, {{10, 1, 1, "1"}, {30, 2, 2, "2"}});
    put("j", "r", 2, {{30, 2, 2, "2"}});
    append_one("t", "k", 30, 3);  // same ts as a snapshot: sorts after it (higher seq)
    EXPECT_EQ(snap_at("k", "r", 100)->ts, 30);
    append_one("u", "k", 5, 3);  // another topic
    EXPECT_EQ(snap_at("k", "r", 100)->ts, 30);
    append_one("t", "k", 29, 4);  // late
    EXPECT_EQ(snap_at("k", "r", 100)->ts, 10);
    EXPECT_EQ(snap_at("j", "r", 100)->ts, 30);  // another key
}

TEST_P(snapshot_store_contract, a_late_append_in_a_transaction_drops_snapshots_too) {
    append_one("t", "k", 30, 1);
    put("k", "r", 1, {{30, 1, 1, "1"}});
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    std::vector<event_input> batch(1);
    batch[0].topic = "t";
    batch[0].key = "k";
    batch[0].ts = ts_ms{20};
    batch[0].payload = 2;
    ASSERT_TRUE((*txn)->append(std::move(batch)));
    ASSERT_TRUE((*txn)->commit());
    EXPECT_FALSE(snap_at("k", "r", 100));
}

TEST_P(snapshot_store_contract, put_snapshots_skips_those_a_racing_late_append_made_stale) {
    append_one("t", "k", 10, 1);
    append_one("t", "k", 30, 2);
    std::int64_t known = 2;          // the fold began here...
    append_one("t", "k", 20, 3);     // ...a late event arrived meanwhile...
    append_one("t", "other", 1, 3);  // (another key's events do not matter)
    // ...so the fold's snapshot at ts 30 misses it; the one at ts 10 is still right.
    EXPECT_EQ(put("k", "r", known, {{10, 1, 1, "1"}, {30, 2, 2, "2"}}), 1u);
    EXPECT_EQ(snap_at("k", "r", 100)->ts, 10);
    // A fold that began after the late event is fine.
    EXPECT_EQ(put("k", "r", 4, {{30, 2, 3, "3"}}), 1u);
}

// A fold that read a key before it was erased stores none of its states: the erasure's
// marker came after the fold's known_seq (a time-travel query racing `prom erase` wrote the
// erased payload back into the snapshots; found from outside).
TEST_P(snapshot_store_contract, put_snapshots_stores_nothing_a_racing_erasure_took) {
    append_one("t", "k", 10, json::object{{"secret", "PII"}});
    append_one("t", "k", 20, json::object{{"secret", "PII2"}});
    append_one("t", "j", 20, 1);
    const std::int64_t known = 3;  // the fold began here and read both of k's events...
    auto erased = retention::erase(*store_, "t", "k");  // ...which an erasure then took
    ASSERT_TRUE(erased) << erased.error().message;
    EXPECT_EQ(put("k", "merge", known,
                  {{10, 1, 1, R"({"secret":"PII"})"}, {20, 2, 2, R"({"secret":"PII2"})"}}),
              0u);
    EXPECT_FALSE(snap_at("k", "merge", 1'000'000'000'000));
    EXPECT_EQ(put("j", "merge", known, {{20, 3, 1, "1"}}), 1u);  // another key is not affected
    // A fold that began after the erasure may store what it read (the marker's state).
    EXPECT_EQ(put("k", "merge", erased->marker_seq.value, {{30, 4, 1, "null"}}), 1u);
}

// ---- transaction::put_snapshots: what retention passes use (docs/retention.md)

std::vector<state_snapshot> snaps_of(std::int64_t ts, std::int64_t seq, std::string state) {
    return {state_snapshot{ts_ms{ts}, seq_t{seq}, 1, std::move(state)}};
}

TEST_P(snapshot_store_contract, a_transaction_stores_snapshots_on_commit_and_not_on_rollback) {
    append_one("t", "k", 10, 1);
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        auto n = (*txn)->put_snapshots("t", "k", "r", seq_t{1}, snaps_of(10, 1, "\"gone\""));
        ASSERT_TRUE(n) << n.error().message;
        EXPECT_EQ(*n, 1u);
    }  // rolled back
    EXPECT_FALSE(snap_at("k", "r", 100));
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    auto n = (*txn)->put_snapshots("t", "k", "r", seq_t{1}, snaps_of(10, 1, "\"kept\""));
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 1u);
    // In the same transaction as deleting the events it covers, as a pass does.
    auto deleted = (*txn)->delete_events("t", {seq_t{1}});
    ASSERT_TRUE(deleted) << deleted.error().message;
    ASSERT_TRUE((*txn)->commit());
    EXPECT_EQ(snap_at("k", "r", 100)->state, "\"kept\"");
}

TEST_P(snapshot_store_contract, a_transaction_skips_snapshots_a_late_append_made_stale) {
    append_one("t", "k", 10, 1);
    append_one("t", "k", 30, 2);
    append_one("t", "k", 20, 3);  // late, after a fold that began at seq 2
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    std::vector<state_snapshot> snaps{{ts_ms{10}, seq_t{1}, 1, "1"}, {ts_ms{30}, seq_t{2}, 2, "2"}};
    auto n = (*txn)->put_snapshots("t", "k", "r", seq_t{2}, snaps);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 1u);
    ASSERT_TRUE((*txn)->commit());
    EXPECT_EQ(snap_at("k", "r", 100)->ts, 10);
}

TEST_P(snapshot_store_contract, a_transaction_sees_its_own_late_append) {
    append_one("t", "k", 30, 1);
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    std::vector<event_input> batch(1);
    batch[0] = {.topic = "t", .key = "k", .ts = ts_ms{20}, .payload = 2};
    ASSERT_TRUE((*txn)->append(std::move(batch)));
    auto n = (*txn)->put_snapshots("t", "k", "r", seq_t{1}, snaps_of(30, 1, "1"));
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 0u);
    ASSERT_TRUE((*txn)->commit());
    EXPECT_FALSE(snap_at("k", "r", 100));
}

INSTANTIATE_TEST_SUITE_P(backends, snapshot_store_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
