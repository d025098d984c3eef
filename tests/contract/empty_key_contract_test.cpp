// "key":"" means no key, exactly like an absent key (docs/http-api.md), on every backend:
// stored and shown alike, no per-key state, not listed among a topic's keys.
#include <gtest/gtest.h>

#include "prom/timetravel.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class empty_key_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        store_ = test::open_or_die(GetParam().fresh_url(dir_), {.durable = false});
        ASSERT_NE(store_, nullptr);
    }
    test::temp_dir dir_;
    std::unique_ptr<store> store_;
};

TEST_P(empty_key_contract, an_empty_key_is_stored_and_shown_like_an_absent_one) {
    auto in = *event_input_from_json(*parse_json(R"({"topic":"t","payload":1,"ts":1000})"));
    auto empty =
        *event_input_from_json(*parse_json(R"({"topic":"t","key":"","payload":1,"ts":1000})"));
    EXPECT_EQ(in.key, empty.key);
    auto keyed =
        *event_input_from_json(*parse_json(R"({"topic":"t","key":"k","payload":2,"ts":1000})"));
    ASSERT_TRUE(store_->append({in, empty, keyed}));

    auto all = store_->scan({.topic = "t"});
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].key, "");
    EXPECT_EQ((*all)[1].key, "");
    EXPECT_EQ(to_json((*all)[0]).at("key"), to_json((*all)[1]).at("key"));
    // Filtering on the empty key finds exactly the keyless events.
    auto keyless = store_->scan({.topic = "t", .key = std::string()});
    ASSERT_TRUE(keyless);
    EXPECT_EQ(keyless->size(), 2u);
}

TEST_P(empty_key_contract, keyless_events_have_no_state_and_are_no_key_of_the_topic) {
    ASSERT_TRUE(
        store_->append({event_input{.topic = "t", .ts = ts_ms{1000}, .payload = 1},
                        event_input{.topic = "t", .key = "", .ts = ts_ms{2000}, .payload = 2},
                        event_input{.topic = "t", .key = "k", .ts = ts_ms{1500}, .payload = 3}}));
    time_machine tm(*store_);
    auto none = tm.at("t", "", ts_ms{5000}, replace_reducer());
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, errc::invalid_argument);
    std::vector<std::string> keys;
    ASSERT_TRUE(tm.at_all("t", ts_ms{5000}, replace_reducer(), [&](const keyed_state& ks) {
        keys.push_back(ks.key);
        return true;
    }));
    EXPECT_EQ(keys, std::vector<std::string>{"k"});
    auto as_json = at_as_json(*store_, "t", "", ts_ms{5000}, "replace");
    ASSERT_FALSE(as_json);
    EXPECT_EQ(as_json.error().code, errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(backends, empty_key_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
