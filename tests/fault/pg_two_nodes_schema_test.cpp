// A new schema version stored on one node is enforced by the other node of the same
// PostgreSQL database as soon as that node hears of the commit (its NOTIFY), without waiting
// for the cache's recheck interval (docs/schemas.md, "Enforcement"). Only for postgres.
#include <gtest/gtest.h>

#include <atomic>

#include "schema/schema_registry.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

event_input metric(std::string_view payload) {
    event_input in;
    in.topic = "metrics";
    in.payload = *parse_json(payload);
    return in;
}

class pg_two_nodes_schema : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        a_ = test::open_or_die(url_, {.durable = false});
        b_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(a_, nullptr);
        ASSERT_NE(b_, nullptr);
        // Registered after the store's own schema-cache listener, so it runs after it.
        b_->add_commit_listener([this](const std::vector<document>& changed) {
            for (const auto& d : changed) {
                if (d.collection == schema::current_collection) ++schema_commits_on_b_;
            }
        });
    }

    // Stores `schema` on node A and returns once node B has heard of that commit. (Waiting
    // for any change on B is not enough: B's own earlier append may notify it late.)
    void put_on_a(std::string_view schema) {
        const int seen = schema_commits_on_b_.load();
        auto put = schema::put_schema(*a_, "metrics", *parse_json(schema));
        ASSERT_TRUE(put) << put.error().err.message;
        ASSERT_TRUE(test::eventually([&] { return schema_commits_on_b_.load() != seen; }, 5s))
            << "node B never heard of the commit";
    }

    test::temp_dir dir_;
    std::string url_;
    std::atomic<int> schema_commits_on_b_{0};  // before the stores: outlives their listeners
    std::unique_ptr<store> a_, b_;
};

TEST_P(pg_two_nodes_schema, a_version_set_on_node_a_applies_on_node_b_at_once) {
    // B has looked the topic up (no schema) and cached that.
    ASSERT_TRUE(b_->append({metric(R"({"cpu_pct":"high"})")}));
    auto start = std::chrono::steady_clock::now();
    put_on_a(
        R"({"schema":{"type":"object","properties":{"cpu_pct":{"type":"number","maximum":100}}}})");
    auto bad = b_->append({metric(R"({"cpu_pct":"high"})")});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, errc::invalid_payload);
    EXPECT_EQ(bad.error().path, "/payload/cpu_pct");
    EXPECT_EQ(bad.error().schema_version, 1);
    // Well within the cache's one-second recheck: the notification did it.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);

    // And a loosened version 2 lets through on B what version 1 refused.
    ASSERT_FALSE(b_->append({metric(R"({"cpu_pct":150})")}));
    put_on_a(
        R"({"schema":{"type":"object","properties":{"cpu_pct":{"type":"number","maximum":1000}}}})");
    auto ok = b_->append({metric(R"({"cpu_pct":150})")});
    EXPECT_TRUE(ok) << ok.error().message;
    auto also_on_a = a_->append({metric(R"({"cpu_pct":2000})")});
    ASSERT_FALSE(also_on_a);
    EXPECT_EQ(also_on_a.error().schema_version, 2);
}

INSTANTIATE_TEST_SUITE_P(postgres, pg_two_nodes_schema,
                         testing::ValuesIn(test::postgres_backends()), test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_two_nodes_schema);

}  // namespace
}  // namespace prom
