// Two nodes (two store instances, each with its own connections, listener and group commit)
// on one PostgreSQL schema, as two `prom serve` processes would be. Only for postgres: the
// suite has no instances when PROM_TEST_PG_URL is unset.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "prom/bus.hpp"
#include "prom/projector.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class pg_two_nodes : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        a_ = test::open_or_die(url_, {.durable = false});
        b_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(a_, nullptr);
        ASSERT_NE(b_, nullptr);
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> a_, b_;
};

TEST_P(pg_two_nodes, concurrent_appends_on_both_nodes_are_consumed_once_in_seq_order) {
    constexpr int per_thread = 300;
    constexpr int threads_per_node = 3;
    constexpr int total = 2 * threads_per_node * per_thread;

    std::mutex mu;
    std::condition_variable cv;
    std::vector<event> seen;
    bus consumer_bus(*b_);
    auto sub = consumer_bus.subscribe("t", "g",
                                      [&](std::span<const event> batch, subscription&) {
                                          std::lock_guard lock(mu);
                                          seen.insert(seen.end(), batch.begin(), batch.end());
                                          cv.notify_all();
                                      },
                                      {.batch_size = 50});

    std::vector<std::thread> writers;
    std::atomic<int> failures{0};
    for (int node = 0; node < 2; ++node) {
        for (int t = 0; t < threads_per_node; ++t) {
            writers.emplace_back([&, node, t] {
                store& s = node == 0 ? *a_ : *b_;
                for (int i = 0; i < per_thread; ++i) {
                    std::vector<event_input> one(1);
                    one[0].topic = "t";
                    one[0].id = "n" + std::to_string(node) + "-" + std::to_string(t) + "-" +
                                std::to_string(i);
                    one[0].payload = i;
                    if (!s.append(std::move(one))) failures++;
                }
            });
        }
    }
    for (auto& w : writers) w.join();
    EXPECT_EQ(failures.load(), 0);

    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return seen.size() >= total; }))
        << "consumed " << seen.size() << " of " << total;
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(total));  // no redelivery either
    std::map<std::string, int> ids;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        ASSERT_EQ(seen[i].seq, static_cast<seq_t>(i + 1)) << "delivery out of seq order";
        ids[seen[i].id] += 1;
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(total));
}

TEST_P(pg_two_nodes, the_same_ids_published_on_both_nodes_at_once_are_stored_once) {
    constexpr int n = 300;
    std::map<std::string, seq_t> got[2];
    std::vector<std::thread> ts;
    ts.reserve(2);
    for (int node = 0; node < 2; ++node) {
        ts.emplace_back([&, node] {
            store& s = node == 0 ? *a_ : *b_;
            for (int i = 0; i < n; i += 10) {
                std::vector<event_input> batch(10);
                for (int k = 0; k < 10; ++k) {
                    batch[static_cast<std::size_t>(k)].topic = "t";
                    batch[static_cast<std::size_t>(k)].id = "id-" + std::to_string(i + k);
                    batch[static_cast<std::size_t>(k)].payload = node;
                }
                auto r = s.append(std::move(batch));
                ASSERT_TRUE(r) << r.error().message;
                for (auto& res : *r) got[node][res.id] = res.seq;
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(got[0], got[1]);  // both were told the one stored seq of each id
    auto t = a_->topic("t");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->count, n);
    EXPECT_EQ((*t)->last_seq, n);
}

TEST_P(pg_two_nodes, a_commit_on_one_node_wakes_a_waiter_on_the_other_at_once) {
    for (int round = 0; round < 5; ++round) {
        auto v = b_->change_version();
        std::chrono::steady_clock::duration took{};
        std::thread waiter([&] {
            auto start = std::chrono::steady_clock::now();
            b_->wait_for_change(v, 10s);
            took = std::chrono::steady_clock::now() - start;
        });
        std::vector<event_input> one(1);
        one[0].topic = "t";
        one[0].payload = round;
        ASSERT_TRUE(a_->append(std::move(one)));
        waiter.join();
        EXPECT_NE(b_->change_version(), v);
        // A few ms on an idle machine; generous for a loaded CI runner.
        EXPECT_LT(took, 1s) << "round " << round;
    }
}

TEST_P(pg_two_nodes, increments_from_both_nodes_on_one_document_are_never_lost) {
    constexpr int per_thread = 50;
    std::vector<std::thread> ts;
    ts.reserve(4);
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&, t] {
            store& s = t % 2 ? *a_ : *b_;
            for (int i = 0; i < per_thread; ++i) {
                auto txn = s.begin();
                json::object inc{{"$inc", json::object{{"n", 1}}}};
                if (!txn || !(*txn)->update_one("c", "k", inc, true) || !(*txn)->commit()) {
                    failures++;
                }
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);
    auto d = a_->find_one("c", "k");
    ASSERT_TRUE(d && *d);
    auto body = parse_json((*d)->body);
    ASSERT_TRUE(body);
    EXPECT_EQ(body->at("n"), json::value(4 * per_thread));
}

TEST_P(pg_two_nodes, a_lease_has_one_owner_across_nodes_and_release_hands_it_over) {
    auto got_a = a_->acquire_lease("consumer/t/g", "node-a", 10s);
    ASSERT_TRUE(got_a && *got_a);
    auto got_b = b_->acquire_lease("consumer/t/g", "node-b", 10s);
    ASSERT_TRUE(got_b);
    EXPECT_FALSE(*got_b);
    auto v = b_->change_version();
    ASSERT_TRUE(a_->release_lease("consumer/t/g", "node-a"));
    b_->wait_for_change(v, 5s);  // the release wakes standbys on other nodes
    EXPECT_NE(b_->change_version(), v);
    got_b = b_->acquire_lease("consumer/t/g", "node-b", 10s);
    ASSERT_TRUE(got_b && *got_b);
}

TEST_P(pg_two_nodes, documents_and_etags_written_on_one_node_read_identically_on_the_other) {
    ASSERT_TRUE(a_->declare_index("procs", "pid"));
    ASSERT_TRUE(b_->declare_index("procs", "pid"));  // both nodes declaring is fine
    auto txn = a_->begin();
    ASSERT_TRUE(txn);
    auto w = (*txn)->update_one(
        "procs", "h:n:7", json::object{{"pid", 7}, {"name", "n"}, {"up", true}, {"_ts", 5}}, true);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*txn)->commit());
    auto r = b_->find_one("procs", "h:n:7");
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->body, w->body);
    EXPECT_EQ((*r)->etag, w->etag);
    auto hits = b_->find({.collection = "procs", .equals = {{"pid", "7"}, {"up", "true"}}});
    ASSERT_TRUE(hits);
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ(hits->front().key, "h:n:7");
    // "No limit" as SIZE_MAX is clamped, not sent as a negative LIMIT.
    auto all = b_->find({.collection = "procs", .limit = SIZE_MAX});
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(all->size(), 1u);
    auto evs = b_->scan({.topic = "none", .limit = SIZE_MAX});
    ASSERT_TRUE(evs) << evs.error().message;
}

TEST_P(pg_two_nodes, a_document_written_on_one_node_reaches_the_other_nodes_commit_listeners) {
    // What keeps every node's HTTP snapshot cache fresh: B hears of A's document writes.
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::pair<std::string, std::string>> heard_on_b, heard_on_a;
    b_->add_commit_listener([&](const std::vector<document>& docs) {
        std::lock_guard lock(mu);
        for (const auto& d : docs) heard_on_b.emplace_back(d.collection, d.key);
        cv.notify_all();
    });
    a_->add_commit_listener([&](const std::vector<document>& docs) {
        std::lock_guard lock(mu);
        for (const auto& d : docs) heard_on_a.emplace_back(d.collection, d.key);
    });
    {
        auto txn = a_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("processes", "h:svc:1",
                                       json::object{{"$set", json::object{{"x", 1}}}}, true));
        ASSERT_TRUE((*txn)->update_one("host_stats", "h",
                                       json::object{{"$inc", json::object{{"seen", 1}}}}, true));
        ASSERT_TRUE((*txn)->commit());
    }
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return heard_on_b.size() >= 2; }));
    std::sort(heard_on_b.begin(), heard_on_b.end());
    EXPECT_EQ(heard_on_b[0], (std::pair<std::string, std::string>{"host_stats", "h"}));
    EXPECT_EQ(heard_on_b[1], (std::pair<std::string, std::string>{"processes", "h:svc:1"}));
    // A heard its own commit once, from the commit itself, not again from the NOTIFY.
    EXPECT_EQ(heard_on_a.size(), 2u);
}

TEST_P(pg_two_nodes, an_append_on_one_node_tells_the_other_which_topic_grew) {
    // What wakes only the WebSocket subscribers of that topic on every node. The listener
    // owns what it writes to: a late notification may call it after this body returns.
    struct hearing {
        std::mutex mu;
        std::condition_variable cv;
        std::map<std::string, seq_t> heard_on_b;
        bool incomplete = false;
    };
    auto state = std::make_shared<hearing>();
    b_->add_append_listener([state](const appended_topics& a) {
        std::lock_guard lock(state->mu);
        state->incomplete |= !a.complete;
        for (const auto& t : a.tips) {
            state->heard_on_b[t.topic] = std::max(state->heard_on_b[t.topic], t.last_seq);
        }
        state->cv.notify_all();
    });
    std::mutex& mu = state->mu;
    std::condition_variable& cv = state->cv;
    std::map<std::string, seq_t>& heard_on_b = state->heard_on_b;
    bool& incomplete = state->incomplete;
    std::vector<event_input> batch(3);
    for (auto& in : batch) in.payload = 1;
    batch[0].topic = "t1";
    batch[1].topic = "t2";
    batch[2].topic = "t1";
    ASSERT_TRUE(a_->append(std::move(batch)));
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return heard_on_b.size() >= 2; }));
    EXPECT_EQ(heard_on_b, (std::map<std::string, seq_t>{{"t1", seq_t{2}}, {"t2", seq_t{1}}}));
    EXPECT_FALSE(incomplete);
}

TEST_P(pg_two_nodes, text_postgres_cannot_hold_is_refused_without_harming_other_publishers) {
    using namespace std::string_literals;
    std::vector<event_input> bad(1);
    bad[0].topic = "t";
    bad[0].key = "a\0b"s;
    std::vector<event_input> good(1);
    good[0].topic = "t";
    good[0].key = "a";
    std::thread other([&] { EXPECT_TRUE(a_->append(std::move(good))); });
    auto r = a_->append(std::move(bad));
    other.join();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    // A document may hold U+0000 in its values (its body is text); only the match column
    // (jsonb) leaves that field out.
    auto txn = a_->begin();
    ASSERT_TRUE(txn);
    auto w = (*txn)->update_one("c", "k", json::object{{"s", "a\0b"s}, {"n", 1}}, true);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*txn)->commit());
    auto by_n = b_->find({.collection = "c", .equals = {{"n", "1"}}});
    ASSERT_TRUE(by_n);
    ASSERT_EQ(by_n->size(), 1u);
    EXPECT_EQ(by_n->front().body, w->body);
    auto missing = a_->find_one("c", "x\0y"s);  // never silently cut at the NUL
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, errc::invalid_argument);
    auto t = b_->topic("t");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->count, 1);
}

// The projector's guard against a lease race: it reads its cursor inside its transaction
// and applies nothing if another consumer moved it. Across nodes that needs the second
// reader to wait for the first transaction and then see its cursor.
TEST_P(pg_two_nodes, a_transaction_reading_a_cursor_waits_for_one_that_moves_it) {
    for (bool row_exists : {true, false}) {
        const std::string group = row_exists ? "g1" : "g2";
        if (row_exists) {
            ASSERT_TRUE(a_->set_cursor("t", group, seq_t{3}));
        }
        auto first = a_->begin();
        ASSERT_TRUE(first);
        auto cur = (*first)->cursor("t", group);
        ASSERT_TRUE(cur);
        EXPECT_EQ(cur->value_or(seq_t{}), row_exists ? 3 : 0);

        std::atomic<bool> second_done{false};
        std::optional<seq_t> second_saw;
        std::thread second([&] {
            auto txn = b_->begin();
            ASSERT_TRUE(txn);
            auto c = (*txn)->cursor("t", group);
            ASSERT_TRUE(c);
            second_saw = *c;
            second_done = true;
        });
        std::this_thread::sleep_for(200ms);
        EXPECT_FALSE(second_done) << "the second reader did not wait (" << group << ")";
        ASSERT_TRUE((*first)->set_cursor("t", group, seq_t{10}));
        ASSERT_TRUE((*first)->commit());
        second.join();
        EXPECT_EQ(second_saw, std::optional<seq_t>(seq_t{10})) << group;
    }
}

// Both nodes run the same projector group with a lease shorter than some batches take, so
// the lease changes hands in the middle of batches and both nodes apply the same events
// at the same time. The cursor check inside the transaction must keep every effect single.
TEST_P(pg_two_nodes, one_projector_group_on_two_nodes_applies_every_event_exactly_once) {
    constexpr int total = 120;
    auto handler = [](const event& e, transaction& txn) -> status {
        if (e.payload.is_string()) std::this_thread::sleep_for(250ms);  // outlives the lease
        json::object inc{{"$inc", json::object{{"n", 1}}}};
        if (auto r = txn.update_one("counts", "c", inc, true); !r) {
            return std::unexpected(r.error());
        }
        return {};
    };
    projector_options o{
        .topic = "in", .group = "count", .handler = handler, .batch_size = 10, .lease_ttl = 150ms};
    auto pa = start_transactional_projector(*a_, o);
    auto pb = start_transactional_projector(*b_, o);
    std::thread pub_a([&] {
        for (int i = 0; i < total / 2; ++i) {
            std::vector<event_input> one(1);
            one[0].topic = "in";
            one[0].payload = i % 20 == 0 ? json::value("slow") : json::value(i);
            EXPECT_TRUE(a_->append(std::move(one)));
        }
    });
    for (int i = 0; i < total / 2; ++i) {
        std::vector<event_input> one(1);
        one[0].topic = "in";
        one[0].payload = i;
        EXPECT_TRUE(b_->append(std::move(one)));
    }
    pub_a.join();
    bool done = false;
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         !done && std::chrono::steady_clock::now() < deadline;) {
        auto c = a_->cursor("in", "count");
        done = c && *c && **c == total;
        if (!done) std::this_thread::sleep_for(20ms);
    }
    pa.reset();
    pb.reset();
    ASSERT_TRUE(done) << "the projectors did not reach the end of the topic";
    auto d = b_->find_one("counts", "c");
    ASSERT_TRUE(d && *d);
    EXPECT_NE((*d)->body.find("\"n\":" + std::to_string(total) + "}"), std::string::npos)
        << (*d)->body;
}

// PostgreSQL aborts a transaction when one statement fails, and a later COMMIT would
// quietly roll back; commit() must say so instead of reporting success.
TEST_P(pg_two_nodes, commit_after_a_failed_statement_reports_the_rollback) {
    auto txn = a_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->update_one("c", "a", json::object{{"n", 1}}, true));
    auto bad = (*txn)->find_one("c", "\xff");  // not UTF-8: the server refuses the statement
    ASSERT_FALSE(bad);
    auto ok = (*txn)->commit();
    ASSERT_FALSE(ok);
    EXPECT_NE(ok.error().message.find("rolled back"), std::string::npos) << ok.error().message;
    auto d = b_->find_one("c", "a");
    ASSERT_TRUE(d);
    EXPECT_FALSE(*d);

    // A document built in C++ with bytes that are not UTF-8 is refused before the server
    // sees it, so the transaction goes on.
    auto txn2 = a_->begin();
    ASSERT_TRUE(txn2);
    auto refused = (*txn2)->update_one("c", "b", json::object{{"s", "\xff"}}, true);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::invalid_argument);
    ASSERT_TRUE((*txn2)->update_one("c", "b", json::object{{"s", "fine"}}, true));
    ASSERT_TRUE((*txn2)->commit());
}

// Conditional append across nodes (docs/http-api.md, "Conditional append"): 8 writers,
// 4 on each node, race on one key each round expecting the seq they last read; the topic
// row lock that orders appends across nodes makes exactly one win per round.
TEST_P(pg_two_nodes, conditional_appends_on_both_nodes_let_one_writer_win_per_round) {
    constexpr int writers = 8;
    constexpr int rounds = 15;
    std::atomic<seq_t> latest{seq_t{}};
    std::atomic<int> wins{0}, conflicts{0}, other_errors{0};
    std::mutex mu;
    std::vector<seq_t> won;
    std::barrier sync(writers, [&]() noexcept {});
    std::vector<std::thread> threads;
    threads.reserve(writers);
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            store& s = w % 2 == 0 ? *a_ : *b_;
            for (int round = 0; round < rounds; ++round) {
                seq_t seen = latest.load();
                sync.arrive_and_wait();
                std::vector<event_input> one(1);
                one[0].topic = "race";
                one[0].key = "k";
                one[0].payload = w;
                one[0].expect_key_seq = seen;
                auto r = s.append(std::move(one));
                if (r) {
                    ++wins;
                    std::lock_guard lock(mu);
                    won.push_back(r->front().seq);
                    latest.store(r->front().seq);
                } else if (r.error().code == errc::conflict && r.error().key_seq) {
                    ++conflicts;
                } else {
                    ++other_errors;
                }
                sync.arrive_and_wait();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_EQ(wins.load(), rounds);
    EXPECT_EQ(conflicts.load(), rounds * (writers - 1));
    std::sort(won.begin(), won.end());
    ASSERT_EQ(won.size(), static_cast<std::size_t>(rounds));
    for (int i = 0; i < rounds; ++i) EXPECT_EQ(won[static_cast<std::size_t>(i)], i + 1);
}

INSTANTIATE_TEST_SUITE_P(backends, pg_two_nodes, testing::ValuesIn(test::postgres_backends()),
                         test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_two_nodes);

}  // namespace
}  // namespace prom
