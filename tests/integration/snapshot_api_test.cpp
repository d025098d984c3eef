// GET/HEAD /snap/{key} and /collections/{name}/snap/{key}: docs/http-api.md and
// docs/etag-semantics.md, rule by rule.
#include "http/http_date.hpp"
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class snapshot_api : public server_test {
  protected:
    document seed(std::string_view key = "host:stt:7", std::int64_t ts = 1'700'000'000'123) {
        return put("processes", key,
                   json::object{{"name", "stt"}, {"pid", 7}, {"status", "alive"}, {"_ts", ts}});
    }
};

// Every header but Date, which may tick between two requests.
std::vector<std::pair<std::string, std::string>> without_date(const http_reply& r) {
    auto h = r.headers;
    std::erase_if(h, [](const auto& kv) { return kv.first == "Date"; });
    return h;
}

TEST_F(snapshot_api, get_returns_the_stored_body_with_its_stored_etag) {
    auto d = seed();
    auto r = get("/snap/host:stt:7");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, d.body);
    EXPECT_EQ(r.header("ETag"), d.etag);
    EXPECT_EQ(r.header("ETag"), etag_of(d.body));  // a hash of the canonical JSON
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(r.header("Content-Length"), std::to_string(d.body.size()));
    EXPECT_EQ(r.header("Cache-Control"), "public, max-age=5");
    EXPECT_EQ(r.header("Last-Modified"), http::format_http_date(1'700'000'000));
    EXPECT_TRUE(r.header("Date"));
}

TEST_F(snapshot_api, head_and_get_share_every_header_including_content_length) {
    seed();
    auto g = get("/snap/host:stt:7");
    auto h = head("/snap/host:stt:7");
    ASSERT_EQ(g.status, 200);
    ASSERT_EQ(h.status, 200);
    EXPECT_EQ(without_date(g), without_date(h));
    EXPECT_TRUE(h.body.empty());
    // The same holds for a 304 and for a 404.
    auto etag = *g.header("ETag");
    auto g304 = get("/snap/host:stt:7", {{"If-None-Match", etag}});
    auto h304 = head("/snap/host:stt:7", {{"If-None-Match", etag}});
    EXPECT_EQ(g304.status, 304);
    EXPECT_EQ(without_date(g304), without_date(h304));
    auto g404 = get("/snap/nope");
    auto h404 = head("/snap/nope");
    EXPECT_EQ(h404.status, 404);
    EXPECT_EQ(without_date(g404), without_date(h404));
}

TEST_F(snapshot_api, a_matching_if_none_match_answers_304_with_etag_and_cache_control_only) {
    auto d = seed();
    http_connection c(port());
    auto r = c.request("GET", "/snap/host:stt:7", {{"If-None-Match", d.etag}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 304);
    EXPECT_EQ(r->header("ETag"), d.etag);
    EXPECT_EQ(r->header("Cache-Control"), "public, max-age=5");
    EXPECT_EQ(r->header("Last-Modified"), http::format_http_date(1'700'000'000));
    EXPECT_FALSE(r->header("Content-Type"));
    EXPECT_FALSE(r->header("Content-Length"));
    // No body was sent: the next reply on the same connection parses.
    auto next = c.request("GET", "/snap/host:stt:7");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, d.body);
}

TEST_F(snapshot_api, if_none_match_takes_lists_weak_tags_and_star) {
    auto d = seed();
    std::string weak = "W/" + d.etag;
    for (std::string inm : {d.etag, weak, "\"x\", " + d.etag, "\"a\",\"b\" ,  " + weak,
                            std::string("*"), std::string("\"x\", *")}) {
        EXPECT_EQ(get("/snap/host:stt:7", {{"If-None-Match", inm}}).status, 304) << inm;
        EXPECT_EQ(head("/snap/host:stt:7", {{"If-None-Match", inm}}).status, 304) << inm;
    }
    for (std::string inm : {std::string("\"x\""), std::string("W/\"x\", \"y\""),
                            d.etag.substr(1, d.etag.size() - 2), std::string("")}) {
        EXPECT_EQ(get("/snap/host:stt:7", {{"If-None-Match", inm}}).status, 200) << inm;
    }
    // Two If-None-Match lines form one list.
    http_connection c(port());
    c.send_raw(
        "GET /snap/host:stt:7 HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: "
        "\"x\"\r\nIf-None-Match: " +
        d.etag + "\r\n\r\n");
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 304);
}

TEST_F(snapshot_api, star_on_an_unknown_key_is_still_404) {
    EXPECT_EQ(get("/snap/nope", {{"If-None-Match", "*"}}).status, 404);
}

TEST_F(snapshot_api, if_modified_since_alone_answers_304_when_ts_is_not_newer) {
    seed("k", 1'700'000'000'999);  // 999 ms: truncated to the second
    auto same = http::format_http_date(1'700'000'000);
    auto later = http::format_http_date(1'700'000'100);
    auto earlier = http::format_http_date(1'699'999'999);
    auto r = get("/snap/k", {{"If-Modified-Since", same}});
    EXPECT_EQ(r.status, 304);
    EXPECT_TRUE(r.header("ETag"));
    EXPECT_EQ(r.header("Cache-Control"), "public, max-age=5");
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", later}}).status, 304);
    EXPECT_EQ(head("/snap/k", {{"If-Modified-Since", later}}).status, 304);
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", earlier}}).status, 200);
    // The two obsolete date formats are accepted, garbage is ignored.
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT"}}).status,
              304);
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", "Tue Nov 14 22:13:20 2023"}}).status, 304);
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", "yesterday"}}).status, 200);
    // Two lines are a list of two dates, which RFC 9110 13.1.3 has ignored (found from
    // outside: the first line was used).
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", later}, {"If-Modified-Since", earlier}}).status,
              200);
    EXPECT_EQ(get("/snap/k", {{"If-Modified-Since", later}, {"If-Modified-Since", later}}).status,
              200);
}

TEST_F(snapshot_api, if_none_match_takes_precedence_over_if_modified_since) {
    auto d = seed("k", 1'700'000'000'000);
    auto later = http::format_http_date(1'800'000'000);
    auto earlier = http::format_http_date(1'600'000'000);
    EXPECT_EQ(get("/snap/k", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", later}}).status,
              200);
    EXPECT_EQ(get("/snap/k", {{"If-None-Match", d.etag}, {"If-Modified-Since", earlier}}).status,
              304);
}

TEST_F(snapshot_api, unknown_keys_are_404_json_errors_with_no_store) {
    auto r = get("/snap/nope");
    EXPECT_EQ(r.status, 404);
    auto body = parse_json(r.body);
    ASSERT_TRUE(body);
    EXPECT_EQ(body->at("error"), "not_found");
    EXPECT_TRUE(body->at("message").is_string());
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_FALSE(r.header("ETag"));
    EXPECT_EQ(get("/snap/").status, 404);
    EXPECT_EQ(get("/collections/nope/snap/x").status, 404);
}

TEST_F(snapshot_api, keys_are_percent_decoded_exactly_once) {
    auto slash = put("processes", "a/b c", {{"v", 1}});
    auto literal = put("processes", "%41", {{"v", 2}});
    auto unicode = put("processes", "h\xC3\xA9", {{"v", 3}});
    EXPECT_EQ(get("/snap/a%2Fb%20c").body, slash.body);
    EXPECT_EQ(get("/snap/%2541").body, literal.body);  // %25 → '%', not decoded again
    EXPECT_EQ(get("/snap/%41").status, 404);           // "A", not "%41"
    EXPECT_EQ(get("/snap/h%C3%A9").body, unicode.body);
    EXPECT_EQ(get("/snap/a/b%20c").status, 404);  // a real slash is another path segment
    EXPECT_EQ(get("/snap/..%2F..%2Fetc%2Fpasswd").status, 404);
    EXPECT_EQ(get("/snap/%zz").status, 400);  // not a percent-encoding
}

TEST_F(snapshot_api, the_collections_route_serves_any_collection) {
    auto d = put("host_stats", "h1", {{"seen", 3}});
    auto r = get("/collections/host_stats/snap/h1");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, d.body);
    EXPECT_EQ(r.header("ETag"), d.etag);
    EXPECT_EQ(get("/snap/h1").status, 404);  // not in the default collection
    EXPECT_EQ(head("/collections/host_stats/snap/h1").status, 200);
}

TEST_F(snapshot_api, a_commit_is_served_at_once_not_after_the_cache_expires) {
    seed("k", 1000);
    auto before = get("/snap/k");
    ASSERT_EQ(before.status, 200);
    auto d = put("processes", "k", {{"status", "stale"}, {"_ts", 2000}});
    auto after = get("/snap/k");
    EXPECT_EQ(after.body, d.body);
    EXPECT_EQ(after.header("ETag"), d.etag);
    EXPECT_NE(after.header("ETag"), before.header("ETag"));
    EXPECT_EQ(get("/snap/k", {{"If-None-Match", *before.header("ETag")}}).status, 200);
}

TEST_F(snapshot_api, etags_are_stable_across_restarts) {
    auto d = seed();
    auto before = get("/snap/host:stt:7");
    restart();
    auto after = get("/snap/host:stt:7");
    EXPECT_EQ(after.header("ETag"), before.header("ETag"));
    EXPECT_EQ(after.header("ETag"), d.etag);
    EXPECT_EQ(get("/snap/host:stt:7", {{"If-None-Match", d.etag}}).status, 304);
}

TEST_F(snapshot_api, wrong_methods_are_405_and_unknown_routes_404) {
    seed();
    for (auto m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
        auto r = http_request(port(), m, "/snap/host:stt:7", {{"Content-Type", "application/json"}},
                              "{}");
        EXPECT_EQ(r.status, 405) << m;
        EXPECT_EQ(r.header("Allow"), "GET, HEAD") << m;
        EXPECT_EQ(r.header("Cache-Control"), "no-store");
    }
    EXPECT_EQ(get("/publish").status, 405);
    EXPECT_EQ(get("/publish").header("Allow"), "POST");
    EXPECT_EQ(post_json("/list", "{}").status, 405);
    // "/" redirects to the dashboard (dashboard_static_test.cpp).
    for (auto t : {"/snap", "/snap/a/b", "/collections/processes", "/nope", "/list/x",
                   "/collections/processes/snap", "/SNAP/host:stt:7"}) {
        auto r = get(t);
        EXPECT_EQ(r.status, 404) << t;
        auto body = parse_json(r.body);
        ASSERT_TRUE(body) << t;
        EXPECT_EQ(body->at("error"), "not_found");
    }
}

TEST_F(snapshot_api, keep_alive_serves_many_requests_on_one_connection) {
    auto d = seed();
    http_connection c(port());
    for (int i = 0; i < 50; ++i) {
        auto r = c.request(i % 2 ? "HEAD" : "GET", "/snap/host:stt:7");
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header("ETag"), d.etag);
    }
    // Pipelined requests are answered in order.
    ASSERT_TRUE(
        c.send_raw("GET /snap/host:stt:7 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                   "GET /snap/nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    EXPECT_EQ(c.read_reply()->status, 200);
    EXPECT_EQ(c.read_reply()->status, 404);
}

// A page is bounded in bytes as well as in documents (64 MiB): /list?limit=1000 over
// documents of up to 16 MiB each would otherwise hold 16 GB before it answered.
TEST_F(snapshot_api, a_list_page_past_64_mib_is_a_413_that_says_to_ask_for_fewer) {
    const std::string blob(15u << 20, 'x');  // five of these pass 64 MiB, four do not
    for (int i = 0; i < 5; ++i) {
        put("processes", "big" + std::to_string(i),
            json::object{{"blob", blob}, {"_ts", 1'700'000'000'000 + i}});
    }
    auto r = get("/list?limit=5");
    ASSERT_EQ(r.status, 413);
    auto body = parse_json(r.body);
    ASSERT_TRUE(body && body->is_object()) << r.body;
    EXPECT_EQ(body->at("error"), "too_large");
    EXPECT_EQ(body->at("message"),
              "the documents asked for (limit=5) hold more than 64 MiB: ask for fewer with a "
              "smaller limit");
    auto fewer = get("/list?limit=2");
    ASSERT_EQ(fewer.status, 200);
    EXPECT_TRUE(fewer.body.starts_with(R"({"count":2,"items":[)")) << fewer.body.substr(0, 40);
    EXPECT_GT(fewer.body.size(), 2 * blob.size());
}

TEST_F(snapshot_api, get_ws_without_an_upgrade_is_a_json_400) {
    auto r = get("/ws");
    EXPECT_EQ(r.status, 400);
    auto body = parse_json(r.body);
    ASSERT_TRUE(body);
    EXPECT_EQ(body->at("error"), "bad_request");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    // Closed, as every refused upgrade is (docs/ws-protocol.md).
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_EQ(post_json("/ws", "{}").status, 405);
}

}  // namespace
}  // namespace prom::test
