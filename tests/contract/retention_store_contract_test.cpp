// The retention part of the store (store.hpp, docs/retention.md) on every backend: the
// topic horizon and the append rule it brings, deleting events, key horizons, erasing a key,
// topic sizes, and raise_horizon racing with appends.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "contract/snapshot_fixture.hpp"
#include "storage/row_codec.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class retention_store_contract : public test::snapshot_fixture {
  protected:
    static event_input input(std::string topic, std::string key, std::int64_t ts,
                             json::value payload, std::optional<std::string> id = {}) {
        event_input in;
        in.topic = std::move(topic);
        in.key = std::move(key);
        in.ts = ts_ms{ts};
        in.payload = std::move(payload);
        in.id = std::move(id);
        return in;
    }

    topic_info info(std::string_view topic) {
        auto t = store_->topic(topic);
        EXPECT_TRUE(t && *t) << (t ? "no topic" : t.error().message);
        return t && *t ? **t : topic_info{};
    }

    std::vector<std::int64_t> seqs(scan_query q) {
        auto r = store_->scan(q);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        std::vector<std::int64_t> out;
        if (r) {
            for (const auto& e : *r) out.push_back(e.seq.value);
        }
        return out;
    }

    std::vector<std::int64_t> all_seqs(std::string topic = "t") {
        return seqs({.topic = std::move(topic)});
    }

    // {key: seq} of latest_per_key.
    std::map<std::string, std::int64_t> latest(std::string_view topic = "t") {
        auto r = store_->latest_per_key(topic);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        std::map<std::string, std::int64_t> out;
        if (r) {
            for (const auto& e : *r) out[e.key] = e.seq.value;
        }
        return out;
    }

    std::size_t delete_events(std::vector<std::int64_t> which) {
        std::vector<seq_t> s;
        s.reserve(which.size());
        for (auto n : which) s.push_back(seq_t{n});
        auto txn = store_->begin();
        EXPECT_TRUE(txn);
        auto n = (*txn)->delete_events("t", s);
        EXPECT_TRUE(n) << (n ? "" : n.error().message);
        auto ok = (*txn)->commit();
        EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
        return n ? *n : 0;
    }

    void put_horizon(const key_horizon& h) {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->put_key_horizon("t", h));
        ASSERT_TRUE((*txn)->commit());
    }
};

// ---- the horizon and the append rule

TEST_P(retention_store_contract, a_new_topic_has_no_horizon) {
    append_one("t", "k", 100, 1);
    EXPECT_EQ(info("t").horizon, 0);
    auto all = store_->topics();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].horizon, 0);
}

TEST_P(retention_store_contract, raise_horizon_never_lowers_and_shows_in_topics) {
    append_one("t", "k", 100, 1);
    auto h = store_->raise_horizon("t", ts_ms{150});
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(*h, 150);
    h = store_->raise_horizon("t", ts_ms{120});
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, 150);
    EXPECT_EQ(info("t").horizon, 150);
    auto all = store_->topics();
    ASSERT_TRUE(all);
    EXPECT_EQ(all->at(0).horizon, 150);
    h = store_->raise_horizon("t", ts_ms{200});
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, 200);
}

TEST_P(retention_store_contract, raise_horizon_of_an_unknown_topic_is_not_found) {
    auto h = store_->raise_horizon("nope", ts_ms{10});
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, errc::not_found);
    auto t = store_->topic("nope");
    ASSERT_TRUE(t);
    EXPECT_FALSE(*t);  // nothing was created
}

TEST_P(retention_store_contract, an_event_below_the_horizon_fails_the_whole_batch) {
    auto first = append_one("t", "k", 100, 1, "old");
    ASSERT_TRUE(store_->raise_horizon("t", ts_ms{150}));
    std::vector<event_input> batch;
    batch.push_back(input("t", "k", 300, 2, "new"));
    batch.push_back(input("t", "k", 149, 3, "late"));
    auto r = store_->append(std::move(batch));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::gone);
    ASSERT_TRUE(r.error().horizon);
    EXPECT_EQ(*r.error().horizon, 150);
    EXPECT_NE(r.error().message.find("'t'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("149"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("150"), std::string::npos) << r.error().message;
    EXPECT_EQ(all_seqs(), std::vector<std::int64_t>{1});  // "new" was not appended either
    EXPECT_EQ(info("t").count, 1);
    EXPECT_EQ(info("t").last_seq, 1);

    // A duplicate of a stored event is still answered with the original, however old.
    std::vector<event_input> again;
    again.push_back(input("t", "k", 100, 1, "old"));
    again.push_back(input("t", "k", 150, 4, "at"));  // ts == horizon: accepted
    auto ok = store_->append(std::move(again));
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_TRUE((*ok)[0].duplicate);
    EXPECT_EQ((*ok)[0].seq, first.seq);
    EXPECT_FALSE((*ok)[1].duplicate);
    EXPECT_EQ((*ok)[1].seq, 2);
}

TEST_P(retention_store_contract, every_append_path_applies_the_horizon) {
    append_one("t", "k", 100, 1);
    ASSERT_TRUE(store_->raise_horizon("t", ts_ms{150}));
    // append_async (group commit)
    std::promise<result<std::vector<append_result>>> done;
    std::vector<event_input> batch;
    batch.push_back(input("t", "k", 10, 2));
    store_->append_async(std::move(batch), [&](result<std::vector<append_result>> r) {
        done.set_value(std::move(r));
    });
    auto r = done.get_future().get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::gone);
    // a conditional append
    std::vector<event_input> cond;
    cond.push_back(input("t", "k", 10, 3));
    cond[0].expect_key_seq = seq_t{1};
    r = store_->append(std::move(cond));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::gone);
    ASSERT_TRUE(r.error().horizon);
    EXPECT_EQ(*r.error().horizon, 150);
    // a transaction's append; the transaction goes on and commits its other work
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        std::vector<event_input> in;
        in.push_back(input("t", "k", 20, 4));
        auto a = (*txn)->append(std::move(in));
        ASSERT_FALSE(a);
        EXPECT_EQ(a.error().code, errc::gone);
        ASSERT_TRUE(a.error().horizon);
        EXPECT_EQ(*a.error().horizon, 150);
    }
    // another topic is not concerned
    append_one("u", "k", 10, 5);
    EXPECT_EQ(all_seqs(), std::vector<std::int64_t>{1});
    EXPECT_EQ(info("u").horizon, 0);
}

TEST_P(retention_store_contract, a_refused_batch_in_a_group_fails_alone) {
    append_one("t", "k", 100, 1);
    ASSERT_TRUE(store_->raise_horizon("t", ts_ms{150}));
    // Many concurrent publishers share group commits: only the batches below the horizon fail.
    constexpr int n = 40;
    std::vector<std::promise<result<std::vector<append_result>>>> done(n);
    for (int i = 0; i < n; ++i) {
        std::vector<event_input> batch;
        batch.push_back(input("t", "k", i % 2 == 0 ? 200 : 10, i));
        store_->append_async(std::move(batch), [&done, i](result<std::vector<append_result>> r) {
            done[static_cast<std::size_t>(i)].set_value(std::move(r));
        });
    }
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        auto r = done[static_cast<std::size_t>(i)].get_future().get();
        if (i % 2 == 0) {
            EXPECT_TRUE(r) << r.error().message;
            ok += r ? 1 : 0;
        } else {
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().code, errc::gone);
        }
    }
    EXPECT_EQ(info("t").count, 1 + ok);
}

// ---- delete_events

TEST_P(retention_store_contract, delete_events_keeps_latest_count_and_scans_right) {
    append_one("t", "a", 10, 1);                  // 1
    append_one("t", "b", 20, 2);                  // 2
    append_one("t", "a", 30, 3);                  // 3
    append_one("t", "a", 40, 4);                  // 4
    append_one("t", "c", 50, 5);                  // 5
    EXPECT_EQ(delete_events({4, 2, 99, 0}), 2u);  // seqs without an event are skipped
    auto t = info("t");
    EXPECT_EQ(t.count, 3);
    EXPECT_EQ(t.last_seq, 5);  // never lowered
    EXPECT_EQ(all_seqs(), (std::vector<std::int64_t>{1, 3, 5}));
    EXPECT_EQ(seqs({.topic = "t", .key = "a"}), (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(seqs({.topic = "t", .from_seq = seq_t{2}, .limit = 1}), std::vector<std::int64_t>{3});
    // a's latest event went: it points at a's greatest surviving seq; b lost its row
    EXPECT_EQ(latest(), (std::map<std::string, std::int64_t>{{"a", 3}, {"c", 5}}));
    auto by_time = store_->scan_key_by_time({.topic = "t", .key = "a", .to_ts = ts_ms{100}});
    ASSERT_TRUE(by_time);
    ASSERT_EQ(by_time->size(), 2u);
    EXPECT_EQ((*by_time)[1].seq, 3);
    // idempotent: deleting them again deletes nothing
    EXPECT_EQ(delete_events({2, 4}), 0u);
    EXPECT_EQ(info("t").count, 3);
    // seqs are not reused
    EXPECT_EQ(append_one("t", "b", 60, 6).seq, 6);
    EXPECT_EQ(latest()["b"], 6);
}

TEST_P(retention_store_contract, delete_events_of_a_whole_key_and_rollback) {
    append_one("t", "a", 10, 1);
    append_one("t", "b", 20, 2);
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        auto n = (*txn)->delete_events("t", {seq_t{1}, seq_t{2}});
        ASSERT_TRUE(n);
        EXPECT_EQ(*n, 2u);
        // no commit: rolled back
    }
    EXPECT_EQ(all_seqs(), (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(info("t").count, 2);
    EXPECT_EQ(delete_events({1}), 1u);
    EXPECT_EQ(latest(), (std::map<std::string, std::int64_t>{{"b", 2}}));
    EXPECT_EQ(delete_events({2}), 1u);
    EXPECT_TRUE(latest().empty());
    auto t = info("t");
    EXPECT_EQ(t.count, 0);
    EXPECT_EQ(t.last_seq, 2);
}

TEST_P(retention_store_contract, an_event_appended_and_deleted_in_one_transaction) {
    append_one("t", "a", 10, 1);
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    std::vector<event_input> in;
    in.push_back(input("t", "a", 20, 2));
    auto a = (*txn)->append(std::move(in));
    ASSERT_TRUE(a);
    ASSERT_EQ((*a)[0].seq, 2);
    auto n = (*txn)->delete_events("t", {seq_t{1}, seq_t{2}});
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 2u);
    ASSERT_TRUE((*txn)->commit());
    EXPECT_TRUE(all_seqs().empty());
    EXPECT_TRUE(latest().empty());
    EXPECT_EQ(info("t").count, 0);
    EXPECT_EQ(info("t").last_seq, 2);
}

TEST_P(retention_store_contract, a_cursor_behind_deleted_events_lags_from_the_first_survivor) {
    append_one("t", "a", 10, 1);
    append_one("t", "a", 20, 2);
    append_one("t", "a", 30, 3);
    ASSERT_TRUE(store_->set_cursor("t", "g", seq_t{1}));
    EXPECT_EQ(delete_events({2}), 1u);
    auto cs = store_->list_cursors();
    ASSERT_TRUE(cs) << cs.error().message;
    ASSERT_EQ(cs->size(), 1u);
    ASSERT_TRUE((*cs)[0].next_ts);
    EXPECT_EQ(*(*cs)[0].next_ts, 30);
    EXPECT_EQ((*cs)[0].topic_last_seq, 3);
}

// ---- key horizons

TEST_P(retention_store_contract, put_key_horizon_merges) {
    auto none = store_->find_key_horizon("t", "k");
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(*none);
    put_horizon({"k", ts_ms{50}, ts_ms{80}, seq_t{5}});
    auto h = store_->find_key_horizon("t", "k");
    ASSERT_TRUE(h && *h);
    EXPECT_EQ((*h)->key, "k");
    EXPECT_EQ((*h)->gone_from, 50);
    EXPECT_EQ((*h)->base_ts, 80);
    EXPECT_EQ((*h)->base_seq, 5);
    // gone_from goes down; a lower base does not replace the higher one
    put_horizon({"k", ts_ms{30}, ts_ms{70}, seq_t{9}});
    h = store_->find_key_horizon("t", "k");
    EXPECT_EQ((*h)->gone_from, 30);
    EXPECT_EQ((*h)->base_ts, 80);
    EXPECT_EQ((*h)->base_seq, 5);
    // the same base ts with a greater seq is a higher position; gone_from does not go up
    put_horizon({"k", ts_ms{60}, ts_ms{80}, seq_t{7}});
    h = store_->find_key_horizon("t", "k");
    EXPECT_EQ((*h)->gone_from, 30);
    EXPECT_EQ((*h)->base_ts, 80);
    EXPECT_EQ((*h)->base_seq, 7);
    put_horizon({"k", ts_ms{40}, ts_ms{90}, seq_t{2}});
    h = store_->find_key_horizon("t", "k");
    EXPECT_EQ((*h)->gone_from, 30);
    EXPECT_EQ((*h)->base_ts, 90);
    EXPECT_EQ((*h)->base_seq, 2);
    // another topic's key is another record
    auto other = store_->find_key_horizon("u", "k");
    ASSERT_TRUE(other);
    EXPECT_FALSE(*other);
}

TEST_P(retention_store_contract, key_horizons_lists_a_topics_keys_in_byte_order) {
    for (std::string k : {"b", "a", "B", "\xc3\xa9", ""}) {
        put_horizon({k, ts_ms{1}, ts_ms{2}, seq_t{3}});
    }
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->put_key_horizon("u", {"z", ts_ms{1}, ts_ms{2}, seq_t{3}}));
    ASSERT_TRUE((*txn)->commit());
    auto hs = store_->key_horizons("t");
    ASSERT_TRUE(hs) << hs.error().message;
    std::vector<std::string> keys;
    for (const auto& h : *hs) keys.push_back(h.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"", "B", "a", "b", "\xc3\xa9"}));
    auto none = store_->key_horizons("nope");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST_P(retention_store_contract, put_key_horizon_without_commit_changes_nothing) {
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->put_key_horizon("t", {"k", ts_ms{1}, ts_ms{2}, seq_t{3}}));
    }
    auto h = store_->find_key_horizon("t", "k");
    ASSERT_TRUE(h);
    EXPECT_FALSE(*h);
}

// ---- erase_key

class erase_key_contract : public retention_store_contract {
  protected:
    void SetUp() override {
        retention_store_contract::SetUp();
        append_one("t", "k", 10, json::object{{"secret", "one"}});  // 1
        append_one("t", "j", 15, json::object{{"other", 1}});       // 2
        append_one("t", "k", 20, json::object{{"secret", "two"}});  // 3
        append_one("t", "j", 25, json::object{{"other", 2}});       // 4
        append_one("t", "k", 30, json::object{{"secret", "three"}});
        append_one("u", "k", 10, json::object{{"other", "topic"}});
        for (std::string key : {"k", "j"}) {
            for (std::string reducer : {"merge", "replace"}) {
                put(key, reducer, 5, {{20, 3, 2, "{}"}, {25, 4, 2, "{}"}});
            }
            put_horizon({key, ts_ms{5}, ts_ms{6}, seq_t{1}});
        }
    }

    bool has_snapshot(std::string_view topic, std::string_view key, std::string_view reducer) {
        auto s = store_->snapshot_at_or_before(topic, key, reducer, ts_ms::max());
        EXPECT_TRUE(s);
        return s && *s;
    }
};

TEST_P(erase_key_contract, without_commit_nothing_changes) {
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        auto n = (*txn)->erase_key("t", "k");
        ASSERT_TRUE(n) << n.error().message;
        EXPECT_EQ(*n, 3u);
    }
    EXPECT_EQ(seqs({.topic = "t", .key = "k"}), (std::vector<std::int64_t>{1, 3, 5}));
    EXPECT_EQ(latest()["k"], 5);
    EXPECT_TRUE(has_snapshot("t", "k", "merge"));
    auto h = store_->find_key_horizon("t", "k");
    ASSERT_TRUE(h);
    EXPECT_TRUE(*h);
    EXPECT_EQ(info("t").count, 5);
}

TEST_P(erase_key_contract, deletes_every_trace_of_the_key_and_nothing_else) {
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    auto n = (*txn)->erase_key("t", "k");
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 3u);
    ASSERT_TRUE((*txn)->commit());

    EXPECT_EQ(all_seqs(), (std::vector<std::int64_t>{2, 4}));
    EXPECT_TRUE(seqs({.topic = "t", .key = "k"}).empty());
    auto by_time = store_->scan_key_by_time({.topic = "t", .key = "k", .to_ts = ts_ms::max()});
    ASSERT_TRUE(by_time);
    EXPECT_TRUE(by_time->empty());
    EXPECT_EQ(latest(), (std::map<std::string, std::int64_t>{{"j", 4}}));
    EXPECT_FALSE(has_snapshot("t", "k", "merge"));
    EXPECT_FALSE(has_snapshot("t", "k", "replace"));
    auto h = store_->find_key_horizon("t", "k");
    ASSERT_TRUE(h);
    EXPECT_FALSE(*h);
    auto t = info("t");
    EXPECT_EQ(t.count, 2);
    EXPECT_EQ(t.last_seq, 5);
    // the other key and the other topic's same key are untouched
    EXPECT_TRUE(has_snapshot("t", "j", "merge"));
    EXPECT_TRUE(has_snapshot("t", "j", "replace"));
    auto hj = store_->find_key_horizon("t", "j");
    ASSERT_TRUE(hj);
    EXPECT_TRUE(*hj);
    EXPECT_EQ(seqs({.topic = "u", .key = "k"}), std::vector<std::int64_t>{1});
    auto hs = store_->key_horizons("t");
    ASSERT_TRUE(hs);
    ASSERT_EQ(hs->size(), 1u);
    EXPECT_EQ((*hs)[0].key, "j");
    // erasing again: nothing left
    auto again = store_->begin();
    ASSERT_TRUE(again);
    auto zero = (*again)->erase_key("t", "k");
    ASSERT_TRUE(zero);
    EXPECT_EQ(*zero, 0u);
    ASSERT_TRUE((*again)->commit());
    // a new event of the key starts afresh, with a new seq
    EXPECT_EQ(append_one("t", "k", 40, 1).seq, 6);
    EXPECT_EQ(latest()["k"], 6);
}

TEST_P(erase_key_contract, a_marker_appended_after_the_erasure_in_the_same_transaction_stays) {
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->erase_key("t", "k"));
    std::vector<event_input> marker;
    marker.push_back(input("t", "k", 50, nullptr));
    marker[0].headers["prom-erased"] = "3";
    auto a = (*txn)->append(std::move(marker));
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE((*txn)->commit());
    EXPECT_EQ(seqs({.topic = "t", .key = "k"}), std::vector<std::int64_t>{6});
    EXPECT_EQ(latest()["k"], 6);
    EXPECT_EQ(info("t").count, 3);
}

// ---- topic sizes

TEST_P(retention_store_contract, topic_sizes_count_events_and_their_bytes) {
    append_one("b", "k1", 10, json::object{{"x", "a longer payload than the other"}});
    append_one("b", "k2", 10, 1);
    append_one("a", "key", 10, json::array{1, 2, 3});
    auto expected_bytes = [&](const std::string& topic) {
        auto evs = store_->scan({.topic = topic});
        std::int64_t bytes = 0;
        for (const auto& e : *evs) {
            bytes += static_cast<std::int64_t>(canonical_json(e.payload).size() +
                                               storage::encode_headers(e.headers).size() +
                                               e.id.size() + e.key.size());
        }
        return bytes;
    };
    auto sizes = store_->topic_sizes();
    ASSERT_TRUE(sizes) << sizes.error().message;
    ASSERT_EQ(sizes->size(), 2u);
    EXPECT_EQ((*sizes)[0].topic, "a");
    EXPECT_EQ((*sizes)[0].events, 1);
    EXPECT_EQ((*sizes)[0].bytes, expected_bytes("a"));
    EXPECT_EQ((*sizes)[1].topic, "b");
    EXPECT_EQ((*sizes)[1].events, 2);
    EXPECT_EQ((*sizes)[1].bytes, expected_bytes("b"));
    // deleting lowers both; a topic with no event left is listed with zeros
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->delete_events("a", {seq_t{1}}));
    ASSERT_TRUE((*txn)->delete_events("b", {seq_t{1}}));
    ASSERT_TRUE((*txn)->commit());
    sizes = store_->topic_sizes();
    ASSERT_TRUE(sizes);
    ASSERT_EQ(sizes->size(), 2u);
    EXPECT_EQ((*sizes)[0].events, 0);
    EXPECT_EQ((*sizes)[0].bytes, 0);
    EXPECT_EQ((*sizes)[1].events, 1);
    EXPECT_EQ((*sizes)[1].bytes, expected_bytes("b"));
    EXPECT_TRUE(store_->reclaim_space());
}

// ---- raise_horizon racing with appends

TEST_P(retention_store_contract, no_event_below_the_horizon_commits_once_raise_horizon_returned) {
    append_one("t", "k", 1, 0);
    constexpr std::int64_t horizon = 1'000'000;
    std::atomic<bool> raised{false};
    std::atomic<bool> stop{false};
    std::atomic<int> violations{0};
    std::atomic<int> accepted_old{0};
    std::atomic<int> refused_after{0};
    auto publisher = [&](int who) {
        for (int i = 0; !stop.load(); ++i) {
            const bool raised_before = raised.load();
            std::vector<event_input> batch;
            // Small ts (below the horizon to come), sometimes in a batch with a recent one.
            batch.push_back(input("t", "k" + std::to_string(i % 5), 10 + i, who));
            if (i % 3 == 0) batch.push_back(input("t", "k", horizon + i, who));
            auto r = store_->append(std::move(batch));
            if (r) {
                ++accepted_old;
                if (raised_before) ++violations;
            } else {
                EXPECT_EQ(r.error().code, errc::gone) << r.error().message;
                if (raised_before) ++refused_after;
            }
            if (raised_before && i > 0 && refused_after.load() > 20) return;
        }
    };
    std::thread a(publisher, 1), b(publisher, 2);
    ASSERT_TRUE(test::eventually([&] { return accepted_old.load() >= 10; }));
    auto h = store_->raise_horizon("t", ts_ms{horizon});
    raised = true;
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(*h, horizon);
    EXPECT_TRUE(test::eventually([&] { return refused_after.load() > 20; }));
    stop = true;
    a.join();
    b.join();
    EXPECT_EQ(violations.load(), 0);
    // What the store holds below the horizon is exactly what was accepted, all of it with
    // a seq below every event at or above the horizon appended after the raise.
    auto evs = store_->scan({.topic = "t"});
    ASSERT_TRUE(evs);
    std::int64_t old = 0;
    for (const auto& e : *evs) old += e.ts < horizon && e.seq > 1 ? 1 : 0;
    EXPECT_EQ(old, accepted_old.load());
}

// The same race across two stores on one database (two processes or nodes): the horizon is
// ordered with appends by the database's lock, not by anything in one process.
class retention_two_stores : public testing::TestWithParam<test::backend> {};

TEST_P(retention_two_stores, raise_horizon_on_one_store_holds_for_appends_on_the_other) {
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    auto a = test::open_or_die(url, {.durable = false});
    auto b = test::open_or_die(url, {.durable = false});
    ASSERT_TRUE(a->append({{.topic = "t", .key = "k", .ts = ts_ms{1}, .payload = 0}}));
    constexpr std::int64_t horizon = 1'000'000;
    std::atomic<bool> raised{false};
    std::atomic<int> accepted{0}, violations{0}, refused_after{0};
    std::thread publisher([&] {
        for (int i = 0; refused_after.load() < 20; ++i) {
            const bool raised_before = raised.load();
            auto r = b->append({{.topic = "t", .key = "k", .ts = ts_ms{10 + i}, .payload = i}});
            if (r) {
                ++accepted;
                if (raised_before) ++violations;
            } else {
                EXPECT_EQ(r.error().code, errc::gone) << r.error().message;
                if (raised_before) ++refused_after;
            }
        }
    });
    EXPECT_TRUE(test::eventually([&] { return accepted.load() >= 10; }));
    auto h = a->raise_horizon("t", ts_ms{horizon});
    raised = true;
    publisher.join();
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(violations.load(), 0);
    auto t = b->topic("t");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->horizon, horizon);
    EXPECT_EQ((*t)->count, 1 + accepted.load());
}

INSTANTIATE_TEST_SUITE_P(backends, retention_two_stores,
                         testing::ValuesIn(test::durable_backends()), test::backend_name);
INSTANTIATE_TEST_SUITE_P(backends, retention_store_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);
INSTANTIATE_TEST_SUITE_P(backends, erase_key_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
