// Time travel on every backend: the store's snapshot methods and append rule, and
// time_machine answers checked against a pure in-memory fold on random histories with
// out-of-order, equal and late timestamps.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include "contract/snapshot_fixture.hpp"
#include "prom/timetravel.hpp"
#include "support/retention_oracle.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class timetravel_contract : public test::snapshot_fixture {
  protected:
    bool snap_at_any(std::string_view key) {
        auto s = store_->snapshot_at_or_before("t", key, "merge", ts_ms::max());
        return s && *s;
    }
};

// ---- time_machine on fixed histories

TEST_P(timetravel_contract, at_folds_events_up_to_t_in_ts_then_seq_order) {
    time_machine tm(*store_, {.snapshot_every = 2});
    auto m = merge_reducer();
    append_one("t", "k", 20, json::object{{"b", 1}});
    append_one("t", "k", 10, json::object{{"a", 1}, {"b", 0}});  // out of order: folds first
    append_one("t", "k", 20, json::object{{"c", 1}});            // equal ts: after seq 1
    append_one("t", "j", 15, json::object{{"x", 1}});
    EXPECT_FALSE(*tm.at("t", "k", ts_ms{9}, m));
    auto s10 = tm.at("t", "k", ts_ms{10}, m);
    ASSERT_TRUE(s10 && *s10);
    EXPECT_EQ(canonical_json((*s10)->state), R"({"a":1,"b":0})");
    EXPECT_EQ((*s10)->seq, 2);
    auto s20 = tm.at("t", "k", ts_ms{25}, m);
    ASSERT_TRUE(s20 && *s20);
    EXPECT_EQ(canonical_json((*s20)->state), R"({"a":1,"b":1,"c":1})");
    EXPECT_EQ((*s20)->ts, 20);
    EXPECT_EQ((*s20)->seq, 3);
    auto r = tm.at("t", "k", ts_ms{15}, replace_reducer());
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(canonical_json((*r)->state), R"({"a":1,"b":0})");
    EXPECT_FALSE(*tm.at("nope", "k", ts_ms{100}, m));
    EXPECT_FALSE(*tm.at("t", "nope", ts_ms{100}, m));
}

TEST_P(timetravel_contract, a_late_event_after_snapshots_changes_the_answers_it_should) {
    time_machine tm(*store_, {.snapshot_every = 1});
    auto m = merge_reducer();
    for (int i = 1; i <= 5; ++i) append_one("t", "k", std::int64_t{i} * 10, json::object{{"v", i}});
    ASSERT_TRUE(tm.build_snapshots("t", m));
    EXPECT_EQ(snap_at("k", "merge", 1000)->ts, 50);
    append_one("t", "k", 25, json::object{{"late", true}, {"v", 99}});
    auto s = tm.at("t", "k", ts_ms{45}, m);
    ASSERT_TRUE(s && *s);
    EXPECT_EQ(canonical_json((*s)->state), R"({"late":true,"v":4})");
    auto before = tm.at("t", "k", ts_ms{24}, m);
    EXPECT_EQ(canonical_json((*before)->state), R"({"v":2})");
    auto at25 = tm.at("t", "k", ts_ms{25}, m);
    EXPECT_EQ(canonical_json((*at25)->state), R"({"late":true,"v":99})");
    EXPECT_EQ((*at25)->seq, 6);
}

TEST_P(timetravel_contract, at_all_streams_every_key_with_a_state_in_key_order) {
    time_machine tm(*store_);
    append_one("t", "b", 10, 1);
    append_one("t", "a", 10, 2);
    append_one("t", "c", 50, 3);
    append_one("t", "a", 20, 4);
    std::vector<std::string> lines;
    ASSERT_TRUE(tm.at_all("t", ts_ms{20}, replace_reducer(), [&](const keyed_state& s) {
        lines.push_back(canonical_json(to_json(s)));
        return true;
    }));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], R"({"key":"a","seq":4,"state":4,"ts":20})");
    EXPECT_EQ(lines[1], R"({"key":"b","seq":1,"state":1,"ts":10})");
}

// A topic no event can have is bad input, as a publish to it is, not "no state" or an empty
// answer (found from outside: GET /at/bad%20topic answered 200 with no items).
TEST_P(timetravel_contract, a_name_no_topic_can_have_is_refused) {
    time_machine tm(*store_);
    for (std::string_view bad : {"bad topic", "", "a/b"}) {
        auto one = tm.at(bad, "k", ts_ms{5}, replace_reducer());
        ASSERT_FALSE(one) << bad;
        EXPECT_EQ(one.error().code, errc::invalid_argument) << bad;
        auto all =
            tm.at_all(bad, ts_ms{5}, replace_reducer(), [](const keyed_state&) { return true; });
        ASSERT_FALSE(all) << bad;
        EXPECT_EQ(all.error().code, errc::invalid_argument) << bad;
    }
}

TEST_P(timetravel_contract, a_throwing_user_reducer_is_an_error_value) {
    time_machine tm(*store_);
    append_one("t", "k", 10, 1);
    reducer bad{"bad", [](json::value, const event&) -> result<json::value> {
                    throw std::runtime_error("boom");
                }};
    auto s = tm.at("t", "k", ts_ms{10}, bad);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, errc::internal);
}

TEST_P(timetravel_contract, odd_options_still_answer_right) {
    for (int i = 1; i <= 5; ++i) append_one("t", "k", std::int64_t{i} * 10, json::object{{"v", i}});
    for (auto o : {time_travel_options{.page_size = 0}, time_travel_options{.snapshot_every = -3},
                   time_travel_options{.use_snapshots = false, .snapshot_every = 1}}) {
        time_machine tm(*store_, o);
        auto s = tm.at("t", "k", ts_ms{35}, merge_reducer());
        ASSERT_TRUE(s && *s);
        EXPECT_EQ(canonical_json((*s)->state), R"({"v":3})");
        EXPECT_EQ((*s)->seq, 3);
    }
    EXPECT_FALSE(snap_at_any("k"));  // none of those options stores a snapshot
}

TEST_P(timetravel_contract, at_as_json_answers_like_the_cli) {
    append_one("t", "k", 10, json::object{{"a", 1}});
    auto v = at_as_json(*store_, "t", "k", ts_ms{10}, "merge");
    ASSERT_TRUE(v);
    EXPECT_EQ(canonical_json(*v), R"({"seq":1,"state":{"a":1},"ts":10})");
    EXPECT_EQ(at_as_json(*store_, "t", "k", ts_ms{9}, "merge").error().code, errc::not_found);
    EXPECT_EQ(at_as_json(*store_, "t", "k", ts_ms{10}, "sum").error().code, errc::invalid_argument);
}

// ---- property: random histories against the definition, folded from scratch in memory

// The full history as the test appended it, and the definition folded from it
// (support/retention_oracle.hpp): no snapshots, no store.
using test::logged_event;

testing::AssertionResult same_answer(const result<std::optional<state_at>>& got,
                                     const std::optional<state_at>& want) {
    if (!got) return testing::AssertionFailure() << "error: " << got.error().message;
    auto show = [](const std::optional<state_at>& s) {
        return s ? canonical_json(json::value(to_json(*s))) : std::string("(no state)");
    };
    if (show(*got) != show(want)) {
        return testing::AssertionFailure() << "got " << show(*got) << ", want " << show(want);
    }
    return testing::AssertionSuccess();
}

json::value random_payload(std::mt19937_64& rng) {
    if (rng() % 8 == 0) return json::value(static_cast<std::int64_t>(rng() % 5));  // not an object
    json::object o;
    for (const char* name : {"x", "y", "z"}) {
        switch (rng() % 6) {
            case 0:
                o[name] = nullptr;
                break;  // removes the member under merge
            case 1:
                o[name] = static_cast<std::int64_t>(rng() % 100);
                break;
            case 2: {
                json::object inner;
                inner["n"] = static_cast<std::int64_t>(rng() % 10);
                if (rng() % 2) inner["m"] = nullptr;
                o[name] = std::move(inner);
                break;
            }
            default:
                break;  // absent
        }
    }
    return o;
}

// An order-sensitive reducer: the seqs in fold order, so any misordering shows.
reducer trace_reducer() {
    return {"trace", [](json::value s, const event& e) -> result<json::value> {
                if (!s.is_array()) s = json::array();
                s.as_array().push_back(e.seq.value);
                return s;
            }};
}

// An unnamed reducer is never snapshotted: it checks the plain fold path.
reducer unnamed_counter() {
    return {"", [](json::value s, const event& e) -> result<json::value> {
                std::int64_t n = s.is_object() ? s.as_object()["n"].as_int64() : 0;
                return json::object{{"n", n + 1}, {"last", e.payload}};
            }};
}

TEST_P(timetravel_contract, answers_equal_a_pure_fold_on_random_histories_with_late_events) {
    const std::vector<reducer> reducers{replace_reducer(), merge_reducer(), trace_reducer(),
                                        unnamed_counter()};
    const std::vector<std::string> all_keys{"a", "b", "c"};
    std::size_t checks = 0, late_events = 0, duplicates = 0;
    constexpr int cases = 500;
    for (int c = 0; c < cases; ++c) {
        std::mt19937_64 rng(0x7157'0000 + static_cast<std::uint64_t>(c));  // fixed seeds
        const std::string topic = "p" + std::to_string(c);
        time_travel_options options;
        options.snapshot_every = std::array<std::int64_t, 5>{1, 2, 3, 5, 64}[rng() % 5];
        options.page_size = std::array<std::size_t, 4>{1, 2, 3, 1000}[rng() % 4];
        time_machine tm(*store_, options);
        const std::size_t nkeys = 1 + rng() % 3;
        std::vector<logged_event> log;
        std::map<std::string, ts_ms> max_ts;
        std::vector<std::string> ids;
        ts_ms now{1000};
        const int rounds = 3 + static_cast<int>(rng() % 4);
        for (int round = 0; round < rounds; ++round) {
            // Appends: near "now" (equal timestamps likely), late, or equal to an old one.
            std::vector<event_input> batch(1 + rng() % 8);
            for (auto& in : batch) {
                in.topic = topic;
                in.key = all_keys[rng() % nkeys];
                auto kind = rng() % 10;
                if (kind < 6 || log.empty()) {
                    in.ts = now + static_cast<std::int64_t>(rng() % 15);
                } else if (kind < 9) {
                    in.ts = ts_ms{1000 + static_cast<std::int64_t>(
                                             rng() % static_cast<std::uint64_t>(now.value - 999))};
                } else {
                    in.ts = log[rng() % log.size()].ts;
                }
                if (!ids.empty() && rng() % 15 == 0) {
                    in.id = ids[rng() % ids.size()];  // a duplicate: appends nothing
                } else {
                    in.id = topic + "-" + std::to_string(ids.size());
                    ids.push_back(*in.id);
                }
                in.payload = random_payload(rng);
            }
            auto inputs = batch;
            auto appended = store_->append(std::move(batch));
            ASSERT_TRUE(appended) << appended.error().message;
            for (std::size_t i = 0; i < inputs.size(); ++i) {
                if ((*appended)[i].duplicate) {
                    ++duplicates;
                    continue;
                }
                auto& in = inputs[i];
                if (max_ts.contains(in.key) && *in.ts < max_ts[in.key]) ++late_events;
                max_ts[in.key] = std::max(max_ts[in.key], *in.ts);
                log.push_back({in.key, *in.ts, (*appended)[i].seq, in.payload});
            }
            // Another topic with the same keys must never leak in.
            append_one(topic + ".noise", all_keys[rng() % nkeys], now.value,
                       json::object{{"x", -1}});
            now += 10;

            // Queries: before the first event, at an event's ts, in between, after the last.
            for (int q = 0; q < 12; ++q) {
                std::string key = rng() % 20 == 0 ? "zz" : all_keys[rng() % nkeys];
                ts_ms t;
                switch (rng() % 5) {
                    case 0:
                        t = ts_ms{999};
                        break;
                    case 1:
                        t = log[rng() % log.size()].ts;
                        break;
                    case 2:
                        t = log[rng() % log.size()].ts - 1;
                        break;
                    case 3:
                        t = ts_ms{990 + static_cast<std::int64_t>(
                                            rng() % static_cast<std::uint64_t>(now.value - 970))};
                        break;
                    default:
                        t = rng() % 4 == 0 ? ts_ms::max() : now + 100;
                        break;
                }
                const auto& r = reducers[rng() % reducers.size()];
                ASSERT_TRUE(same_answer(tm.at(topic, key, t, r), test::full_fold(log, key, t, r)))
                    << "case " << c << " round " << round << " key " << key << " t " << t
                    << " reducer '" << r.name << "'";
                ++checks;
            }
            if (rng() % 3 == 0) {
                ASSERT_TRUE(tm.build_snapshots(topic, reducers[rng() % 3]));
            }
            if (rng() % 3 == 0) {
                ts_ms t = log[rng() % log.size()].ts;
                const auto& r = reducers[rng() % reducers.size()];
                std::size_t seen = 0;
                ASSERT_TRUE(tm.at_all(topic, t, r, [&](const keyed_state& s) {
                    EXPECT_TRUE(same_answer(std::optional<state_at>{state_at{s.state, s.ts, s.seq}},
                                            test::full_fold(log, s.key, t, r)))
                        << "at_all case " << c << " key " << s.key << " t " << t;
                    ++seen;
                    return true;
                }));
                std::size_t want = 0;
                for (std::size_t k = 0; k < nkeys; ++k)
                    want += test::full_fold(log, all_keys[k], t, r) ? 1 : 0;
                EXPECT_EQ(seen, want) << "at_all case " << c << " t " << t;
                ++checks;
            }
        }
    }
    // The generator must really exercise what this test is about.
    EXPECT_GT(checks, 20000u);
    EXPECT_GT(late_events, 2000u);
    EXPECT_GT(duplicates, 100u);
    RecordProperty("checks", static_cast<int>(checks));
    std::printf("[ property ] %zu checks, %zu late events, %zu duplicates\n", checks, late_events,
                duplicates);
}

TEST_P(timetravel_contract, late_appends_racing_with_snapshotting_queries_leave_no_stale_snapshot) {
    // Queries store a snapshot at every event while late events keep arriving; whatever
    // the interleaving, the answers afterwards must equal the definition.
    std::vector<logged_event> log;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        std::mt19937_64 rng(99);
        for (int i = 0; i < 300; ++i) {
            ts_ms ts{rng() % 3 == 0 ? 1000 + static_cast<std::int64_t>(rng() % (10 * i + 1))
                                    : 1000 + 10 * i};
            json::value payload = json::object{{"i", i}, {std::to_string(i % 7), i}};
            auto r = append_one("race", "k", ts.value, payload);
            log.push_back({"k", ts, r.seq, payload});
            std::this_thread::sleep_for(std::chrono::microseconds(100));  // let queries interleave
        }
        done = true;
    });
    // A slow fold widens the window between reading the events and storing the snapshots.
    reducer slow_merge{"slow-merge", [](json::value s, const event& e) -> result<json::value> {
                           std::this_thread::sleep_for(std::chrono::microseconds(50));
                           return merge_patch(std::move(s), e.payload);
                       }};
    time_machine tm(*store_, {.snapshot_every = 1});
    std::mt19937_64 rng(7);
    std::size_t queries = 0;
    while (!done) {
        ASSERT_TRUE(
            tm.at("race", "k", ts_ms{1000 + static_cast<std::int64_t>(rng() % 3100)}, slow_merge));
        ++queries;
    }
    writer.join();
    EXPECT_GT(queries, 0u);
    for (ts_ms t{995}; t <= 4100; t += 5) {
        ASSERT_TRUE(same_answer(tm.at("race", "k", t, slow_merge),
                                test::full_fold(log, "k", t, merge_reducer())))
            << "t " << t;
    }
}

INSTANTIATE_TEST_SUITE_P(backends, timetravel_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom
