// Watches over Server-Sent Events (docs/watches.md): GET /collections/{c}/watch streams a
// collection's changes (key, ETag and body, or a deletion) with `id:` from the collection's
// change log, so that a reconnect with Last-Event-ID misses nothing and repeats nothing.
#include <thread>

#include "support/server_fixture.hpp"
#include "support/sse_client.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class watch_sse : public server_test {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        c.watch_keepalive = 300ms;
        return c;
    }

    void remove(std::string_view collection, std::string_view key) {
        auto txn = db().begin();
        ASSERT_TRUE(txn);
        auto r = (*txn)->delete_one(collection, key);
        ASSERT_TRUE(r && *r);
        ASSERT_TRUE((*txn)->commit());
    }

    static json::object event_json(const sse_event& e) {
        auto v = parse_json(e.data);
        EXPECT_TRUE(v && v->is_object()) << e.data;
        return v && v->is_object() ? v->get_object() : json::object{};
    }
    static std::string str(const json::object& o, std::string_view k) {
        auto it = o.find(k);
        return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                        : std::string();
    }
    // Waits for a watcher to be registered with the feed (the stream is open).
    void wait_watchers(std::int64_t n) { ASSERT_TRUE(gauge_becomes("prom_watchers", n)); }
};

TEST_F(watch_sse, streams_each_change_with_key_etag_body_and_id) {
    put("things", "a", {{"v", 1}});  // the collection exists; the watch starts after this
    sse_client w(port(), "/collections/things/watch?prefix=");
    ASSERT_TRUE(w.streaming()) << w.reply().status << " " << w.reply().body;
    EXPECT_EQ(w.reply().header("Content-Type"), "text/event-stream");
    EXPECT_EQ(w.reply().header("Cache-Control"), "no-store");
    wait_watchers(1);
    auto d = put("things", "b", {{"v", 2}});
    auto e = w.next(5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, "2");
    auto o = event_json(*e);
    EXPECT_EQ(str(o, "key"), "b");
    EXPECT_EQ(str(o, "collection"), "things");
    EXPECT_EQ(str(o, "etag"), d.etag);
    ASSERT_TRUE(o.contains("body"));
    EXPECT_EQ(canonical_json(o.at("body")), d.body);
    EXPECT_EQ(o.at("seq").as_int64(), 2);
    EXPECT_FALSE(o.contains("deleted"));
    EXPECT_EQ(w.last_event_id(), "2");
}

TEST_F(watch_sse, a_deletion_is_an_event_without_body) {
    put("things", "a", {{"v", 1}});
    sse_client w(port(), "/collections/things/watch?key=a");
    ASSERT_TRUE(w.streaming());
    wait_watchers(1);
    remove("things", "a");
    auto e = w.next(5s);
    ASSERT_TRUE(e);
    auto o = event_json(*e);
    EXPECT_EQ(str(o, "key"), "a");
    EXPECT_TRUE(o.at("deleted").as_bool());
    EXPECT_FALSE(o.contains("body"));
    EXPECT_FALSE(o.contains("etag"));
}

TEST_F(watch_sse, a_new_watch_starts_at_the_end_of_the_log_and_says_where) {
    put("things", "a", {{"v", 1}});
    put("things", "a", {{"v", 2}});
    sse_client w(port(), "/collections/things/watch");
    ASSERT_TRUE(w.streaming());
    wait_watchers(1);
    put("things", "a", {{"v", 3}});
    auto e = w.next(5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, "3");  // 1 and 2 happened before: not replayed
    EXPECT_TRUE(w.drain(300ms).empty());
}

TEST_F(watch_sse, reconnecting_with_last_event_id_replays_exactly_the_missed_changes) {
    put("things", "k0", {{"v", 0}});
    std::string resume_from;
    {
        sse_client w(port(), "/collections/things/watch");
        ASSERT_TRUE(w.streaming());
        wait_watchers(1);
        put("things", "k1", {{"v", 1}});
        put("things", "k2", {{"v", 2}});
        ASSERT_TRUE(w.next(5s));
        ASSERT_TRUE(w.next(5s));
        resume_from = w.last_event_id();
        EXPECT_EQ(resume_from, "3");
    }
    ASSERT_TRUE(gauge_becomes("prom_watchers", 0));  // the disconnect freed the watcher
    // Missed while away: two writes and a deletion.
    put("things", "k3", {{"v", 3}});
    put("things", "k1", {{"v", 11}});
    remove("things", "k2");
    sse_client again(port(), "/collections/things/watch", {{"Last-Event-ID", resume_from}});
    ASSERT_TRUE(again.streaming()) << again.reply().body;
    std::vector<sse_event> got;
    while (got.size() < 3) {
        auto e = again.next(5s);
        ASSERT_TRUE(e) << "got " << got.size();
        got.push_back(*e);
    }
    EXPECT_EQ(got[0].id, "4");
    EXPECT_EQ(got[1].id, "5");
    EXPECT_EQ(got[2].id, "6");
    EXPECT_EQ(str(event_json(got[0]), "key"), "k3");
    EXPECT_EQ(str(event_json(got[1]), "key"), "k1");
    EXPECT_TRUE(event_json(got[2]).at("deleted").as_bool());
    // Then live, and nothing twice.
    wait_watchers(1);
    put("things", "k4", {{"v", 4}});
    auto live = again.drain(500ms);
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].id, "7");
}

TEST_F(watch_sse, a_reconnect_before_any_change_resumes_from_the_announced_position) {
    put("things", "a", {{"v", 1}});
    std::string resume_from;
    {
        sse_client w(port(), "/collections/things/watch");
        ASSERT_TRUE(w.streaming());
        wait_watchers(1);
        EXPECT_FALSE(w.next(200ms));  // no event, but the stream set the last event id
        resume_from = w.last_event_id();
    }
    EXPECT_EQ(resume_from, "1");
    put("things", "b", {{"v", 1}});  // while away
    sse_client again(port(), "/collections/things/watch", {{"Last-Event-ID", resume_from}});
    auto e = again.next(5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, "2");
    EXPECT_EQ(str(event_json(*e), "key"), "b");
}

TEST_F(watch_sse, last_event_id_zero_replays_the_whole_log) {
    put("things", "a", {{"v", 1}});
    put("things", "b", {{"v", 1}});
    sse_client w(port(), "/collections/things/watch", {{"Last-Event-ID", "0"}});
    auto all = w.drain(500ms);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, "1");
    EXPECT_EQ(all[1].id, "2");
}

TEST_F(watch_sse, key_and_prefix_filter_the_changes) {
    put("things", "order-1", {{"v", 0}});
    sse_client by_prefix(port(), "/collections/things/watch?prefix=order-");
    sse_client by_key(port(), "/collections/things/watch?key=order-2");
    ASSERT_TRUE(by_prefix.streaming());
    ASSERT_TRUE(by_key.streaming());
    wait_watchers(2);
    put("things", "order-1", {{"v", 1}});
    put("things", "user-1", {{"v", 1}});
    put("things", "order-2", {{"v", 1}});
    put("other", "order-2", {{"v", 1}});  // another collection
    auto p = by_prefix.drain(500ms);
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(str(event_json(p[0]), "key"), "order-1");
    EXPECT_EQ(str(event_json(p[1]), "key"), "order-2");
    auto k = by_key.drain(200ms);
    ASSERT_EQ(k.size(), 1u);
    EXPECT_EQ(k[0].id, "4");
    EXPECT_EQ(str(event_json(k[0]), "key"), "order-2");
}

TEST_F(watch_sse, a_quiet_stream_sends_keep_alive_comments) {
    put("things", "a", {{"v", 1}});
    sse_client w(port(), "/collections/things/watch");
    ASSERT_TRUE(w.streaming());
    const auto before = w.comments();
    EXPECT_FALSE(w.next(1s));
    EXPECT_GE(w.comments(), before + 2) << "keep-alive every 300 ms in this test";
    EXPECT_FALSE(w.ended());
}

TEST_F(watch_sse, bad_input_is_400_and_opens_nothing) {
    put("things", "a", {{"v", 1}});
    auto expect_400 = [&](std::string_view target,
                          std::vector<std::pair<std::string, std::string>> headers,
                          std::string_view mentions) {
        sse_client w(port(), target, headers);
        EXPECT_EQ(w.reply().status, 400) << target;
        EXPECT_EQ(w.reply().header("Content-Type"), "application/json") << target;
        EXPECT_NE(w.reply().body.find(R"("error":"bad_request")"), std::string::npos)
            << w.reply().body;
        EXPECT_NE(w.reply().body.find(mentions), std::string::npos) << w.reply().body;
    };
    expect_400("/collections/things/watch", {{"Last-Event-ID", "abc"}}, "Last-Event-ID");
    expect_400("/collections/things/watch", {{"Last-Event-ID", "-1"}}, "Last-Event-ID");
    expect_400("/collections/things/watch", {{"Last-Event-ID", "99"}}, "past the end");
    // Two lines: which one a proxy or the client meant is unknown (the first won, silently).
    expect_400("/collections/things/watch", {{"Last-Event-ID", "1"}, {"Last-Event-ID", "0"}},
               "given twice");
    expect_400("/collections/things/watch?key=a&prefix=b", {}, "not both");
    expect_400("/collections/things/watch?key=", {}, "key");
    // A key no document can have (found from outside: the stream opened).
    expect_400("/collections/things/watch?key=%FF", {}, "key must be UTF-8");
    expect_400("/collections/things/watch?key=" + std::string(1025, 'k'), {}, "longer than 1024");
    expect_400("/collections/things/watch?from=3", {}, "unknown parameter");
    expect_400("/collections/nothing-here/watch", {}, "unknown collection");
    expect_400("/collections/bad%20name/watch", {}, "collection name");
    EXPECT_EQ(gauge("prom_watchers"), 0);
    auto post = post_json("/collections/things/watch", "{}");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET");
}

TEST_F(watch_sse, a_client_that_goes_away_frees_its_watcher) {
    put("things", "a", {{"v", 1}});
    {
        sse_client w(port(), "/collections/things/watch");
        ASSERT_TRUE(w.streaming());
        wait_watchers(1);
    }
    EXPECT_TRUE(gauge_becomes("prom_watchers", 0));
    EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(watch_sse, many_changes_arrive_in_order_each_once) {
    put("things", "a", {{"v", 0}});
    sse_client w(port(), "/collections/things/watch");
    ASSERT_TRUE(w.streaming());
    wait_watchers(1);
    constexpr int n = 300;
    std::thread writer([&] {
        for (int i = 1; i <= n; ++i) put("things", "k" + std::to_string(i % 7), {{"v", i}});
    });
    std::vector<sse_event> got;
    while (got.size() < static_cast<std::size_t>(n)) {
        auto e = w.next(10s);
        if (!e) break;
        got.push_back(*e);
    }
    writer.join();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(got[i].id, std::to_string(i + 2));
    EXPECT_TRUE(w.drain(200ms).empty());
}

class watch_sse_auth : public watch_sse {
  protected:
    server::serve_config make_config() override {
        auto c = watch_sse::make_config();
        auto p = auth::auth_policy::from_json(*parse_json(
            R"({"tokens":[{"token":"reader-token-0001","read":["things"]},{"token":"other-token-00001","read":["elsewhere"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(watch_sse_auth, needs_the_read_permission_of_the_collection) {
    put("things", "a", {{"v", 1}});
    sse_client none(port(), "/collections/things/watch");
    EXPECT_EQ(none.reply().status, 401);
    EXPECT_EQ(none.reply().header("WWW-Authenticate"), "Bearer");
    sse_client other(port(), "/collections/things/watch",
                     {{"Authorization", "Bearer other-token-00001"}});
    EXPECT_EQ(other.reply().status, 403);
    sse_client reader(port(), "/collections/things/watch",
                      {{"Authorization", "Bearer reader-token-0001"}});
    ASSERT_TRUE(reader.streaming()) << reader.reply().body;
    ASSERT_TRUE(gauge_becomes("prom_watchers", 1));
    put("things", "a", {{"v", 2}});
    auto e = reader.next(5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, "2");
}

}  // namespace
}  // namespace prom::test
