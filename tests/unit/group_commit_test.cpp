// The one group commit of the SQLite and PostgreSQL backends (storage/group_commit.hpp),
// driven with a write function of the test's own: what is queued while the writer writes
// forms the next group, every request is answered exactly once, bad batches never reach
// the writer, and destruction writes what is still queued.
#include "storage/group_commit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace prom::storage {
namespace {

std::vector<event_input> one_event(const std::string& key) {
    event_input e;
    e.topic = "t";
    e.key = key;
    e.payload = json::object{{"k", key}};
    std::vector<event_input> v;
    v.push_back(std::move(e));
    return v;
}

// Answers each event with seq = how many events it has written so far, and records the
// sizes of the groups it was given. The first group waits until the test lets it go.
struct recording_writer {
    std::mutex mu;
    std::vector<std::size_t> group_sizes;
    seq_t next{};
    std::promise<void> first_may_finish;
    std::shared_future<void> gate = first_may_finish.get_future().share();
    std::promise<void> first_started;

    void write(std::vector<group_commit::request>& group) {
        bool first = false;
        {
            std::lock_guard lock(mu);
            first = group_sizes.empty();
            group_sizes.push_back(group.size());
        }
        if (first) {
            first_started.set_value();
            gate.wait();
        }
        for (auto& r : group) {
            std::vector<append_result> out;
            out.reserve(r.batch.size());
            for (auto& in : r.batch) out.push_back({*in.id, ++next, *in.ts, false});
            r.out = std::move(out);
        }
    }
};

TEST(group_commit, requests_queued_while_the_writer_writes_share_the_next_group) {
    recording_writer w;
    std::atomic<int> answered{0};
    std::vector<seq_t> seqs(11);
    {
        group_commit gc([&](std::vector<group_commit::request>& g) { w.write(g); });
        gc.submit(one_event("first"), [&](result<std::vector<append_result>> r) {
            ASSERT_TRUE(r);
            seqs[0] = (*r)[0].seq;
            ++answered;
        });
        w.first_started.get_future().wait();  // the writer now holds the first group
        for (int i = 1; i <= 10; ++i) {
            gc.submit(one_event("k" + std::to_string(i)),
                      [&, i](result<std::vector<append_result>> r) {
                          ASSERT_TRUE(r);
                          seqs[static_cast<std::size_t>(i)] = (*r)[0].seq;
                          ++answered;
                      });
        }
        w.first_may_finish.set_value();
        // Destruction writes what is queued before the writer stops.
    }
    EXPECT_EQ(answered.load(), 11);
    ASSERT_EQ(w.group_sizes.size(), 2u);
    EXPECT_EQ(w.group_sizes[0], 1u);
    EXPECT_EQ(w.group_sizes[1], 10u);
    for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<seq_t>(i + 1));
}

TEST(group_commit, its_statistics_count_each_written_group_once_and_every_event_of_it) {
    recording_writer w;
    std::atomic<int> answered{0};
    {
        group_commit gc([&](std::vector<group_commit::request>& g) { w.write(g); });
        EXPECT_EQ(gc.stats().duration.count(), 0u);
        auto count = [&](result<std::vector<append_result>> r) {
            ASSERT_TRUE(r);
            ++answered;
        };
        gc.submit(one_event("first"), count);
        w.first_started.get_future().wait();  // the writer holds the first group
        auto two = one_event("a");
        two.push_back(std::move(one_event("b")[0]));
        gc.submit(std::move(two), count);  // these two requests, three events,
        gc.submit(one_event("c"), count);  // queue up as the second group
        auto bad = one_event("d");
        bad[0].topic = "";  // refused before the queue: no group, no event
        gc.submit(std::move(bad), [](result<std::vector<append_result>> r) { EXPECT_FALSE(r); });
        w.first_may_finish.set_value();
        // Returns once its group is written: with the two queued requests or after them.
        ASSERT_TRUE(gc.append(one_event("e")));
        std::lock_guard lock(w.mu);
        EXPECT_GE(w.group_sizes.size(), 2u);
        EXPECT_EQ(gc.stats().duration.count(), w.group_sizes.size());
        EXPECT_EQ(gc.stats().events.load(), 5u);
    }
    EXPECT_EQ(answered.load(), 3);  // the writer, joined, ran every callback
}

TEST(group_commit, a_bad_batch_is_answered_on_the_calling_thread_and_never_written) {
    recording_writer w;
    w.first_may_finish.set_value();
    group_commit gc([&](std::vector<group_commit::request>& g) { w.write(g); });
    std::thread::id answered_on;
    std::optional<error> got;
    auto bad = one_event("k");
    bad[0].topic = "";  // no topic: refused by prepare_inputs
    gc.submit(std::move(bad), [&](result<std::vector<append_result>> r) {
        answered_on = std::this_thread::get_id();
        ASSERT_FALSE(r);
        got = r.error();
    });
    EXPECT_EQ(answered_on, std::this_thread::get_id());
    ASSERT_TRUE(got);
    EXPECT_EQ(got->code, errc::invalid_argument);
    auto empty = gc.append({});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().code, errc::invalid_argument);
    std::lock_guard lock(w.mu);
    EXPECT_TRUE(w.group_sizes.empty());
}

TEST(group_commit, the_blocking_append_returns_what_the_writer_wrote_with_ids_and_times_filled) {
    recording_writer w;
    w.first_may_finish.set_value();
    group_commit gc([&](std::vector<group_commit::request>& g) { w.write(g); });
    auto batch = one_event("a");
    auto more = one_event("b");
    batch.push_back(std::move(more[0]));
    batch[1].id = "given-id";
    auto r = gc.append(std::move(batch));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 2u);
    EXPECT_FALSE((*r)[0].id.empty());  // a UUIDv7 was made for it
    EXPECT_EQ((*r)[1].id, "given-id");
    EXPECT_EQ((*r)[0].seq, 1);
    EXPECT_EQ((*r)[1].seq, 2);
    EXPECT_GT((*r)[0].ts, 0);
}

TEST(group_commit, a_failed_group_fails_each_of_its_requests_with_the_writers_error) {
    group_commit gc([](std::vector<group_commit::request>& g) {
        for (auto& r : g) r.out = fail(errc::unavailable, "the database is away");
    });
    std::vector<std::future<result<std::vector<append_result>>>> answers;
    std::vector<std::thread> callers;
    for (int i = 0; i < 8; ++i) {
        std::packaged_task<result<std::vector<append_result>>()> task(
            [&gc, i] { return gc.append(one_event("k" + std::to_string(i))); });
        answers.push_back(task.get_future());
        callers.emplace_back(std::move(task));
    }
    for (auto& t : callers) t.join();
    for (auto& a : answers) {
        auto r = a.get();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::unavailable);
    }
}

// The wake tree (group_commit.hpp): the writer wakes one blocked caller, which wakes the
// next ones. Every caller must still get its own answer, once, in groups of every size,
// beside callers that do not block.
TEST(group_commit, blocked_callers_of_one_group_each_get_their_own_answer) {
    recording_writer w;
    w.first_may_finish.set_value();
    group_commit gc([&](std::vector<group_commit::request>& g) { w.write(g); });
    constexpr int threads = 64;
    constexpr int rounds = 50;
    std::atomic<int> wrong{0};
    std::atomic<int> called_back{0};
    std::vector<std::thread> callers;
    callers.reserve(threads);
    for (int t = 0; t < threads; ++t) {
        callers.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                auto batch = one_event("k");
                std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
                batch[0].id = id;
                if (i % 5 == 0) {  // now and then one that does not block
                    gc.submit(one_event("cb"), [&](result<std::vector<append_result>> r) {
                        if (r) ++called_back;
                    });
                }
                auto r = gc.append(std::move(batch));
                if (!r || r->size() != 1 || (*r)[0].id != id) ++wrong;
            }
        });
    }
    for (auto& c : callers) c.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(called_back.load(), threads * rounds / 5);
    std::lock_guard lock(w.mu);
    EXPECT_EQ(w.next, seq_t{threads * rounds + threads * rounds / 5});
    // Groups of more than one request formed, so the tree was walked, not only its root.
    ASSERT_FALSE(w.group_sizes.empty());
    EXPECT_GT(*std::max_element(w.group_sizes.begin(), w.group_sizes.end()), 1u);
}

}  // namespace
}  // namespace prom::storage
