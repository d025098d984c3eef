// POST /publish: answered after the durable commit; bad bodies change nothing.
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class publish_api : public server_test {
  protected:
    std::int64_t events_in(std::string_view topic) {
        auto t = db().topic(topic);
        return t && *t ? (*t)->count : 0;
    }
};

TEST_F(publish_api, one_event_is_in_the_log_when_the_answer_comes) {
    auto r = post_json("/publish",
                       R"({"topic":"orders","key":"o1","payload":{"n":1},"id":"e1","ts":1000,)"
                       R"("headers":{"h":"v"}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    auto v = parse_json(r.body);
    ASSERT_TRUE(v);
    const auto& res = v->at("results").as_array();
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].at("id"), "e1");
    EXPECT_EQ(res[0].at("seq"), 1);
    EXPECT_EQ(res[0].at("ts"), 1000);
    EXPECT_EQ(res[0].at("duplicate"), false);
    auto evs = db().scan({.topic = "orders"});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 1u);
    EXPECT_EQ((*evs)[0].key, "o1");
    EXPECT_EQ((*evs)[0].headers.at("h"), "v");
}

TEST_F(publish_api, a_batch_is_appended_in_order_and_ids_and_ts_are_generated) {
    auto r =
        post_json("/publish", R"({"events":[{"topic":"t","payload":1},{"topic":"t","payload":2},)"
                              R"({"topic":"u","payload":{"__proto__":{"x":1}}}]})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = parse_json(r.body);
    ASSERT_TRUE(v);
    const auto& res = v->at("results").as_array();
    ASSERT_EQ(res.size(), 3u);
    EXPECT_EQ(res[0].at("seq"), 1);
    EXPECT_EQ(res[1].at("seq"), 2);
    EXPECT_EQ(res[2].at("seq"), 1);
    EXPECT_FALSE(res[0].at("id").as_string().empty());
    EXPECT_GT(res[0].at("ts").to_number<std::int64_t>(), 0);
    auto u = db().scan({.topic = "u"});
    ASSERT_TRUE(u);
    EXPECT_EQ(canonical_json((*u)[0].payload), R"({"__proto__":{"x":1}})");  // just a key
}

// A body in the usual shape is read without building its JSON (src/core/canonical_event.hpp);
// one with an escape or headers goes the general way. The stored payload is the same.
TEST_F(publish_api, a_payload_is_stored_in_canonical_form_however_the_body_was_read) {
    for (std::string body : {
             " { \"topic\" : \"c\", \"key\":\"k\", \"payload\" : { \"b\" : [ 1 , 2.5, "
             "{\"y\":true,\"x\":null} ], \"a\" : \"é\" } }",
             R"({"topic":"c","key":"k","payload":{"b":[1,2.5,{"y":true,"x":null}],"a":"\u00e9"}})",
             R"({"topic":"c","key":"k","payload":{"b":[1,2.5,{"y":true,"x":null}],"a":"é"},)"
             R"("headers":{"h":"v"}})",
             R"({"topic":"c","key":"k","payload":{"a":"é","b":[1,25e-1,{"x":null,"y":true}]}})",
         }) {
        ASSERT_EQ(post_json("/publish", body).status, 200) << body;
    }
    auto evs = db().scan({.topic = "c"});
    ASSERT_TRUE(evs);
    ASSERT_EQ(evs->size(), 4u);
    for (const auto& e : *evs) {
        EXPECT_EQ(canonical_json(e.payload), R"({"a":"é","b":[1,2.5,{"x":null,"y":true}]})");
        EXPECT_EQ(e.key, "k");
    }
}

TEST_F(publish_api, a_known_id_is_a_duplicate_with_the_original_seq) {
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","id":"x","payload":1})").status, 200);
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","payload":2})").status, 200);
    auto r = post_json("/publish", R"({"topic":"t","id":"x","payload":3})");
    ASSERT_EQ(r.status, 200);
    auto v = parse_json(r.body);
    EXPECT_EQ(v->at("results").at(0).at("seq"), 1);
    EXPECT_EQ(v->at("results").at(0).at("duplicate"), true);
    EXPECT_EQ(events_in("t"), 2);
}

TEST_F(publish_api, bodies_must_be_application_json) {
    const std::string body = R"({"topic":"t","payload":1})";
    EXPECT_EQ(http_request(port(), "POST", "/publish", {}, body).status, 415);
    EXPECT_EQ(
        http_request(port(), "POST", "/publish", {{"Content-Type", "text/plain"}}, body).status,
        415);
    EXPECT_EQ(
        http_request(port(), "POST", "/publish", {{"Content-Type", "application/jsonx"}}, body)
            .status,
        415);
    auto r = http_request(port(), "POST", "/publish",
                          {{"Content-Type", "application/x-www-form-urlencoded"}}, body);
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(parse_json(r.body)->at("error"), "unsupported_media_type");
    EXPECT_EQ(events_in("t"), 0);
    // Content-Type on two lines, in either order: a proxy that read the other one would
    // have judged another type (found from outside: json first passed).
    for (auto [one, two] : {std::pair{"application/json", "text/plain"},
                            std::pair{"text/plain", "application/json"}}) {
        auto twice = http_request(port(), "POST", "/publish",
                                  {{"Content-Type", one}, {"Content-Type", two}}, body);
        EXPECT_EQ(twice.status, 400) << twice.body;
        EXPECT_NE(twice.body.find("Content-Type header is given twice"), std::string::npos);
    }
    EXPECT_EQ(events_in("t"), 0);
    EXPECT_EQ(http_request(port(), "POST", "/publish",
                           {{"Content-Type", "Application/JSON; charset=utf-8"}}, body)
                  .status,
              200);
}

TEST_F(publish_api, bad_bodies_are_400_and_append_nothing) {
    std::string deep(200, '[');
    deep += std::string(200, ']');
    std::string deep_payload =
        R"({"topic":"t","payload":)" + std::string(100, '[') + std::string(100, ']') + "}";
    const std::string bad[] = {
        "",
        "{",
        "not json",
        R"({"topic":"t","payload":1,})",
        R"({"topic":"t","payload":1} trailing)",
        deep,
        deep_payload,
        "{\"topic\":\"t\",\"payload\":\"\xC3\x28\"}",      // invalid UTF-8
        "{\"topic\":\"t\",\"payload\":\"\xED\xA0\x80\"}",  // a UTF-16 surrogate in UTF-8
        R"({"payload":1})",
        R"({"topic":"t"})",
        R"({"topic":"","payload":1})",
        R"({"topic":7,"payload":1})",
        R"({"topic":"t","payload":1,"ts":"soon"})",
        R"({"topic":"t","payload":1,"ts":-1})",
        R"({"topic":"t","payload":1,"ts":253402300800000})",  // after 9999-12-31T23:59:59.999Z
        R"({"topic":"t","payload":1,"ts":"10000-01-01T00:00:00Z"})",
        R"({"topic":"t","payload":1,"headers":{"h":1}})",
        R"({"topic":"t","payload":1,"unknown":1})",
        R"({"events":[]})",
        R"({"events":{}})",
        R"({"events":[{"topic":"t","payload":1},{"payload":2}]})",
        R"([{"topic":"t","payload":1}])",
        R"("just a string")",
    };
    for (const auto& b : bad) {
        auto r = post_json("/publish", b);
        EXPECT_EQ(r.status, 400) << b;
        EXPECT_EQ(r.header("Cache-Control"), "no-store");
        auto e = parse_json(r.body);
        ASSERT_TRUE(e) << b;
        EXPECT_TRUE(e->at("error").is_string());
        EXPECT_TRUE(e->at("message").is_string());
    }
    EXPECT_EQ(events_in("t"), 0);
    auto topics = db().topics();
    ASSERT_TRUE(topics);
    EXPECT_TRUE(topics->empty());
    EXPECT_EQ(get("/healthz").status, 200);
}

// A payload's depth limit is its own, the same alone and in a batch (and for `prom publish`
// and the WebSocket): 64 levels are taken, 65 are refused as too deep, not as malformed
// (found from outside: 63 alone, 61 in a batch, "malformed JSON: too deep").
TEST_F(publish_api, a_payload_of_64_levels_is_taken_alone_and_in_a_batch_and_65_are_not) {
    auto nested = [](int levels) { return std::string(levels, '[') + std::string(levels, ']'); };
    EXPECT_EQ(post_json("/publish", R"({"topic":"d","payload":)" + nested(64) + "}").status, 200);
    EXPECT_EQ(
        post_json("/publish", R"({"events":[{"topic":"d","payload":)" + nested(64) + "}]}").status,
        200);
    for (const std::string& body :
         {R"({"topic":"d","payload":)" + nested(65) + "}",
          R"({"events":[{"topic":"d","payload":1},{"topic":"d","payload":)" + nested(65) + "}]}"}) {
        auto r = post_json("/publish", body);
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_NE(r.body.find("the payload nests deeper than 64 levels"), std::string::npos)
            << r.body;
    }
    EXPECT_EQ(events_in("d"), 2);
}

// A misspelt wait_for would publish without the wait the client asked for and answer as if
// it had waited: every parameter POST /publish does not take is refused, appending nothing.
TEST_F(publish_api, a_parameter_publish_does_not_take_is_400_and_appends_nothing) {
    const std::string body = R"({"topic":"t","payload":1})";
    // A wait_for naming no possible collection is bad input too, not 422 "no projector"
    // (found from outside).
    for (const std::string target :
         {"/publish?waitfor=processes", "/publish?wait=3", "/publish?x=1",
          "/publish?wait_for=processes&wait_for%3D=1", "/publish?wait_for=bad%20name"}) {
        auto r = post_json(target, body);
        EXPECT_EQ(r.status, 400) << target;
        auto e = parse_json(r.body);
        ASSERT_TRUE(e) << target;
        EXPECT_EQ(e->at("error"), "bad_request") << target;
        EXPECT_TRUE(e->at("message").is_string());
    }
    EXPECT_NE(
        post_json("/publish?waitfor=processes", body).body.find("unknown parameter 'waitfor'"),
        std::string::npos);
    EXPECT_NE(post_json("/publish?wait=3", body).body.find("wait needs wait_for"),
              std::string::npos);
    EXPECT_EQ(events_in("t"), 0);
    EXPECT_EQ(post_json("/publish?", body).status, 200);  // an empty query is no parameter
}

TEST_F(publish_api, bodies_over_the_limit_are_413) {
    std::string big =
        R"({"topic":"t","payload":")" + std::string(std::size_t{210} * 1024, 'x') + "\"}";
    auto r = post_json("/publish", big);
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(parse_json(r.body)->at("error"), "too_large");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    // Announced but not sent: refused from the headers alone.
    http_connection c(port());
    c.send_raw(
        "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 10000000\r\n\r\n{");
    auto announced = c.read_reply();
    ASSERT_TRUE(announced);
    EXPECT_EQ(announced->status, 413);
    EXPECT_EQ(events_in("t"), 0);
    EXPECT_EQ(post_json("/publish", R"({"topic":"t","payload":1})").status, 200);
}

TEST_F(publish_api, expect_100_continue_is_answered_before_the_body_is_sent) {
    const std::string body = R"({"topic":"t","payload":1})";
    http_connection c(port());
    ASSERT_TRUE(
        c.send_raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   "Expect: 100-continue\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n"));
    auto interim = c.read_reply();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(c.send_raw(body));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(events_in("t"), 1);
}

TEST_F(publish_api, concurrent_publishers_each_get_their_own_durable_answer) {
    constexpr int threads = 8, per_thread = 20;
    std::vector<std::thread> ts;
    ts.reserve(threads);
    std::atomic<int> ok{0};
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            http_connection c(port());
            for (int i = 0; i < per_thread; ++i) {
                auto r = c.request("POST", "/publish", {{"Content-Type", "application/json"}},
                                   R"({"topic":"c","id":")" + std::to_string(t) + "-" +
                                       std::to_string(i) + R"(","payload":1})");
                if (r && r->status == 200) ++ok;
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(ok.load(), threads * per_thread);
    EXPECT_EQ(events_in("c"), threads * per_thread);
}

}  // namespace
}  // namespace prom::test
