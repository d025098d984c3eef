// Read-your-writes across two `prom serve` nodes on one PostgreSQL schema: publish on A,
// read with `after` on B (docs/http-api.md, "Read-your-writes"). B learns of the
// projector's commit through NOTIFY and reads the document from the database, not from a
// cache that may not have dropped the older body yet. Only for postgres.
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

class pg_two_nodes_read_your_writes : public test::two_nodes_test {
  protected:
    void SetUp() override {
        two_nodes_test::SetUp();
        auto c = node_config();
        c.projectors = {"process"};  // both run it; the lease makes one of them active
        a_ = start(c);
        b_ = start(c);
        ASSERT_TRUE(a_ && b_);
    }
};

TEST_P(pg_two_nodes_read_your_writes, publish_on_a_then_read_after_on_b_sees_the_write) {
    constexpr int clients = 16;
    constexpr int rounds = 63;  // 1,008 publish → read pairs
    std::atomic<int> stale{0}, failed{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            const std::string id = "client-" + std::to_string(c);
            for (int n = 1; n <= rounds; ++n) {
                auto p = test::http_request(
                    a_->port(), "POST", "/publish", {{"Content-Type", "application/json"}},
                    R"({"topic":"process.state","key":")" + id + R"(","payload":{"processId":")" +
                        id + R"(","host":"h","status":"alive","n":)" + std::to_string(n) + "}}");
                auto pv = parse_json(p.body);
                if (p.status != 200 || !pv) {
                    ++failed;
                    continue;
                }
                auto seq = pv->at("results").at(0).at("seq").to_number<std::int64_t>();
                auto r = test::http_request(b_->port(), "GET",
                                            "/collections/processes/snap/" + id +
                                                "?after=process.state:" + std::to_string(seq));
                if (r.status != 200) {
                    ++failed;
                    continue;
                }
                auto v = parse_json(r.body);
                if (!v || v->at("n") != n) ++stale;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(stale.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(postgres, pg_two_nodes_read_your_writes,
                         testing::ValuesIn(test::postgres_backends()), test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_two_nodes_read_your_writes);

}  // namespace
}  // namespace prom
