// Blocking reads (docs/http-api.md, "Blocking reads"): If-None-Match with Prefer: wait=N
// holds a document or list GET until its ETag changes, or answers 304 with
// Preference-Applied after N seconds; a client that goes away frees its waiter; a shutdown
// answers at once.
#include <future>
#include <thread>

#include "support/server_fixture.hpp"
#include "support/test_support.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

using long_poll = server_test;

TEST_F(long_poll, a_change_wakes_a_held_document_read) {
    put("things", "a", {{"v", 1}});
    auto first = get("/collections/things/snap/a");
    ASSERT_EQ(first.status, 200);
    auto etag = *first.header("ETag");
    auto held = std::async(std::launch::async, [&] {
        return get("/collections/things/snap/a", {{"If-None-Match", etag}, {"Prefer", "wait=10"}});
    });
    ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    auto t0 = std::chrono::steady_clock::now();
    put("things", "b", {{"v", 1}});  // another document: no wake-up for `a`
    put("things", "a", {{"v", 2}});
    auto r = held.get();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(*r.header("ETag"), etag);
    EXPECT_NE(r.body.find(R"("v":2)"), std::string::npos) << r.body;
    EXPECT_EQ(gauge("prom_http_change_waiters"), 0);
}

// `If-None-Match: *` matches any representation: held on the document as it is, and
// answered 200 once it changes (found from outside: a 304 after the whole wait).
TEST_F(long_poll, a_star_is_held_until_the_document_changes) {
    put("things", "a", {{"v", 1}});
    auto etag = *get("/collections/things/snap/a").header("ETag");
    auto held = std::async(std::launch::async, [&] {
        return get("/collections/things/snap/a", {{"If-None-Match", "*"}, {"Prefer", "wait=10"}});
    });
    ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    auto t0 = std::chrono::steady_clock::now();
    put("things", "a", {{"v", 2}});
    auto r = held.get();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(*r.header("ETag"), etag);
    EXPECT_NE(r.body.find(R"("v":2)"), std::string::npos) << r.body;
    // Unchanged, it is a 304 after the wait, as any matching tag.
    auto still = get("/collections/things/snap/a", {{"If-None-Match", "*"}, {"Prefer", "wait=1"}});
    EXPECT_EQ(still.status, 304);
    EXPECT_EQ(still.header("Preference-Applied"), "wait=1");
}

TEST_F(long_poll, no_change_answers_304_with_preference_applied_after_the_wait) {
    put("things", "a", {{"v", 1}});
    auto etag = *get("/collections/things/snap/a").header("ETag");
    auto t0 = std::chrono::steady_clock::now();
    auto r = get("/collections/things/snap/a", {{"If-None-Match", etag}, {"Prefer", "wait=1"}});
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.header("Preference-Applied"), "wait=1");
    EXPECT_EQ(r.header("ETag"), etag);
    // Prefer on two lines is one list (RFC 7240 2; found from outside: the second was lost).
    t0 = std::chrono::steady_clock::now();
    auto two = get("/collections/things/snap/a",
                   {{"If-None-Match", etag}, {"Prefer", "respond-async"}, {"Prefer", "wait=1"}});
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
    EXPECT_EQ(two.status, 304);
    EXPECT_EQ(two.header("Preference-Applied"), "wait=1");
}

// A commit by another process wakes no waiter of this server (on SQLite); at the deadline
// the held read looks again and answers the new document, not a stale 304.
TEST_F(long_poll, a_change_by_another_process_is_answered_at_the_deadline_not_as_a_304) {
    if (db_url_.starts_with("memory:")) GTEST_SKIP() << "no other process shares memory:";
    put("things", "a", {{"v", 1}});
    auto etag = *get("/collections/things/snap/a").header("ETag");
    auto held = std::async(std::launch::async, [&] {
        return get("/collections/things/snap/a", {{"If-None-Match", etag}, {"Prefer", "wait=2"}});
    });
    ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    auto other = open_or_die(db_url_, {.durable = false});  // as a CLI would open it
    ASSERT_NE(other, nullptr);
    auto txn = other->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->update_one("things", "a", json::object{{"v", 2}}, true));
    ASSERT_TRUE((*txn)->commit());
    auto r = held.get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(*r.header("ETag"), etag);
    EXPECT_NE(r.body.find(R"("v":2)"), std::string::npos) << r.body;
}

// A shutdown answers a held read at once (304, without claiming the whole wait) rather
// than cutting its connection at the shutdown deadline.
TEST_F(long_poll, a_shutdown_answers_a_held_read_at_once) {
    put("things", "a", {{"v", 1}});
    auto etag = *get("/collections/things/snap/a").header("ETag");
    auto held = std::async(std::launch::async, [&] {
        return get("/collections/things/snap/a", {{"If-None-Match", etag}, {"Prefer", "wait=30"}});
    });
    ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    auto t0 = std::chrono::steady_clock::now();
    node_->stop();
    auto r = held.get();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.header("ETag"), etag);
    EXPECT_FALSE(r.header("Preference-Applied"));
}

// A request whose header came is in flight while its body arrives: a shutdown waits for it
// (within the deadline) and answers it, instead of closing it as an idle connection (found
// from outside: a publish whose body was on its way was cut at SIGTERM, never made).
TEST_F(long_poll, a_shutdown_answers_a_publish_whose_body_is_still_arriving) {
    const std::string body = R"({"topic":"inflight","payload":1})";
    http_connection c(port());
    ASSERT_TRUE(
        c.send_raw("POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 10)));
    std::this_thread::sleep_for(200ms);  // the header is read; the body is not all here
    auto stopping = std::async(std::launch::async, [&] { node_->stop(); });
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(c.send_raw(body.substr(10)));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "the connection was cut";
    EXPECT_EQ(r->status, 200) << r->body;
    stopping.get();
    auto t = db().topic("inflight");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->count, 1);
}

TEST_F(long_poll, a_list_page_has_a_strong_etag_and_can_be_held_the_same_way) {
    put("things", "a", {{"v", 1}});
    auto first = get("/collections/things/list");
    ASSERT_EQ(first.status, 200);
    ASSERT_TRUE(first.header("ETag"));
    auto etag = *first.header("ETag");
    EXPECT_EQ(get("/collections/things/list", {{"If-None-Match", etag}}).status, 304);
    auto held = std::async(std::launch::async, [&] {
        return get("/collections/things/list", {{"If-None-Match", etag}, {"Prefer", "wait=10"}});
    });
    ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    put("things", "c", {{"v", 3}});
    auto r = held.get();
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(R"("_key":"c")"), std::string::npos) << r.body;
    EXPECT_NE(*r.header("ETag"), etag);
}

TEST_F(long_poll, a_client_that_goes_away_frees_its_waiter) {
    put("things", "a", {{"v", 1}});
    auto etag = *get("/collections/things/snap/a").header("ETag");
    {
        http_connection c(port());
        ASSERT_TRUE(
            c.send_raw("GET /collections/things/snap/a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "If-None-Match: " +
                       etag + "\r\nPrefer: wait=30\r\n\r\n"));
        ASSERT_TRUE(gauge_becomes("prom_http_change_waiters", 1));
    }
    EXPECT_TRUE(gauge_becomes("prom_http_change_waiters", 0));
}

}  // namespace
}  // namespace prom::test
