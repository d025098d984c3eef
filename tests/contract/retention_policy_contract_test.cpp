// Retention policies stored in `_prom.topic_policies` (docs/retention.md), on every backend:
// put replaces, load returns every policy in pattern order, delete says whether there was one,
// and a second store on the same database sees the same.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

// A create-only write (If-None-Match: *) and one that needs a policy (If-Match: *) are
// checked in their own transaction: of eight create-only writes at once exactly one passes
// (found from outside: several did, and the last one won).
TEST_P(retention_policy_contract, of_create_only_writes_at_once_exactly_one_passes) {
    // Several stores on one database where there can be (another node, the CLI).
    std::vector<std::unique_ptr<store>> others;
    std::vector<store*> stores{s.get()};
    for (int i = 0; GetParam().durable && i < 3; ++i) {
        others.push_back(test::open_or_die(url));
        stores.push_back(others.back().get());
    }
    std::atomic<int> passed = 0, refused = 0;
    std::vector<std::thread> writers;
    writers.reserve(8);
    for (int i = 0; i < 8; ++i) {
        writers.emplace_back([&, i] {
            policy p = make("billing", R"({"retain":{"max_events":1}})");
            p.retain->max_events = i + 1;
            auto put = put_policy(*stores[i % stores.size()], p, {.must_be_absent = true});
            if (put) {
                ++passed;
            } else if (put.error().code == errc::precondition_failed) {
                ++refused;
            } else {
                ADD_FAILURE() << put.error().message;
            }
        });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(passed, 1);
    EXPECT_EQ(refused, 7);
    auto changed =
        put_policy(*s, make("billing", R"({"retain":{"max_events":42}})"), {.must_exist = true});
    ASSERT_TRUE(changed) << changed.error().message;
    auto gone = delete_policy(*s, "billing", {.must_be_absent = true});
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, errc::precondition_failed);
    gone = delete_policy(*s, "billing", {.must_exist = true});
    ASSERT_TRUE(gone);
    EXPECT_TRUE(*gone);
    auto again =
        put_policy(*s, make("billing", R"({"retain":{"max_events":7}})"), {.must_exist = true});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, errc::precondition_failed);
    auto none = load_policies(*s);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
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
