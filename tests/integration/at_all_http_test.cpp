// GET /at/{topic}?t=T: every key's state at T over HTTP (docs/http-api.md,
// docs/time-travel.md), the answer the dashboard's time slider shows. Runs on SQLite and,
// with the `.postgres` suffix, on PostgreSQL (the contract suite covers memory too).
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class at_all_http : public server_test {
  protected:
    void publish(std::string_view key, std::int64_t ts, std::string_view payload) {
        auto r = post_json("/publish", R"({"topic":"process.state","key":")" + std::string(key) +
                                           R"(","ts":)" + std::to_string(ts) + R"(,"payload":)" +
                                           std::string(payload) + "}");
        ASSERT_EQ(r.status, 200) << r.body;
    }
    json::object at(std::string_view query) {
        auto r = get("/at/process.state?" + std::string(query));
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.header("Content-Type"), "application/json");
        EXPECT_EQ(r.header("Cache-Control"), "no-store");
        auto v = parse_json(r.body);
        return v && v->is_object() ? v->as_object() : json::object{};
    }
};

TEST_F(at_all_http, answers_every_keys_state_at_t) {
    publish("h:a:1", 1000, R"({"status":"alive","host":"h"})");
    publish("h:b:2", 2000, R"({"status":"alive","host":"h"})");
    publish("h:a:1", 3000, R"({"status":"stale","host":"h"})");

    EXPECT_EQ(canonical_json(at("t=999")), R"({"count":0,"items":[],"t":999,"truncated":false})");
    auto t2 = at("t=2500");
    EXPECT_EQ(canonical_json(t2.at("items")),
              R"([{"key":"h:a:1","seq":1,"state":{"host":"h","status":"alive"},"ts":1000},)"
              R"({"key":"h:b:2","seq":2,"state":{"host":"h","status":"alive"},"ts":2000}])");
    auto t3 = at("t=1970-01-01T00:00:03Z");  // ISO-8601 as for the one-key route
    EXPECT_EQ(t3.at("t").as_int64(), 3000);
    EXPECT_EQ(canonical_json(t3.at("items").as_array()[0].at("state")),
              R"({"host":"h","status":"stale"})");
    auto limited = at("t=5000&limit=1");
    EXPECT_EQ(limited.at("count").as_int64(), 1);
    EXPECT_TRUE(limited.at("truncated").as_bool());
    EXPECT_EQ(at("t=5000&reducer=merge").at("count").as_int64(), 2);

    auto unknown_topic = get("/at/nothing.here?t=5000");
    EXPECT_EQ(unknown_topic.status, 200);
    EXPECT_EQ(unknown_topic.body, R"({"count":0,"items":[],"t":5000,"truncated":false})");
    auto h = head("/at/process.state?t=2500");
    EXPECT_EQ(h.status, 200);
    EXPECT_TRUE(h.body.empty());
}

TEST_F(at_all_http, bad_input_is_a_clear_400) {
    for (std::string_view target :
         {"/at/process.state", "/at/process.state?t=yesterday", "/at/process.state?t=1&x=1",
          "/at/process.state?t=1&limit=0", "/at/process.state?t=1&limit=100001",
          "/at/process.state?t=1&limit=ten", "/at/process.state?t=1&reducer=sum",
          // A parameter given twice: which value counts would be a guess.
          "/at/process.state?t=1&t=2", "/at/process.state?t=1&reducer=merge&reducer=replace",
          "/at/process.state?t=1&limit=1&limit=5", "/at/process.state/p-1?t=9&t=1"}) {
        auto r = get(target);
        EXPECT_EQ(r.status, 400) << target << " " << r.body;
        EXPECT_NE(r.body.find(R"("error":")"), std::string::npos) << target;
        EXPECT_NE(r.body.find(R"("message":)"), std::string::npos) << target;
    }
    auto post = post_json("/at/process.state?t=1", "{}");
    EXPECT_EQ(post.status, 405);
    // The one-key route keeps its meaning; an empty key segment is still 400.
    EXPECT_EQ(get("/at/process.state/?t=1").status, 400);
}

class at_all_http_with_auth : public at_all_http {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        auto p = auth::auth_policy::from_json(
            *parse_json(R"({"tokens":[{"token":"state-reader","subscribe":["process.*"]},)"
                        R"({"token":"other-reader","subscribe":["orders"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(at_all_http_with_auth, needs_the_subscribe_permission_of_the_topic) {
    EXPECT_EQ(get("/at/process.state?t=1").status, 401);
    EXPECT_EQ(get("/at/process.state?t=1", {{"Authorization", "Bearer other-reader"}}).status, 403);
    EXPECT_EQ(get("/at/process.state?t=1", {{"Authorization", "Bearer state-reader"}}).status, 200);
}

}  // namespace
}  // namespace prom::test
