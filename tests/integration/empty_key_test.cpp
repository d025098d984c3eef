// "key":"" means no key, exactly like an absent one, on every path in (HTTP, WebSocket) and
// out (scan, frames, /at) (issue 12 item 5; docs/http-api.md).
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class empty_key : public server_test {};

TEST_F(empty_key, an_empty_key_and_an_absent_one_are_the_same_on_every_path) {
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","payload":1})").status, 200);
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","key":"","payload":2})").status, 200);
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(port(), hs);
    ASSERT_EQ(hs.status, 101);
    ws->send_text(
        R"({"op":"publish","events":[{"topic":"t","key":"","payload":3},{"topic":"t","payload":4}]})");
    auto published = ws->read_text(5s);
    ASSERT_TRUE(published && published->find(R"("op":"published")") != std::string::npos);

    auto events = db().scan({.topic = "t"});
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 4u);
    for (const auto& e : *events) EXPECT_EQ(e.key, "") << e.seq;

    // Subscribers see "key":"" for all four.
    ws->send_text(R"({"op":"subscribe","topic":"t","group":"g"})");
    std::size_t seen = 0;
    for (int i = 0; i < 10 && seen < 4; ++i) {
        auto text = ws->read_text(5s);
        ASSERT_TRUE(text);
        auto v = parse_json(*text);
        ASSERT_TRUE(v);
        if (v->at("op") != "events") continue;
        for (const auto& e : v->at("events").as_array()) {
            EXPECT_EQ(e.at("key"), "");
            ++seen;
        }
    }
    EXPECT_EQ(seen, 4u);

    // Keyless events have no state: /at with an empty key segment is a 400 ...
    auto at = get("/at/t/?t=9999999999999");
    EXPECT_EQ(at.status, 400);
    EXPECT_NE(at.body.find("key"), std::string::npos) << at.body;
    EXPECT_EQ(get("/at/t/%20?t=9999999999999").status, 404);  // " " is a key, without events
}

}  // namespace
}  // namespace prom::test
