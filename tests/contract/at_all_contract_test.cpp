// Every key's state at an instant, as GET /at/{topic} answers it (at_all_as_json), on every
// backend: the items equal one time_machine::at per key, in key order; bounded by a limit.
#include <gtest/gtest.h>

#include "contract/snapshot_fixture.hpp"
#include "prom/timetravel.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class at_all_contract : public test::snapshot_fixture {
  protected:
    json::object answer(std::int64_t t, std::string_view reducer = "replace",
                        std::size_t limit = 100000) {
        auto a = at_all_as_json(*store_, "p", ts_ms{t}, reducer, limit);
        EXPECT_TRUE(a) << (a ? "" : a.error().message);
        return a ? a->as_object() : json::object{};
    }
};

TEST_P(at_all_contract, lists_every_key_with_a_state_at_t_in_key_order) {
    append_one("p", "b", 10, json::object{{"status", "alive"}});
    append_one("p", "a", 20, json::object{{"status", "alive"}});
    append_one("p", "b", 30, json::object{{"status", "stale"}});
    append_one("p", "", 15, json::object{{"keyless", true}});  // belongs to no key
    append_one("other", "z", 5, json::object{{"x", 1}});

    auto at5 = answer(5);
    EXPECT_EQ(canonical_json(at5), R"({"count":0,"items":[],"t":5,"truncated":false})");

    auto at25 = answer(25);
    EXPECT_EQ(
        canonical_json(at25),
        R"({"count":2,"items":[)"
        R"({"key":"a","seq":2,"state":{"status":"alive"},"ts":20},)"
        R"({"key":"b","seq":1,"state":{"status":"alive"},"ts":10}],"t":25,"truncated":false})");

    auto at30 = answer(30);
    ASSERT_EQ(at30.at("items").as_array().size(), 2u);
    EXPECT_EQ(canonical_json(at30.at("items").as_array()[1]),
              R"({"key":"b","seq":3,"state":{"status":"stale"},"ts":30})");
}

TEST_P(at_all_contract, items_equal_time_machine_at_for_each_key) {
    for (int i = 0; i < 40; ++i) {
        append_one("p", "k" + std::to_string(i % 7), 100 + (i * 37) % 50,
                   json::object{{"i", i}, {"m" + std::to_string(i % 3), i}});
    }
    time_machine tm(*store_);
    for (std::int64_t t : {99, 110, 125, 149, 200}) {
        for (std::string_view reducer : {"replace", "merge"}) {
            auto a = answer(t, reducer);
            auto r = builtin_reducer(reducer);
            ASSERT_TRUE(r);
            std::size_t n = 0;
            for (int k = 0; k < 7; ++k) {
                auto s = tm.at("p", "k" + std::to_string(k), ts_ms{t}, *r);
                ASSERT_TRUE(s);
                if (!*s) continue;
                ASSERT_LT(n, a.at("items").as_array().size());
                const auto& item = a.at("items").as_array()[n++].as_object();
                EXPECT_EQ(item.at("key").as_string(), "k" + std::to_string(k));
                EXPECT_EQ(canonical_json(item.at("state")), canonical_json((*s)->state))
                    << "t=" << t << " reducer=" << reducer;
                EXPECT_EQ(item.at("seq").as_int64(), (*s)->seq.value);
            }
            EXPECT_EQ(n, a.at("items").as_array().size()) << "t=" << t;
            EXPECT_EQ(a.at("count").as_uint64(), n);
        }
    }
}

TEST_P(at_all_contract, a_limit_cuts_the_answer_and_says_so) {
    for (std::string key : {"a", "b", "c"}) append_one("p", key, 10, json::object{{"k", key}});
    auto two = answer(10, "replace", 2);
    EXPECT_EQ(two.at("count").as_uint64(), 2u);
    EXPECT_TRUE(two.at("truncated").as_bool());
    auto three = answer(10, "replace", 3);
    EXPECT_EQ(three.at("count").as_uint64(), 3u);
    EXPECT_FALSE(three.at("truncated").as_bool());
}

TEST_P(at_all_contract, an_unknown_reducer_is_invalid_argument) {
    auto a = at_all_as_json(*store_, "p", ts_ms{1}, "nope", 10);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(backends, at_all_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
