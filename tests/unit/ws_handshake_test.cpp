// The opening handshake's checks (RFC 6455 §4.2.1) and the close codes a server may send.
#include <gtest/gtest.h>

#include "ws/handshake.hpp"
#include "ws/protocol.hpp"

namespace prom::ws {
namespace {

upgrade_request good() {
    return {.method = "GET",
            .version = 11,
            .host = "x",
            .connection = "keep-alive, Upgrade",
            .upgrade = "websocket",
            .key = "dGhlIHNhbXBsZSBub25jZQ==",
            .ws_version = "13"};
}

TEST(ws_handshake_rules, a_valid_upgrade_passes) { EXPECT_FALSE(check_upgrade(good())); }

TEST(ws_handshake_rules, the_key_must_be_the_base64_of_16_bytes) {
    EXPECT_TRUE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_TRUE(valid_websocket_key("AAAAAAAAAAAAAAAAAAAAAA=="));
    EXPECT_TRUE(valid_websocket_key("+/+/+/+/+/+/+/+/+/+/+w=="));
    for (std::string_view bad : {"", "abc", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ",
                                 "dGhlIHNhbXBsZSBub25jZSE=",  // 17 bytes
                                 "dGhlIHNhbXBsZSBub25j",      // 15 bytes, unpadded
                                 "dGhlIHNhbXBsZSBub25jZQ==\r", "dGhlIHNhbXBsZ SBub25jZQ==",
                                 "dGhlIHNhbXBsZSBub25jZ-==", "========================"}) {
        EXPECT_FALSE(valid_websocket_key(bad)) << bad;
        auto r = good();
        r.key = bad;
        auto no = check_upgrade(r);
        ASSERT_TRUE(no) << bad;
        EXPECT_EQ(no->status, 400u);
    }
}

TEST(ws_handshake_rules, each_refusal_has_its_status_and_headers) {
    auto r = good();
    r.method = "POST";
    auto no = check_upgrade(r);
    ASSERT_TRUE(no);
    EXPECT_EQ(no->status, 405u);
    ASSERT_EQ(no->headers.size(), 1u);
    EXPECT_EQ(no->headers[0], (std::pair<std::string, std::string>{"Allow", "GET"}));

    r = good();
    r.version = 10;
    EXPECT_EQ(check_upgrade(r)->status, 400u);

    r = good();
    r.ws_version = "8";
    no = check_upgrade(r);
    ASSERT_TRUE(no);
    EXPECT_EQ(no->status, 426u);
    EXPECT_EQ(no->headers[0].first, "Sec-WebSocket-Version");
    EXPECT_EQ(no->headers[0].second, "13");

    r = good();
    r.host.reset();
    EXPECT_EQ(check_upgrade(r)->status, 400u);
    r = good();
    r.connection = "keep-alive";
    EXPECT_EQ(check_upgrade(r)->status, 400u);
    r = good();
    r.upgrade = "h2c";
    EXPECT_EQ(check_upgrade(r)->status, 400u);
    // Either header twice (found from outside: two keys were answered for the first).
    r = good();
    r.repeated_key = true;
    EXPECT_EQ(check_upgrade(r)->status, 400u);
    r = good();
    r.repeated_version = true;
    EXPECT_EQ(check_upgrade(r)->status, 400u);
    r = good();
    r.upgrade = "WebSocket";  // tokens are case-insensitive
    r.connection = "UPGRADE";
    EXPECT_FALSE(check_upgrade(r));
}

TEST(ws_handshake_rules, close_codes_a_server_may_send) {
    for (std::uint16_t ok :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 4000, 4999}) {
        EXPECT_TRUE(sendable_close_code(ok)) << ok;
    }
    for (std::uint16_t bad :
         {0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000, 9999, 65535}) {
        EXPECT_FALSE(sendable_close_code(bad)) << bad;
    }
}

}  // namespace
}  // namespace prom::ws
