// User-defined projectors on two `prom serve` nodes sharing one PostgreSQL schema: a
// definition applied on one node runs exactly once across both, with no restart; a rebuild
// started on one node swaps atomically while the other serves reads
// (docs/projectors.md). Only for postgres: no instances without PROM_TEST_PG_URL.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "prom/json.hpp"
#include "server/node.hpp"
#include "support/http_client.hpp"
#include "support/test_support.hpp"
#include "support/two_nodes.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view counts_v1 =
    R"({"name":"counts","version":1,"topic":"order.*",)"
    R"("writes":[{"collection":"orders","key":"{key}","update":{"$inc":{"n":1},"$set":{"v":1}}}]})";
constexpr std::string_view counts_v2 =
    R"({"name":"counts","version":2,"rebuild":true,"topic":"order.*",)"
    R"("writes":[{"collection":"orders","key":"{key}","update":{"$inc":{"n":1},"$set":{"v":2}}}]})";

using test::eventually;

class pg_user_projectors : public test::two_nodes_test {
  protected:
    void SetUp() override {
        two_nodes_test::SetUp();
        auto c = node_config();
        c.threads = 1;
        c.projectors.clear();
        a_ = start(c);
        b_ = start(c);
        ASSERT_TRUE(a_ && b_);
    }

    static test::http_reply put(server::node& n, std::string_view body) {
        return test::http_request(n.port(), "PUT", "/projectors/counts",
                                  {{"Content-Type", "application/json"}}, body);
    }
    static void publish(server::node& n, int i, const std::string& key) {
        auto r =
            test::http_request(n.port(), "POST", "/publish", {{"Content-Type", "application/json"}},
                               R"({"topic":"order.created","key":")" + key +
                                   R"(","payload":{"i":)" + std::to_string(i) + "}}");
        ASSERT_EQ(r.status, 200) << r.body;
    }
    static json::value doc(server::node& n, const std::string& key) {
        auto r = test::http_request(n.port(), "GET", "/collections/orders/snap/" + key);
        return r.status == 200 ? *parse_json(r.body) : json::value(nullptr);
    }
    static json::object status(server::node& n) {
        auto r = test::http_request(n.port(), "GET", "/projectors/counts");
        auto v = parse_json(r.body);
        return r.status == 200 && v && v->is_object() ? v->get_object() : json::object{};
    }
};

TEST_P(pg_user_projectors, a_definition_applied_on_one_node_runs_once_across_both) {
    ASSERT_EQ(put(*a_, counts_v1).status, 201);
    // Node B learns of it without a restart.
    ASSERT_TRUE(eventually([&] { return status(*b_).contains("name"); }));
    constexpr int keys = 10, per_key = 20;
    for (int i = 0; i < keys * per_key; ++i) {
        publish(i % 2 ? *a_ : *b_, i, "k" + std::to_string(i % keys));
    }
    for (int k = 0; k < keys; ++k) {
        ASSERT_TRUE(eventually([&] {
            auto d = doc(*a_, "k" + std::to_string(k));
            return d.is_object() && d.at("n") == per_key;
        })) << "k"
            << k << ": " << canonical_json(doc(*a_, "k" + std::to_string(k)));
    }
    std::this_thread::sleep_for(300ms);  // a second consumer would show up as counts above per_key
    for (int k = 0; k < keys; ++k) {
        EXPECT_EQ(doc(*b_, "k" + std::to_string(k)).at("n"), per_key);
    }
    auto sa = status(*a_), sb = status(*b_);
    EXPECT_EQ(sa.at("cursors"), sb.at("cursors"));
    EXPECT_EQ(sa.at("lag"), 0);
    // Every event was applied by exactly one of the nodes.
    EXPECT_EQ(
        sa.at("applied").to_number<std::int64_t>() + sb.at("applied").to_number<std::int64_t>(),
        keys * per_key);
}

TEST_P(pg_user_projectors, a_rebuild_on_one_node_swaps_atomically_while_the_other_serves_reads) {
    ASSERT_EQ(put(*a_, counts_v1).status, 201);
    constexpr int keys = 20, per_key = 5;
    for (int i = 0; i < keys * per_key; ++i) publish(*a_, i, "k" + std::to_string(i % keys));
    for (int k = 0; k < keys; ++k) {
        ASSERT_TRUE(eventually([&] {
            auto d = doc(*a_, "k" + std::to_string(k));
            return d.is_object() && d.at("n") == per_key;
        }));
    }
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0}, reads{0}, seen_v2{0};
    std::string first_bad;
    std::thread reader([&] {
        while (!stop) {
            for (int k = 0; k < keys && !stop; ++k) {
                auto d = doc(*a_, "k" + std::to_string(k));
                ++reads;
                if (!d.is_object() || d.at("n") != per_key) {
                    if (bad++ == 0) first_bad = d.is_null() ? "404" : canonical_json(d);
                } else if (d.at("v") == 2) {
                    ++seen_v2;
                }
            }
        }
    });
    auto r = put(*b_, counts_v2);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_TRUE(eventually([&] {
        for (int k = 0; k < keys; ++k) {
            auto d = doc(*a_, "k" + std::to_string(k));
            if (!d.is_object() || d.at("v") != 2) return false;
        }
        return true;
    }));
    stop = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0) << "first bad read on node A: " << first_bad;
    EXPECT_GT(seen_v2.load(), 0);
    EXPECT_EQ(status(*a_).at("version"), 2);
    EXPECT_EQ(status(*b_).at("version"), 2);
    // After the swap, new events are projected once, by the new version only.
    publish(*b_, 1000, "k0");
    ASSERT_TRUE(eventually([&] {
        auto d = doc(*a_, "k0");
        return d.is_object() && d.at("n") == per_key + 1;
    }));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(doc(*b_, "k0").at("n"), per_key + 1);
}

INSTANTIATE_TEST_SUITE_P(postgres, pg_user_projectors, testing::ValuesIn(test::postgres_backends()),
                         test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_user_projectors);

}  // namespace
}  // namespace prom
