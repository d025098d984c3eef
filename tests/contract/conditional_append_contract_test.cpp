// Conditional append (event_input::expect_key_seq; docs/http-api.md, "Conditional append"):
// every backend checks the expectation inside its append transaction.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/test_support.hpp"

namespace prom {
namespace {

event_input keyed(std::string topic, std::string key, int n,
                  std::optional<std::int64_t> expect = {}) {
    event_input in;
    in.topic = std::move(topic);
    in.key = std::move(key);
    in.payload = n;
    if (expect) in.expect_key_seq = seq_t{*expect};
    return in;
}

class conditional_append_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    result<std::vector<append_result>> append(std::vector<event_input> batch) {
        return store_->append(std::move(batch));
    }
    result<std::vector<append_result>> append(event_input in) {
        std::vector<event_input> b;
        b.push_back(std::move(in));
        return append(std::move(b));
    }
    std::int64_t count(std::string_view topic) {
        auto t = store_->topic(topic);
        return t && *t ? (*t)->count : 0;
    }

    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

TEST_P(conditional_append_contract, zero_means_the_key_has_no_event_yet) {
    auto first = append(keyed("t", "k", 1, 0));
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->front().seq, 1);
    auto second = append(keyed("t", "k", 2, 0));
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, errc::conflict);
    ASSERT_TRUE(second.error().key_seq);
    EXPECT_EQ(*second.error().key_seq, 1);
    EXPECT_EQ(count("t"), 1);
}

// A key whose every event retention dropped is at its base seq, as time travel reports it,
// not at 0 (a read-modify-write client got 409 "at seq 0" for the seq /at gave it, and an
// expectation of 0 went through). Found from outside.
TEST_P(conditional_append_contract, a_key_retention_emptied_is_at_its_base_seq) {
    ASSERT_TRUE(append(keyed("acct", "x", 10)));
    ASSERT_TRUE(append(keyed("acct", "y", 5)));
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        auto gone = (*txn)->delete_events("acct", {seq_t{1}});
        ASSERT_TRUE(gone) << gone.error().message;
        ASSERT_TRUE((*txn)->put_key_horizon(
            "acct",
            {.key = "x", .gone_from = ts_ms{1}, .base_ts = ts_ms{1}, .base_seq = seq_t{1}}));
        ASSERT_TRUE((*txn)->commit());
    }
    auto stale = append(keyed("acct", "x", 11, 0));
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, errc::conflict);
    ASSERT_TRUE(stale.error().key_seq);
    EXPECT_EQ(*stale.error().key_seq, 1);
    auto next = append(keyed("acct", "x", 11, 1));
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->front().seq, 3);
}

// Keyless events belong to no key: there is no "key seq" to expect.
TEST_P(conditional_append_contract, an_expectation_needs_a_key) {
    ASSERT_TRUE(append(keyed("t", "", 1)));
    auto r = append(keyed("t", "", 2, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(count("t"), 1);
}

TEST_P(conditional_append_contract, the_expected_seq_is_the_keys_latest_not_the_topics) {
    ASSERT_TRUE(append(keyed("t", "a", 1)));  // seq 1
    ASSERT_TRUE(append(keyed("t", "b", 2)));  // seq 2
    auto wrong = append(keyed("t", "a", 3, 2));
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().key_seq, std::optional<std::int64_t>(1));
    auto right = append(keyed("t", "a", 3, 1));
    ASSERT_TRUE(right) << right.error().message;
    EXPECT_EQ(right->front().seq, 3);
    // Another topic's key of the same name is another key.
    auto other = append(keyed("u", "a", 1, 0));
    ASSERT_TRUE(other) << other.error().message;
}

TEST_P(conditional_append_contract, a_refused_batch_appends_nothing) {
    ASSERT_TRUE(append(keyed("t", "k", 1)));
    std::vector<event_input> batch;
    batch.push_back(keyed("t", "other", 1));
    batch.push_back(keyed("u", "x", 1));
    batch.push_back(keyed("t", "k", 2, 7));  // wrong: k is at 1
    auto r = append(std::move(batch));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().key_seq, std::optional<std::int64_t>(1));
    EXPECT_EQ(count("t"), 1);
    EXPECT_EQ(count("u"), 0);
    // The log goes on gapless after the refusal.
    auto next = append(keyed("t", "k", 3, 1));
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(next->front().seq, 2);
}

TEST_P(conditional_append_contract, later_events_of_a_batch_see_the_earlier_ones) {
    std::vector<event_input> batch;
    batch.push_back(keyed("t", "k", 1, 0));
    batch.push_back(keyed("t", "k", 2));     // no expectation: moves k to 2
    batch.push_back(keyed("t", "k", 3, 2));  // so this one expects 2
    auto r = append(std::move(batch));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->back().seq, 3);

    std::vector<event_input> stale;
    stale.push_back(keyed("t", "k", 4, 3));
    stale.push_back(keyed("t", "k", 5, 3));  // k is at 4 by then
    auto s = append(std::move(stale));
    ASSERT_FALSE(s);
    // Nothing was appended, so k is still at 3: the seq a client retries from (4 was the
    // first event's inside the refused batch, and goes to whatever is appended next).
    EXPECT_EQ(s.error().key_seq, std::optional<std::int64_t>(3));
    EXPECT_NE(s.error().message.find("would have taken it to 4"), std::string::npos)
        << s.error().message;
    EXPECT_EQ(count("t"), 3);
}

TEST_P(conditional_append_contract, a_retried_duplicate_is_answered_as_a_duplicate) {
    auto in = keyed("t", "k", 1, 0);
    in.id = "once";
    auto first = append(in);
    ASSERT_TRUE(first) << first.error().message;
    auto again = append(in);  // the same id: an idempotent retry, not a conflict
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(again->front().duplicate);
    EXPECT_EQ(again->front().seq, first->front().seq);
}

TEST_P(conditional_append_contract, inside_a_transaction_a_refusal_leaves_the_rest) {
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->append({keyed("t", "k", 1)}));
    auto refused = (*txn)->append({keyed("t", "k", 2, 0)});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().key_seq, std::optional<std::int64_t>(1));
    ASSERT_TRUE((*txn)->append({keyed("t", "k", 3, 1)}));
    ASSERT_TRUE((*txn)->commit());
    auto evs = store_->scan({.topic = "t"});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 2u);
    EXPECT_EQ((*evs)[1].payload, json::value(3));
}

// 8 writers race on one key, round after round, each expecting the seq it last read:
// exactly one wins each round, the others see a conflict naming the winner's seq, and the
// key's accepted seqs have no gap.
// An append queued right behind another of the same key, as a group commit often writes
// them in one transaction: expecting the key to have no event fails with the seq of the
// append ahead of it. A topic each, so that each pair meets a topic the store has not yet
// looked up a key's latest seq in.
TEST_P(conditional_append_contract, a_conditional_append_sees_the_append_queued_ahead_of_it) {
    constexpr int pairs = 200;
    std::vector<std::optional<result<std::vector<append_result>>>> plain(pairs), cond(pairs);
    std::mutex mu;
    std::condition_variable cv;
    int answered = 0;
    auto answer = [&](std::optional<result<std::vector<append_result>>>& slot) {
        return [&](result<std::vector<append_result>> r) {
            std::lock_guard lock(mu);
            slot = std::move(r);
            ++answered;
            cv.notify_all();
        };
    };
    for (int i = 0; i < pairs; ++i) {
        const std::string topic = "pair" + std::to_string(i);
        std::vector<event_input> first, second;
        first.push_back(keyed(topic, "k", 1));
        second.push_back(keyed(topic, "k", 2, 0));
        store_->append_async(std::move(first), answer(plain[i]));
        store_->append_async(std::move(second), answer(cond[i]));
    }
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return answered == 2 * pairs; }));
    for (int i = 0; i < pairs; ++i) {
        ASSERT_TRUE(*plain[i]) << i << ": " << (*plain[i]).error().message;
        ASSERT_FALSE(*cond[i]) << "pair " << i
                               << " took a conditional append behind its key's event";
        EXPECT_EQ((*cond[i]).error().code, errc::conflict);
        ASSERT_TRUE((*cond[i]).error().key_seq);
        EXPECT_EQ(*(*cond[i]).error().key_seq, (*plain[i])->front().seq);
    }
}

TEST_P(conditional_append_contract, eight_racing_writers_one_winner_per_round) {
    constexpr int writers = 8;
    constexpr int rounds = 25;
    std::atomic<seq_t> latest{seq_t{}};
    std::atomic<int> wins{0}, conflicts{0}, other_errors{0};
    std::vector<std::vector<seq_t>> won(writers);
    std::barrier sync(writers, [&]() noexcept {});
    std::vector<std::thread> threads;
    threads.reserve(writers);
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            for (int round = 0; round < rounds; ++round) {
                seq_t seen = latest.load();
                sync.arrive_and_wait();  // everyone has read the same seq
                auto r = append(keyed("race", "k", w, seen.value));
                if (r) {
                    ++wins;
                    won[w].push_back(r->front().seq);
                    latest.store(r->front().seq);
                } else if (r.error().code == errc::conflict && r.error().key_seq) {
                    ++conflicts;
                } else {
                    ++other_errors;
                }
                sync.arrive_and_wait();  // the round is over before anyone reads again
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_EQ(wins.load(), rounds);
    EXPECT_EQ(conflicts.load(), rounds * (writers - 1));
    std::vector<seq_t> all;
    for (auto& v : won) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), static_cast<std::size_t>(rounds));
    for (int i = 0; i < rounds; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i + 1);
    EXPECT_EQ(count("race"), rounds);
}

INSTANTIATE_TEST_SUITE_P(backends, conditional_append_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
