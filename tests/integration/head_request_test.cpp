// HEAD never carries content, whatever the status (RFC 9110 §9.3.2; issue 12 item 1): an
// error answered with a body would be read by a keep-alive client as the next response.
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class head_request : public server_test {};

TEST_F(head_request, error_answers_to_head_carry_no_body_on_a_keep_alive_connection) {
    http_connection c(port());
    ASSERT_TRUE(c.connected());
    for (std::string_view target :
         {"/snap/nope", "/list?limit=0", "/no/such/route", "/at/t/k?t=nonsense", "/at/t/k?t=1",
          "/collections/bad$name/list", "/collections/processes/snap/nope"}) {
        auto h = c.request("HEAD", target);
        ASSERT_TRUE(h) << target;
        EXPECT_GE(h->status, 400) << target;
        EXPECT_TRUE(h->body.empty()) << target;
        EXPECT_EQ(h->header("Content-Type"), "application/json") << target;
        // The GET of the same target states the same length, and has the body.
        auto g = c.request("GET", target);
        ASSERT_TRUE(g) << target << ": the HEAD answer left bytes behind";
        EXPECT_EQ(g->status, h->status) << target;
        EXPECT_EQ(h->header("Content-Length"), std::to_string(g->body.size())) << target;
        EXPECT_FALSE(g->body.empty()) << target;
    }
    // A method error on HEAD-less routes too: HEAD /publish is 405 with no body.
    auto p = c.request("HEAD", "/publish");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->status, 405);
    auto ok = c.request("GET", "/healthz");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

TEST_F(head_request, pipelined_heads_are_answered_in_order_without_bodies) {
    http_connection c(port());
    ASSERT_TRUE(
        c.send_raw("HEAD /snap/nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                   "HEAD /list?limit=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                   "HEAD /no/such/route HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    for (int want : {404, 400, 404}) {
        auto r = c.read_reply(true);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, want);
    }
    auto last = c.read_reply();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->status, 200);
    EXPECT_EQ(last->body, R"({"db":"up","status":"ok"})");
}

}  // namespace
}  // namespace prom::test
