// Tokens over HTTP: refusals carry proper status lines and are counted by /metrics
// (issue 12 item 4).
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

constexpr std::string_view token = "reader-token-1";

class auth_http : public server_test {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        auto p = auth::auth_policy::from_json(*parse_json(
            R"({"tokens":[{"token":"reader-token-1","read":["processes"],"subscribe":["t"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
    static std::vector<std::pair<std::string, std::string>> bearer() {
        return {{"Authorization", "Bearer " + std::string(token)}};
    }
};

TEST_F(auth_http, refusals_have_reason_phrases_and_are_counted_by_metrics) {
    auto unauthorized = get("/list");
    EXPECT_EQ(unauthorized.status, 401);
    EXPECT_EQ(unauthorized.reason, "Unauthorized");
    EXPECT_EQ(unauthorized.header("WWW-Authenticate"), "Bearer");
    auto forbidden = get("/collections/host_stats/list", bearer());
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_EQ(forbidden.reason, "Forbidden");
    EXPECT_EQ(get("/list", bearer()).reason, "OK");
    EXPECT_EQ(get("/no/such/route").reason, "Not Found");

    auto m = get("/metrics");
    ASSERT_EQ(m.status, 200);
    EXPECT_NE(m.body.find(R"(prom_http_requests_total{route="/list",status="401"} 1)"),
              std::string::npos)
        << m.body;
    EXPECT_NE(
        m.body.find(R"(prom_http_requests_total{route="/collections/{name}/list",status="403"} 1)"),
        std::string::npos)
        << m.body;
    EXPECT_EQ(m.body.find(R"(status="other")"), std::string::npos) << m.body;
}

}  // namespace
}  // namespace prom::test
