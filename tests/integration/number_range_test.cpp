// A number too large for a double (1e400, -1e400, a 5000-digit integer) is refused with 400
// on every way in, and stores nothing: it used to be stored as `inf`, which is not JSON, and
// poison its topic (docs/http-api.md, "Numbers").
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

class number_range : public server_test {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        c.projectors = {"process"};  // the heartbeat of the issue went through them
        return c;
    }
    std::int64_t events_in(std::string_view topic) {
        auto t = db().topic(topic);
        return t && *t ? (*t)->count : 0;
    }
    static std::vector<std::string> out_of_range_numbers() {
        return {"1e400", "-1e400", std::string(5000, '7')};
    }
};

TEST_F(number_range, http_publish_refuses_it_with_400_naming_the_problem) {
    for (const auto& n : out_of_range_numbers()) {
        auto r =
            post_json("/publish", R"({"topic":"heartbeat.received","payload":{"pid":1,"name":"a",)"
                                  R"("host":"h","cpu_pct":)" +
                                      n + "}}");
        EXPECT_EQ(r.status, 400) << r.body;
        auto v = parse_json(r.body);
        ASSERT_TRUE(v) << r.body;
        EXPECT_NE(std::string(v->at("message").as_string())
                      .find("number out of range at '/payload/cpu_pct'"),
                  std::string::npos)
            << r.body;
        auto batch = post_json(
            "/publish",
            R"({"events":[{"topic":"t","payload":1},{"topic":"t","payload":)" + n + "}]}");
        EXPECT_EQ(batch.status, 400) << batch.body;
    }
    EXPECT_EQ(events_in("heartbeat.received"), 0);
    EXPECT_EQ(events_in("t"), 0);
    // A large finite number is fine and round-trips.
    auto ok = post_json("/publish", R"({"topic":"t","payload":{"x":1.5e308}})");
    ASSERT_EQ(ok.status, 200) << ok.body;
    auto evs = db().scan({.topic = "t"});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 1u);
    EXPECT_EQ(canonical_json((*evs)[0].payload), R"({"x":1.5e+308})");
}

TEST_F(number_range, websocket_publish_refuses_it_with_a_bad_request_frame) {
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(port(), hs);
    ASSERT_TRUE(ws);
    ASSERT_EQ(hs.status, 101) << hs.response;
    for (const auto& n : out_of_range_numbers()) {
        ASSERT_TRUE(ws->send_text(
            R"({"op":"publish","id":"p","event":{"topic":"t","payload":{"cpu_pct":)" + n + "}}}"));
        auto text = ws->read_text();
        ASSERT_TRUE(text);
        auto v = parse_json(*text);
        ASSERT_TRUE(v) << *text;
        EXPECT_EQ(v->at("op"), "error") << *text;
        EXPECT_EQ(v->at("error"), "bad_request") << *text;
        EXPECT_NE(std::string(v->at("message").as_string()).find("number out of range"),
                  std::string::npos)
            << *text;
    }
    EXPECT_EQ(events_in("t"), 0);
}

}  // namespace
}  // namespace prom::test
