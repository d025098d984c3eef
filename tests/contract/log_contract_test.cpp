// The event log contract: every backend must pass these unchanged.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/test_support.hpp"

namespace prom {
namespace {

class log_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
    }

    append_result append_one(std::string topic, std::string key, json::value payload,
                             std::optional<std::string> id = {},
                             std::optional<std::int64_t> ts = {}) {
        std::vector<event_input> batch(1);
        batch[0].topic = std::move(topic);
        batch[0].key = std::move(key);
        batch[0].payload = std::move(payload);
        batch[0].id = std::move(id);
        if (ts) batch[0].ts = ts_ms{*ts};
        auto r = store_->append(std::move(batch));
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? r->front() : append_result{};
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
};

TEST_P(log_contract, append_assigns_gapless_seq_from_one_per_topic) {
    EXPECT_EQ(append_one("a", "k", 1).seq, 1);
    EXPECT_EQ(append_one("a", "k", 2).seq, 2);
    EXPECT_EQ(append_one("b", "k", 3).seq, 1);
    EXPECT_EQ(append_one("a", "k", 4).seq, 3);
}

TEST_P(log_contract, append_generates_time_ordered_ids_and_server_ts) {
    auto before = now_ms();
    auto r1 = append_one("a", "k", 1);
    auto r2 = append_one("a", "k", 2);
    EXPECT_EQ(r1.id.size(), 36u);
    EXPECT_LT(r1.id, r2.id);
    EXPECT_GE(r1.ts, before);
    EXPECT_LE(r1.ts, now_ms());
}

TEST_P(log_contract, duplicate_id_appends_nothing_and_reports_the_original_seq) {
    auto first = append_one("a", "k", 1, "same-id", 1000);
    append_one("a", "k", 2);
    auto again = append_one("a", "k", 99, "same-id", 5000);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.seq, first.seq);
    EXPECT_EQ(again.ts, 1000);
    auto evs = store_->scan({.topic = "a"});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 2u);
    EXPECT_EQ(evs->front().payload, json::value(1));
}

// payload_text is the store's own field (the group commit serializes payloads on the
// publisher's thread into it): a caller's value is never what gets stored.
TEST_P(log_contract, a_callers_payload_text_is_ignored_on_every_append_path) {
    auto input = [](std::string topic) {
        std::vector<event_input> batch(1);
        batch[0].topic = std::move(topic);
        batch[0].payload = json::object{{"b", 2}, {"a", 1}};
        batch[0].payload_text = R"({"forged":true})";
        return batch;
    };
    ASSERT_TRUE(store_->append(input("blocking")));
    std::promise<bool> done;
    store_->append_async(input("async"), [&](result<std::vector<append_result>> r) {
        done.set_value(r.has_value());
    });
    ASSERT_TRUE(done.get_future().get());
    auto txn = store_->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->append(input("transaction")));
    ASSERT_TRUE((*txn)->commit());
    for (const char* topic : {"blocking", "async", "transaction"}) {
        auto evs = store_->scan({.topic = topic});
        ASSERT_TRUE(evs);
        ASSERT_EQ(evs->size(), 1u) << topic;
        EXPECT_EQ(canonical_json((*evs)[0].payload), R"({"a":1,"b":2})") << topic;
    }
}

TEST_P(log_contract, same_id_in_another_topic_is_not_a_duplicate) {
    append_one("a", "k", 1, "x");
    EXPECT_FALSE(append_one("b", "k", 1, "x").duplicate);
}

TEST_P(log_contract, a_batch_is_atomic_and_dedupes_within_itself) {
    std::vector<event_input> batch(3);
    for (auto& e : batch) {
        e.topic = "a";
        e.payload = 1;
    }
    batch[0].id = "one";
    batch[1].id = "two";
    batch[2].id = "one";
    auto r = store_->append(std::move(batch));
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)[0].seq, 1);
    EXPECT_EQ((*r)[1].seq, 2);
    EXPECT_TRUE((*r)[2].duplicate);
    EXPECT_EQ((*r)[2].seq, 1);

    std::vector<event_input> bad(2);
    bad[0].topic = "a";
    bad[1].topic = "not a topic!";
    EXPECT_FALSE(store_->append(std::move(bad)));
    auto t = store_->topic("a");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->count, 2);
}

TEST_P(log_contract, payload_and_headers_round_trip_in_canonical_form) {
    auto payload = parse_json(R"({"b":[1,2.5,{"z":true,"a":null}],"a":"é\n"})");
    ASSERT_TRUE(payload);
    std::vector<event_input> batch(1);
    batch[0].topic = "a";
    batch[0].key = "k";
    batch[0].payload = *payload;
    batch[0].headers = {{"trace", "abc"}};
    ASSERT_TRUE(store_->append(std::move(batch)));
    auto evs = store_->scan({.topic = "a"});
    ASSERT_TRUE(evs && evs->size() == 1);
    EXPECT_EQ(canonical_json(evs->front().payload),
              R"({"a":"é\n","b":[1,2.5,{"a":null,"z":true}]})");
    EXPECT_EQ(evs->front().headers.at("trace"), "abc");
    EXPECT_EQ(evs->front().key, "k");
}

TEST_P(log_contract, concurrent_appenders_get_gapless_unique_seqs) {
    constexpr int threads = 8;
    const int per_thread = GetParam().name == "postgres" ? 1000 : 10000;
    std::vector<std::vector<seq_t>> got(threads);
    std::vector<std::thread> ts;
    ts.reserve(threads);
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                std::vector<event_input> b(1);
                b[0].topic = "hot";
                b[0].payload = i;
                auto r = store_->append(std::move(b));
                if (r) got[t].push_back(r->front().seq);
            }
        });
    }
    for (auto& t : ts) t.join();
    std::set<seq_t> all;
    for (auto& v : got) {
        EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // each caller sees its own order
        all.insert(v.begin(), v.end());
    }
    const auto total = static_cast<std::size_t>(threads) * static_cast<std::size_t>(per_thread);
    ASSERT_EQ(all.size(), total);
    EXPECT_EQ(*all.begin(), 1);
    EXPECT_EQ(*all.rbegin(), static_cast<seq_t>(total));
    auto t = store_->topic("hot");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->last_seq, static_cast<seq_t>(total));
    EXPECT_EQ((*t)->count, static_cast<std::int64_t>(total));
}

TEST_P(log_contract, scan_by_seq_range_and_limit) {
    for (int i = 1; i <= 10; ++i) append_one("a", "k", i);
    auto evs = store_->scan({.topic = "a", .from_seq = seq_t{3}, .to_seq = seq_t{7}, .limit = 3});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 3u);
    EXPECT_EQ((*evs)[0].seq, 3);
    EXPECT_EQ((*evs)[2].seq, 5);
    auto none = store_->scan({.topic = "missing"});
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST_P(log_contract, scan_by_ts_range_is_inclusive_and_in_seq_order) {
    append_one("a", "k", 1, {}, 300);
    append_one("a", "k", 2, {}, 100);  // out of order ts
    append_one("a", "k", 3, {}, 200);
    append_one("a", "k", 4, {}, 400);
    auto evs = store_->scan({.topic = "a", .from_ts = ts_ms{200}, .to_ts = ts_ms{300}});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 2u);
    EXPECT_EQ((*evs)[0].seq, 1);
    EXPECT_EQ((*evs)[1].seq, 3);
}

TEST_P(log_contract, scan_by_key_and_by_key_time) {
    append_one("a", "x", 1, {}, 50);
    append_one("a", "y", 2, {}, 10);
    append_one("a", "x", 3, {}, 20);
    append_one("a", "x", 4, {}, 20);
    append_one("a", "x", 5, {}, 70);
    auto by_key = store_->scan({.topic = "a", .key = "x"});
    ASSERT_TRUE(by_key);
    ASSERT_EQ(by_key->size(), 4u);
    EXPECT_EQ((*by_key)[1].seq, 3);

    auto by_time = store_->scan_key_by_time({.topic = "a", .key = "x", .to_ts = ts_ms{50}});
    ASSERT_TRUE(by_time);
    ASSERT_EQ(by_time->size(), 3u);  // (20,3) (20,4) (50,1)
    EXPECT_EQ((*by_time)[0].seq, 3);
    EXPECT_EQ((*by_time)[1].seq, 4);
    EXPECT_EQ((*by_time)[2].seq, 1);

    auto after = store_->scan_key_by_time({.topic = "a",
                                           .key = "x",
                                           .after = std::make_pair(ts_ms{20}, seq_t{3}),
                                           .to_ts = ts_ms{100}});
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 3u);
    EXPECT_EQ((*after)[0].seq, 4);
    EXPECT_EQ((*after)[2].seq, 5);
}

TEST_P(log_contract, latest_per_key_is_the_last_appended_event_of_each_key) {
    append_one("a", "x", 1);
    append_one("a", "y", 2);
    append_one("a", "x", 3);
    auto all = store_->latest_per_key("a");
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].key, "y");
    EXPECT_EQ((*all)[1].key, "x");
    EXPECT_EQ((*all)[1].payload, json::value(3));  // x's last event, not its first
    auto none = store_->latest_per_key("nope");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST_P(log_contract, topics_lists_counts_and_last_seq) {
    append_one("b", "k", 1);
    append_one("a", "k", 1);
    append_one("a", "k", 2);
    auto ts = store_->topics();
    ASSERT_TRUE(ts);
    ASSERT_EQ(ts->size(), 2u);
    EXPECT_EQ((*ts)[0].topic, "a");
    EXPECT_EQ((*ts)[0].count, 2);
    EXPECT_EQ((*ts)[0].last_seq, 2);
    EXPECT_EQ((*ts)[1].topic, "b");
}

TEST_P(log_contract, bad_input_is_refused_and_changes_nothing) {
    for (const std::string& topic :
         std::vector<std::string>{"", "has space", "semi;colon", std::string(300, 'a')}) {
        std::vector<event_input> b(1);
        b[0].topic = topic;
        auto r = store_->append(std::move(b));
        ASSERT_FALSE(r) << topic;
        EXPECT_EQ(r.error().code, errc::invalid_argument);
    }
    for (const std::string& key :
         {std::string("a\0b", 3), std::string("\xff\xfe"), std::string("\xc0\x80")}) {
        std::vector<event_input> b(1);
        b[0].topic = "t";
        b[0].key = key;
        auto r = store_->append(std::move(b));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::invalid_argument);
    }
    auto ts = store_->topics();
    ASSERT_TRUE(ts);
    EXPECT_TRUE(ts->empty());
}

// Only durable backends: the in-memory one forgets by design.
class durable_log_contract : public log_contract {};

TEST_P(durable_log_contract, events_and_cursors_survive_reopen) {
    append_one("a", "k", 1, "first");
    store_->set_cursor("a", "g", seq_t{1});
    store_.reset();
    store_ = test::open_or_die(url_);
    ASSERT_NE(store_, nullptr);
    auto evs = store_->scan({.topic = "a"});
    ASSERT_TRUE(evs && evs->size() == 1);
    EXPECT_EQ(evs->front().id, "first");
    EXPECT_EQ(append_one("a", "k", 2).seq, 2);
    auto c = store_->cursor("a", "g");
    ASSERT_TRUE(c && *c);
    EXPECT_EQ(**c, 1);
}

TEST_P(log_contract, a_commit_tells_the_append_listeners_which_topics_grew_and_to_what_seq) {
    // What lets the WebSocket delivery pool wake only the subscribers of those topics.
    // The listener owns what it writes to: PostgreSQL's notification thread may still call
    // it after this body returns, until the store is closed (a SegFault in CI, once).
    struct hearing {
        std::mutex mu;
        std::vector<appended_topics> heard;
    };
    auto state = std::make_shared<hearing>();
    store_->add_append_listener([state](const appended_topics& a) {
        std::lock_guard lock(state->mu);
        state->heard.push_back(a);
    });
    std::mutex& mu = state->mu;
    std::vector<appended_topics>& heard = state->heard;
    append_one("a", "k", 1);
    std::vector<event_input> batch(3);
    for (auto& in : batch) in.payload = 1;
    batch[0].topic = "b";
    batch[1].topic = "a";
    batch[2].topic = "b";
    ASSERT_TRUE(store_->append(std::move(batch)));
    {
        auto txn = store_->begin();
        ASSERT_TRUE(txn);
        std::vector<event_input> one(1);
        one[0].topic = "c";
        one[0].payload = 1;
        ASSERT_TRUE((*txn)->append(std::move(one)));
        ASSERT_TRUE((*txn)->commit());
    }
    {
        auto txn = store_->begin();  // rolled back: nobody hears of it
        ASSERT_TRUE(txn);
        std::vector<event_input> one(1);
        one[0].topic = "d";
        one[0].payload = 1;
        ASSERT_TRUE((*txn)->append(std::move(one)));
    }
    std::lock_guard lock(mu);
    // A backend may also hear its own commits back (PostgreSQL's NOTIFY): every report is
    // complete here and, merged, says a = 2, b = 2, c = 1 and nothing of d.
    std::map<std::string, seq_t> last;
    for (const auto& a : heard) {
        EXPECT_TRUE(a.complete);
        for (const auto& t : a.tips) last[t.topic] = std::max(last[t.topic], t.last_seq);
    }
    EXPECT_EQ(last,
              (std::map<std::string, seq_t>{{"a", seq_t{2}}, {"b", seq_t{2}}, {"c", seq_t{1}}}));
    ASSERT_GE(heard.size(), 3u);
    // Reported when the commit returns, not later: the first three are the three commits.
    EXPECT_EQ(heard[0].tips.size(), 1u);
    EXPECT_EQ(heard[0].tips[0].topic, "a");
    EXPECT_EQ(heard[0].tips[0].last_seq, 1);
}

INSTANTIATE_TEST_SUITE_P(backends, log_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);
INSTANTIATE_TEST_SUITE_P(backends, durable_log_contract,
                         testing::ValuesIn(test::durable_backends()), test::backend_name);

}  // namespace
}  // namespace prom
