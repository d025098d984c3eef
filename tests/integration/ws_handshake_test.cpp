// The WebSocket opening handshake and close codes, against RFC 6455 (issue 12 items 2, 16):
// every refused upgrade is the server's JSON error with an HTTP/1.1 status line, and a
// close code that may not be sent is answered with 1002.
#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class ws_handshake : public server_test {
  protected:
    // Sends `request` on a fresh connection and reads the one answer.
    http_reply raw(const std::string& request, bool head = false) {
        http_connection c(port());
        EXPECT_TRUE(c.send_raw(request));
        auto r = c.read_reply(head);
        return r ? *r : http_reply{};
    }

    static std::string upgrade(std::string_view method = "GET", std::string_view version = "1.1",
                               std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==") {
        std::string r = std::string(method) + " /ws HTTP/" + std::string(version) +
                        "\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
        if (!key.empty()) r += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
        return r + "\r\n";
    }

    // A refusal is JSON, no-store, and names what was wrong.
    static void expect_json_error(const http_reply& r, int status, std::string_view code) {
        EXPECT_EQ(r.status, status);
        EXPECT_EQ(r.header("Content-Type"), "application/json");
        EXPECT_EQ(r.header("Cache-Control"), "no-store");
        auto v = parse_json(r.body);
        ASSERT_TRUE(v && v->is_object()) << r.body;
        EXPECT_EQ(v->at("error"), json::value(code)) << r.body;
        EXPECT_TRUE(v->at("message").is_string()) << r.body;
    }
};

TEST_F(ws_handshake, a_key_that_is_not_the_base64_of_16_bytes_is_refused_with_400) {
    for (std::string key : {"abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=",
                            "dGhlIHNhbXBsZSBub25jZSE=", "dGhlIHNhbXBsZSBub25jZQ==dGhl",
                            "dGhlIHNhbXBsZSBub25jZ!==", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
        auto r = raw(upgrade("GET", "1.1", key));
        expect_json_error(r, 400, "bad_request");
        EXPECT_NE(r.body.find("Sec-WebSocket-Key"), std::string::npos) << key << ": " << r.body;
    }
    expect_json_error(raw(upgrade("GET", "1.1", "")), 400, "bad_request");  // no key at all
    raw_ws::handshake hs;
    auto ok = raw_ws::connect(port(), hs, "/ws", {}, "13", "AAAAAAAAAAAAAAAAAAAAAA==");
    EXPECT_EQ(hs.status, 101) << hs.response;
}

// docs/http-api.md: prom_http_requests_total counts requests by route and status; an upgrade
// on /ws is a request too, whether it is refused or becomes a session.
TEST_F(ws_handshake, upgrades_are_counted_in_the_request_metrics_refused_or_not) {
    expect_json_error(raw(upgrade("GET", "1.1", "abc")), 400, "bad_request");
    raw_ws::handshake hs;
    auto ok = raw_ws::connect(port(), hs, "/ws", {}, "13", "AAAAAAAAAAAAAAAAAAAAAA==");
    ASSERT_EQ(hs.status, 101) << hs.response;
    // The 101 is counted once it is written, which the client may see first (a loaded
    // machine made a single look too early).
    http_reply m;
    EXPECT_TRUE(test::eventually(
        [&] {
            m = get("/metrics");
            return m.body.find(R"(prom_http_requests_total{route="/ws",status="101"} 1)") !=
                   std::string::npos;
        },
        5s))
        << m.body;
    EXPECT_NE(m.body.find(R"(prom_http_requests_total{route="/ws",status="400"} 1)"),
              std::string::npos)
        << m.body;
}

TEST_F(ws_handshake, http_1_0_gets_an_http_1_1_json_400) {
    http_connection c(port());
    ASSERT_TRUE(c.send_raw(upgrade("GET", "1.0")));
    auto r = c.read_reply();  // read_reply accepts only an "HTTP/1.1 " status line
    ASSERT_TRUE(r) << "no HTTP/1.1 answer";
    expect_json_error(*r, 400, "bad_request");
    EXPECT_NE(r->body.find("HTTP/1.1"), std::string::npos) << r->body;
    // Without the upgrade headers too.
    auto plain = raw("GET /ws HTTP/1.0\r\n\r\n");
    expect_json_error(plain, 400, "bad_request");
}

TEST_F(ws_handshake, other_methods_get_405_with_allow_get) {
    for (std::string_view method : {"POST", "PUT", "DELETE"}) {
        auto r = raw(upgrade(method));  // an upgrade request with the wrong method
        expect_json_error(r, 405, "method_not_allowed");
        EXPECT_EQ(r.header("Allow"), "GET") << method;
        auto plain = raw(std::string(method) +
                         " /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
        expect_json_error(plain, 405, "method_not_allowed");
        EXPECT_EQ(plain.header("Allow"), "GET") << method;
    }
    auto head = raw(upgrade("HEAD"), true);
    EXPECT_EQ(head.status, 405);
    EXPECT_EQ(head.header("Allow"), "GET");
    EXPECT_TRUE(head.body.empty());
}

TEST_F(ws_handshake, a_wrong_version_gets_a_json_426_naming_version_13) {
    raw_ws::handshake hs;
    raw_ws::connect(port(), hs, "/ws", {}, "8");
    EXPECT_EQ(hs.status, 426) << hs.response;
    EXPECT_NE(hs.response.find("Sec-WebSocket-Version: 13"), std::string::npos) << hs.response;
    EXPECT_NE(hs.response.find("Content-Type: application/json"), std::string::npos) << hs.response;
    EXPECT_NE(hs.response.find("Cache-Control: no-store"), std::string::npos) << hs.response;
    EXPECT_NE(hs.response.find(R"("error":"upgrade_required")"), std::string::npos) << hs.response;
}

TEST_F(ws_handshake, missing_upgrade_pieces_are_json_400s) {
    auto no_upgrade =
        raw("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    expect_json_error(no_upgrade, 400, "bad_request");
    auto no_host =
        raw("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    expect_json_error(no_host, 400, "bad_request");
    auto not_ws =
        raw("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n");
    expect_json_error(not_ws, 400, "bad_request");
}

// An upgrade is checked and addressed as any request is (found from outside): its target may
// be in absolute form, its Host is validated, and a refusal closes the connection, so a
// request pipelined after it is not answered.
TEST_F(ws_handshake, an_upgrade_takes_an_absolute_target_and_its_host_is_checked) {
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(port(), hs, "http://127.0.0.1:" + std::to_string(port()) + "/ws");
    EXPECT_EQ(hs.status, 101) << hs.response;
    ws.reset();

    const std::string rest =
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    const std::string pipelined = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (auto [request, status] : std::vector<std::pair<std::string, int>>{
             {"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:80:evil\r\n" + rest, 400},
             {"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:99999\r\n" + rest, 400},
             {"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n" + rest, 400},
             {"GET http://evil.example/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n" + rest, 403},
             {"GET ws://127.0.0.1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n" + rest, 400}}) {
        http_connection c(port());
        ASSERT_TRUE(c.send_raw(request + pipelined));
        auto r = c.read_reply();
        ASSERT_TRUE(r) << request;
        expect_json_error(*r, status, status == 400 ? "bad_request" : "forbidden");
        EXPECT_TRUE(c.closed_by_peer(2s)) << request;
    }
}

// Without tokens both Origin lines must be the server's own (found from outside: only the
// first was checked).
TEST_F(ws_handshake, two_origin_lines_are_refused) {
    const std::string own = "Origin: http://127.0.0.1";  // raw_ws sends Host: 127.0.0.1
    for (const auto& headers : std::vector<std::vector<std::string>>{
             {own, "Origin: http://evil.example"}, {"Origin: http://evil.example", own}}) {
        raw_ws::handshake hs;
        raw_ws::connect(port(), hs, "/ws", headers);
        EXPECT_EQ(hs.status, 403) << hs.response;
    }
    raw_ws::handshake hs;
    raw_ws::connect(port(), hs, "/ws", {own});
    EXPECT_EQ(hs.status, 101) << hs.response;
}

// A client that sends its first frame without waiting for the 101 (in the same TCP segment
// as the request) has it read as a frame: not lost, and not taken as the start of the next
// message (found from outside: the publish vanished, the next frame was "malformed JSON").
TEST_F(ws_handshake, a_frame_sent_with_the_upgrade_request_is_read_as_the_first_frame) {
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(
        port(), hs, "/ws", {}, "13", "dGhlIHNhbXBsZSBub25jZQ==", 0,
        raw_ws::encode_frame(
            0x1, R"({"op":"publish","id":"e1","event":{"topic":"early","payload":1}})"));
    ASSERT_EQ(hs.status, 101) << hs.response;
    ASSERT_TRUE(ws);
    auto first = ws->read_text();
    ASSERT_TRUE(first);
    EXPECT_NE(first->find(R"("op":"published")"), std::string::npos) << *first;
    EXPECT_NE(first->find(R"("id":"e1")"), std::string::npos) << *first;
    ASSERT_TRUE(ws->send_text(R"({"op":"bogus","id":"later"})"));
    auto second = ws->read_text();
    ASSERT_TRUE(second);
    EXPECT_NE(second->find(R"("id":"later")"), std::string::npos) << *second;
    EXPECT_NE(second->find("unknown op"), std::string::npos) << *second;
}

TEST_F(ws_handshake, a_close_code_that_may_not_be_sent_is_answered_with_1002) {
    auto close_payload = [](std::uint16_t code) {
        std::string p;
        p.push_back(static_cast<char>(code >> 8));
        p.push_back(static_cast<char>(code & 0xFF));
        return p + "bye";
    };
    struct close_case {
        std::uint16_t sent;
        std::uint16_t answered;
    };
    for (auto [sent, answered] :
         {close_case{5000, 1002}, close_case{65535, 1002}, close_case{9999, 1002},
          close_case{1004, 1002}, close_case{1006, 1002}, close_case{1016, 1002},
          close_case{2999, 1002}, close_case{0, 1002}, close_case{1000, 1000},
          close_case{1001, 1001}, close_case{3000, 3000}, close_case{4999, 4999}}) {
        raw_ws::handshake hs;
        auto ws = raw_ws::connect(port(), hs);
        ASSERT_EQ(hs.status, 101) << hs.response;
        // Some traffic first, so that the close is not the first frame the server writes.
        ASSERT_TRUE(ws->send_text(R"({"op":"nope"})"));
        ASSERT_TRUE(ws->read_text(5s));
        ASSERT_TRUE(ws->send_frame(0x8, close_payload(sent)));
        auto code = ws->read_close(5s);
        ASSERT_TRUE(code) << sent << ": no close frame";
        EXPECT_EQ(*code, answered) << sent;
    }
    EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(ws_handshake, a_large_frame_containing_close_like_bytes_is_not_touched) {
    // A payload full of 0x88 bytes: the guard must recognise close frames only where a frame
    // starts, never inside a payload.
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(port(), hs);
    ASSERT_EQ(hs.status, 101);
    // A JSON string of U+0088 characters (UTF-8 C2 88): 180 kB, so the events frame has a
    // 64-bit length.
    std::string payload;
    for (int i = 0; i < 90000; ++i) payload += "\xC2\x88";
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","payload":")" + payload + R"("})").status, 200);
    ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","topic":"t","group":"g"})"));
    bool got_events = false;
    for (int i = 0; i < 5 && !got_events; ++i) {
        auto t = ws->read_text(5s);
        ASSERT_TRUE(t);
        got_events = t->find(R"("op":"events")") != std::string::npos;
        if (got_events) {
            EXPECT_GT(t->size(), 65536u);
        }
    }
    EXPECT_TRUE(got_events);
    ASSERT_TRUE(ws->send_frame(0x8, std::string("\x13\x88", 2)));  // 5000
    EXPECT_EQ(ws->read_close(5s), 1002);
}

}  // namespace
}  // namespace prom::test
