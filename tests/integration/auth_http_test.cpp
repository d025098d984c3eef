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
    put("processes", "p-1", {{"status", "alive"}});
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

// `OPTIONS *` holds no data (the server's methods), like /healthz: no token needed. A route
// still wants one, whatever the method.
TEST_F(auth_http, options_asterisk_needs_no_token_and_a_route_still_does) {
    auto r = http_request(port(), "OPTIONS", "*", {});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Allow"), "GET, HEAD, POST, PUT, DELETE");
    EXPECT_EQ(get("/list").status, 401);
}

// A browser is not shown why its WebSocket upgrade was refused; a plain GET /ws tells it
// whether the token is still taken: 401 without a valid one, else the usual 400.
TEST_F(auth_http, a_plain_get_of_the_gateway_says_401_for_a_token_it_would_refuse) {
    auto refused = get("/ws", {{"Authorization", "Bearer nobody-1"}});
    EXPECT_EQ(refused.status, 401);
    EXPECT_EQ(refused.header("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(get("/ws").status, 401);
    EXPECT_EQ(get("/ws", bearer()).status, 400);
    EXPECT_EQ(get("/ws?token=" + std::string(token)).status, 400);  // as browsers send it
    EXPECT_EQ(get("/ws?token=nobody-1").status, 401);
}

// Authorization is no list (RFC 9110): with two lines, a proxy in front may have checked the
// other one. Refused on every route and on the WebSocket upgrade, whichever line is valid.
TEST_F(auth_http, two_authorization_headers_are_a_400) {
    put("processes", "p-1", {{"status", "alive"}});
    const std::vector<std::pair<std::string, std::string>> twice = {
        {"Authorization", "Bearer " + std::string(token)}, {"Authorization", "Bearer nobody-1"}};
    for (std::string_view target : {"/list", "/healthz", "/at/t/k?t=1"}) {
        auto r = get(target, twice);
        EXPECT_EQ(r.status, 400) << target;
        EXPECT_NE(r.body.find("given twice"), std::string::npos) << r.body;
    }
    auto upgrade = twice;
    upgrade.insert(upgrade.end(), {{"Connection", "Upgrade"},
                                   {"Upgrade", "websocket"},
                                   {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                   {"Sec-WebSocket-Version", "13"}});
    auto ws = get("/ws", upgrade);
    EXPECT_EQ(ws.status, 400) << ws.body;
    EXPECT_EQ(get("/list", bearer()).status, 200);
}

// Who asks comes before what is asked: a publish without a valid token is 401 whatever its
// body holds (found from outside: a bad body was answered 400 first), and appends nothing.
TEST_F(auth_http, a_publish_without_a_valid_token_is_401_before_its_body_is_read) {
    for (const auto& auth :
         {std::vector<std::pair<std::string, std::string>>{},
          std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer nobody-1"}}}) {
        for (std::string_view body :
             {R"({})", "not json", R"({"topic":"t","payload":1e400})",
              R"({"topic":"t","id":"prom-x","payload":1})", R"({"topic":"t","payload":1})"}) {
            auto headers = auth;
            headers.emplace_back("Content-Type", "application/json");
            auto r = http_request(port(), "POST", "/publish", headers, body);
            EXPECT_EQ(r.status, 401) << body;
            EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer") << body;
        }
        auto wrong_type = auth;
        wrong_type.emplace_back("Content-Type", "text/plain");
        EXPECT_EQ(http_request(port(), "POST", "/publish", wrong_type, "{}").status, 401);
    }
    auto topics = db().topics();
    ASSERT_TRUE(topics);
    EXPECT_TRUE(topics->empty());
    // Reads too: a malformed `after` is judged only once the token is.
    for (std::string_view read :
         {"/list?after=zz", "/collections/processes/list?after=zz", "/snap/k?after=t:1&wait=zz"}) {
        EXPECT_EQ(get(read).status, 401) << read;
        EXPECT_EQ(get(read, bearer()).status, 400) << read;
    }
    // A valid token that may not publish: 403 once the body names the topic.
    auto headers = bearer();
    headers.emplace_back("Content-Type", "application/json");
    EXPECT_EQ(
        http_request(port(), "POST", "/publish", headers, R"({"topic":"t","payload":1})").status,
        403);
}

}  // namespace
}  // namespace prom::test
