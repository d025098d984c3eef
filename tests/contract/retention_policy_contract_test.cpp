// Retention policies stored in `_prom.topic_policies` (docs/retention.md), on every backend:
// put replaces, load returns every policy in pattern order, delete says whether there was one,
// and a second store on the same database sees the same.
#include <gtest/gtest.h>

#include "retention/retention.hpp"
#include "support/test_support.hpp"

namespace prom::retention {
namespace {

class retention_policy_contract : public testing::TestWithParam<test::backend> {
  protected:
    test::temp_dir dir;
    std::string url = GetParam().fresh_url(dir);
    std::unique_ptr<store> s = test::open_or_die(url);
};

policy make(std::string_view pattern, std::string_view body) {
    auto p = parse_policy(pattern, *parse_json(body));
    EXPECT_TRUE(p) << p.error().message;
    return *p;
}

TEST_P(retention_policy_contract, put_load_replace_delete) {
    auto none = load_policies(*s);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->empty());

    ASSERT_TRUE(put_policy(*s, make("order.*", R"({"compact":{"horizon":"1d"}})")));
    ASSERT_TRUE(put_policy(*s, make("billing", R"({"retain":{"max_events":10},"behind":"wait"})")));
    ASSERT_TRUE(put_policy(*s, make("order.*", R"({"retain":{"max_age":"7d"}})")));  // replaces

    auto all = load_policies(*s);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].pattern, "billing");
    EXPECT_EQ((*all)[0].behind, behind_policy::wait);
    EXPECT_EQ((*all)[1].pattern, "order.*");
    EXPECT_FALSE((*all)[1].compact);
    ASSERT_TRUE((*all)[1].retain);
    EXPECT_EQ((*all)[1].retain->max_age, std::chrono::milliseconds(7LL * 86'400'000));

    auto gone = delete_policy(*s, "order.*");
    ASSERT_TRUE(gone);
    EXPECT_TRUE(*gone);
    auto again = delete_policy(*s, "order.*");
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    all = load_policies(*s);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].pattern, "billing");
}

TEST_P(retention_policy_contract, bad_patterns_change_nothing) {
    policy p = make("orders", R"({"compact":{"horizon":"1d"}})");
    p.pattern = "bad pattern";
    auto put = put_policy(*s, p);
    ASSERT_FALSE(put);
    EXPECT_EQ(put.error().code, errc::invalid_argument);
    EXPECT_FALSE(delete_policy(*s, ""));
    EXPECT_TRUE(load_policies(*s)->empty());
}

TEST_P(retention_policy_contract, another_store_sees_them) {
    if (!GetParam().durable) GTEST_SKIP() << "memory: one store per database";
    ASSERT_TRUE(put_policy(*s, make("order.*", R"({"compact":{"horizon":"12h"}})")));
    auto other = test::open_or_die(url);
    auto all = load_policies(*other);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].compact->horizon, std::chrono::milliseconds(12LL * 3'600'000));
}

INSTANTIATE_TEST_SUITE_P(backends, retention_policy_contract,
                         testing::ValuesIn(test::contract_backends()), test::backend_name);

}  // namespace
}  // namespace prom::retention
