// Watches over the WebSocket gateway (docs/ws-protocol.md, "watch and unwatch"; the
// stream itself: docs/watches.md): the same changes as SSE, resumable with `after`.
#include <thread>

#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class watch_ws : public server_test {
  protected:
    std::unique_ptr<raw_ws> open(std::vector<std::string> headers = {}) {
        raw_ws::handshake hs;
        auto ws = raw_ws::connect(port(), hs, "/ws", headers);
        EXPECT_TRUE(ws && hs.status == 101) << hs.response;
        return ws;
    }
    static json::object frame(raw_ws& ws, std::chrono::milliseconds timeout = 5s) {
        auto text = ws.read_text(timeout);
        if (!text) return {};
        auto v = parse_json(*text);
        EXPECT_TRUE(v && v->is_object()) << *text;
        return v && v->is_object() ? v->get_object() : json::object{};
    }
    static std::string op(const json::object& o) {
        auto it = o.find("op");
        return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                        : std::string();
    }
    // The changes of the next `changes` frames until `n` are collected (or a timeout).
    static std::vector<json::object> changes(raw_ws& ws, std::size_t n) {
        std::vector<json::object> out;
        while (out.size() < n) {
            auto f = frame(ws);
            if (f.empty()) break;
            EXPECT_EQ(op(f), "changes") << canonical_json(f);
            if (op(f) != "changes") continue;
            for (const auto& c : f.at("changes").as_array()) out.push_back(c.as_object());
        }
        return out;
    }
};

TEST_F(watch_ws, watch_streams_changes_and_deletions_in_order) {
    put("things", "a", {{"v", 1}});
    auto ws = open();
    ASSERT_TRUE(ws->send_text(R"({"op":"watch","id":"w1","collection":"things","prefix":"a"})"));
    auto reply = frame(*ws);
    ASSERT_EQ(op(reply), "watching") << canonical_json(reply);
    EXPECT_EQ(reply.at("id"), "w1");
    EXPECT_EQ(reply.at("after").as_int64(), 1);
    EXPECT_EQ(reply.at("prefix"), "a");
    ASSERT_TRUE(gauge_becomes("prom_watchers", 1));
    auto d = put("things", "a", {{"v", 2}});
    put("things", "b", {{"v", 2}});  // filtered out
    {
        auto txn = db().begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->delete_one("things", "a"));
        ASSERT_TRUE((*txn)->commit());
    }
    auto got = changes(*ws, 2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].at("seq").as_int64(), 2);
    EXPECT_EQ(got[0].at("key"), "a");
    EXPECT_EQ(std::string(got[0].at("etag").as_string()), d.etag);
    EXPECT_EQ(canonical_json(got[0].at("body")), d.body);
    EXPECT_EQ(got[1].at("seq").as_int64(), 4);
    EXPECT_TRUE(got[1].at("deleted").as_bool());
}

TEST_F(watch_ws, after_resumes_with_exactly_the_missed_changes) {
    put("things", "a", {{"v", 1}});
    put("things", "a", {{"v", 2}});
    put("things", "b", {{"v", 3}});
    auto ws = open();
    ASSERT_TRUE(ws->send_text(R"({"op":"watch","collection":"things","after":1})"));
    EXPECT_EQ(op(frame(*ws)), "watching");
    auto got = changes(*ws, 2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].at("seq").as_int64(), 2);
    EXPECT_EQ(got[1].at("seq").as_int64(), 3);
    put("things", "c", {{"v", 4}});
    got = changes(*ws, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].at("seq").as_int64(), 4);
    EXPECT_FALSE(ws->read_text(300ms));  // nothing twice
}

TEST_F(watch_ws, unwatch_stops_the_changes_and_frees_the_watcher) {
    put("things", "a", {{"v", 1}});
    auto ws = open();
    ASSERT_TRUE(ws->send_text(R"({"op":"watch","collection":"things","key":"a"})"));
    EXPECT_EQ(op(frame(*ws)), "watching");
    ASSERT_TRUE(ws->send_text(R"({"op":"watch","id":"again","collection":"things","key":"a"})"));
    auto dup = frame(*ws);
    EXPECT_EQ(op(dup), "error");
    EXPECT_EQ(dup.at("error"), "conflict");
    ASSERT_TRUE(ws->send_text(R"({"op":"unwatch","id":"u","collection":"things","key":"a"})"));
    auto r = frame(*ws);
    EXPECT_EQ(op(r), "unwatched") << canonical_json(r);
    EXPECT_EQ(r.at("key"), "a");
    EXPECT_TRUE(gauge_becomes("prom_watchers", 0));
    put("things", "a", {{"v", 2}});
    EXPECT_FALSE(ws->read_text(300ms));
    ASSERT_TRUE(ws->send_text(R"({"op":"unwatch","id":"u2","collection":"things","key":"a"})"));
    auto none = frame(*ws);
    EXPECT_EQ(none.at("error"), "not_found");
}

TEST_F(watch_ws, a_closed_connection_frees_its_watchers) {
    put("things", "a", {{"v", 1}});
    {
        auto ws = open();
        ASSERT_TRUE(ws->send_text(R"({"op":"watch","collection":"things"})"));
        EXPECT_EQ(op(frame(*ws)), "watching");
        ASSERT_TRUE(gauge_becomes("prom_watchers", 1));
    }
    EXPECT_TRUE(gauge_becomes("prom_watchers", 0));
}

TEST_F(watch_ws, bad_watches_are_errors_that_keep_the_connection) {
    put("things", "a", {{"v", 1}});
    auto ws = open();
    auto expect_error = [&](std::string_view request, std::string_view code) {
        ASSERT_TRUE(ws->send_text(request));
        auto f = frame(*ws);
        EXPECT_EQ(op(f), "error") << request;
        EXPECT_EQ(std::string_view(f.at("error").as_string()), code)
            << request << " → " << canonical_json(f);
    };
    expect_error(R"({"op":"watch"})", "bad_request");
    expect_error(R"({"op":"watch","collection":"things","key":"a","prefix":"b"})", "bad_request");
    expect_error(R"({"op":"watch","collection":"things","after":-1})", "bad_request");
    expect_error(R"({"op":"watch","collection":"things","after":"x"})", "bad_request");
    expect_error(R"({"op":"watch","collection":"things","after":50})", "bad_request");
    expect_error(R"({"op":"watch","collection":"nothing-here"})", "bad_request");
    expect_error(R"({"op":"watch","collection":"bad name"})", "bad_request");
    expect_error(R"({"op":"watch","collection":"_prom.projectors"})", "not_found");
    EXPECT_EQ(gauge("prom_watchers"), 0);
    ASSERT_TRUE(ws->send_text(R"({"op":"watch","collection":"things"})"));
    EXPECT_EQ(op(frame(*ws)), "watching");  // still usable
}

class watch_ws_auth : public watch_ws {
  protected:
    server::serve_config make_config() override {
        auto c = watch_ws::make_config();
        auto p = auth::auth_policy::from_json(*parse_json(
            R"({"tokens":[{"token":"reader-token-0001","read":["things"]},{"token":"other-token-00001","read":["elsewhere"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(watch_ws_auth, watch_needs_the_read_permission_of_the_collection) {
    put("things", "a", {{"v", 1}});
    auto other = open({"Authorization: Bearer other-token-00001"});
    ASSERT_TRUE(other->send_text(R"({"op":"watch","collection":"things"})"));
    auto refused = frame(*other);
    EXPECT_EQ(refused.at("error"), "forbidden") << canonical_json(refused);
    auto reader = open({"Authorization: Bearer reader-token-0001"});
    ASSERT_TRUE(reader->send_text(R"({"op":"watch","collection":"things"})"));
    EXPECT_EQ(op(frame(*reader)), "watching");
}

}  // namespace
}  // namespace prom::test
