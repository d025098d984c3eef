// The retention routes over HTTP (docs/retention.md, docs/http-api.md): policies (GET, PUT,
// DELETE, bad input), a pass on demand (dry run, 404, 409), time travel and late publishes
// against the horizon (410), erasure, document deletion, GET /topics' bytes and horizon, the
// admin permission, and the background runner dropping per a config policy with its metrics.
#include <thread>

#include "support/outside_sqlite_reader.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class retention_http : public server_test {
  protected:
    // `keys` keys, `per_key` events each, with old ts (1000 * i): far behind any horizon.
    void publish(std::string_view topic, int keys, int per_key) {
        std::vector<event_input> batch;
        int i = 0;
        for (int n = 0; n < per_key; ++n) {
            for (int k = 0; k < keys; ++k) {
                ++i;
                batch.push_back({.topic = std::string(topic),
                                 .key = "k" + std::to_string(k),
                                 .ts = ts_ms{std::int64_t{1000} * i},
                                 .payload = json::object{{"n", n}, {"k", k}}});
            }
        }
        ASSERT_TRUE(db().append(std::move(batch)));
    }
    http_reply put_policy(std::string_view target, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers = {
                              {"Content-Type", "application/json"}}) {
        return http_request(port(), "PUT", target, headers, body);
    }
    http_reply del(std::string_view target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        return http_request(port(), "DELETE", target, headers);
    }
    std::int64_t count(std::string_view topic) {
        auto t = db().topic(topic);
        return t && *t ? (*t)->count : -1;
    }
    static json::value body(const http_reply& r) {
        auto v = parse_json(r.body);
        EXPECT_TRUE(v) << r.body;
        return v ? *v : json::value();
    }
};

TEST_F(retention_http, policies_put_get_delete) {
    publish("order.created", 2, 3);
    publish("order.shipped", 2, 3);
    publish("billing", 2, 3);

    // The pattern percent-encoded: order.%2A is order.*.
    auto put =
        put_policy("/topics/order.%2A/policy", R"({"compact":{"horizon":"1d"},"behind":"skip"})");
    ASSERT_EQ(put.status, 200) << put.body;
    auto pv = body(put);
    EXPECT_EQ(pv.at("topic"), "order.*");
    EXPECT_EQ(pv.at("applies_to"), (json::array{"order.created", "order.shipped"}));
    EXPECT_EQ(pv.at("policy").at("compact").at("horizon"), "1d");

    auto got = get("/topics/order.created/policy");
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(body(got).at("pattern"), "order.*");
    EXPECT_EQ(body(got).at("topic"), "order.created");

    // An exact name wins over the pattern; what GET answers may be sent back.
    auto exact = put_policy("/topics/order.created/policy",
                            R"({"retain":{"max_events":2,"max_age":"7d"},"behind":"wait"})");
    ASSERT_EQ(exact.status, 200) << exact.body;
    got = get("/topics/order.created/policy");
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(body(got).at("pattern"), "order.created");
    EXPECT_EQ(body(got).at("policy").at("behind"), "wait");
    auto again = put_policy("/topics/order.created/policy", canonical_json(body(got).at("policy")));
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(get("/topics/order.shipped/policy").status, 200);
    EXPECT_EQ(body(get("/topics/order.shipped/policy")).at("pattern"), "order.*");

    // None applies: billing, and a dead-letter topic under the pattern.
    EXPECT_EQ(get("/topics/billing/policy").status, 404);
    // A name no topic or pattern can be: 400 for a read as for PUT (found from outside: 404).
    EXPECT_EQ(get("/topics/bad%20name/policy").status, 400);
    EXPECT_EQ(get("/topics/order.created.dlq/policy").status, 404);

    EXPECT_EQ(del("/topics/order.created/policy").status, 200);
    EXPECT_EQ(del("/topics/order.created/policy").status, 404);
    EXPECT_EQ(body(get("/topics/order.created/policy")).at("pattern"), "order.*");
    EXPECT_EQ(http_request(port(), "POST", "/topics/billing/policy").status, 405);
}

TEST_F(retention_http, bad_policies_change_nothing) {
    publish("orders", 2, 3);
    for (std::string_view bad :
         {R"({})", R"({"retain":{"max_events":0}})", R"({"retain":{"max_age":"-1d"}})",
          R"({"compact":{"horizon":"x"}})", R"({"compact":{"horizon":"1d"},"extra":1})",
          R"({"retain":{"max_events":1,"max_evnts":2}})",
          R"({"compact":{"horizon":"1d"},"behind":"later"})", "[1]", "{"}) {
        auto r = put_policy("/topics/orders/policy", bad);
        EXPECT_EQ(r.status, 400) << bad << " -> " << r.body;
        EXPECT_TRUE(body(r).at("message").is_string());
    }
    EXPECT_EQ(put_policy("/topics/bad%20name/policy", R"({"compact":{"horizon":"1d"}})").status,
              400);
    auto unknown = put_policy("/topics/nothing.%2A/policy", R"({"compact":{"horizon":"1d"}})");
    EXPECT_EQ(unknown.status, 404) << unknown.body;
    auto text = put_policy("/topics/orders/policy", R"({"compact":{"horizon":"1d"}})",
                           {{"Content-Type", "text/plain"}});
    EXPECT_EQ(text.status, 415);
    std::string big =
        R"({"compact":{"horizon":"1d"},"x":")" + std::string(std::size_t{300} * 1024, 'a') + "\"}";
    EXPECT_EQ(put_policy("/topics/orders/policy", big).status, 413);
    // The alarms' topic keeps every alarm (found from outside: a pass re-announced an open
    // alarm): a policy naming it, or a pass of it, is refused.
    auto alerts = put_policy("/topics/prom.alerts/policy", R"({"retain":{"max_events":1}})");
    EXPECT_EQ(alerts.status, 400) << alerts.body;
    EXPECT_NE(alerts.body.find("SLO alarms"), std::string::npos) << alerts.body;
    auto pass = http_request(port(), "POST", "/topics/prom.alerts/compact",
                             {{"Content-Type", "application/json"}}, "{}");
    EXPECT_EQ(pass.status, 400) << pass.body;
    EXPECT_EQ(get("/topics/orders/policy").status, 404);
    EXPECT_TRUE(all("_prom.topic_policies").empty());
}

TEST_F(retention_http, compact_on_demand_keeps_time_travel_honest) {
    publish("orders", 10, 10);  // k0..k9, 10 events each, ts 1000..100000
    publish("plain", 1, 3);
    // k1's state at its last event, before anything is dropped.
    auto before = get("/at/orders/k1?t=200000");
    ASSERT_EQ(before.status, 200) << before.body;

    EXPECT_EQ(post_json("/topics/orders/compact", "").status, 404);  // no policy yet
    ASSERT_EQ(put_policy("/topics/orders/policy", R"({"compact":{"horizon":"1d"}})").status, 200);
    ASSERT_EQ(put_policy("/topics/plain/policy", R"({"compact":{"horizon":"1d"}})").status, 200);

    auto dry = post_json("/topics/orders/compact?dry_run=true", "");
    ASSERT_EQ(dry.status, 200) << dry.body;
    EXPECT_EQ(body(dry).at("dry_run"), true);
    EXPECT_EQ(body(dry).at("compacted").as_int64(), 90);
    EXPECT_EQ(count("orders"), 100);

    EXPECT_EQ(post_json("/topics/orders/compact?dry_run=maybe", "").status, 400);
    // Given twice, one of them would delete: refused, nothing dropped.
    EXPECT_EQ(post_json("/topics/orders/compact?dry_run=true&dry_run=false", "").status, 400);
    EXPECT_EQ(count("orders"), 100);
    EXPECT_EQ(post_json("/topics/orders/compact?force=1", "").status, 400);
    EXPECT_EQ(post_json("/topics/nosuch/compact", "").status, 404);
    // A page on another origin can POST text/plain to loopback without asking: refused, and
    // so is a body that is not {} (it would be ignored).
    for (const char* type : {"text/plain", "application/x-www-form-urlencoded"}) {
        EXPECT_EQ(
            http_request(port(), "POST", "/topics/orders/compact", {{"Content-Type", type}}, "x")
                .status,
            415)
            << type;
    }
    EXPECT_EQ(http_request(port(), "POST", "/topics/orders/compact").status, 415);
    EXPECT_EQ(post_json("/topics/orders/compact", "garbage").status, 400);
    EXPECT_EQ(post_json("/topics/orders/compact", R"({"dry_run":true})").status, 400);
    EXPECT_EQ(post_json("/topics/orders/compact?dry_run=true", "{}").status, 200);
    EXPECT_EQ(get("/topics/orders/compact").status, 405);

    // Another pass of the topic runs (its lease is held): 409, nothing dropped.
    ASSERT_TRUE(db().acquire_lease("prom.retention/orders", "someone-else", 30s).value_or(false));
    auto busy = post_json("/topics/orders/compact", "");
    EXPECT_EQ(busy.status, 409) << busy.body;
    EXPECT_EQ(count("orders"), 100);
    ASSERT_TRUE(db().release_lease("prom.retention/orders", "someone-else"));

    auto done = post_json("/topics/orders/compact", "");
    ASSERT_EQ(done.status, 200) << done.body;
    auto report = body(done);
    EXPECT_EQ(report.at("dry_run"), false);
    EXPECT_EQ(report.at("compacted").as_int64(), 90);
    EXPECT_EQ(report.at("keys").as_int64(), 10);
    EXPECT_EQ(count("orders"), 10);
    const std::int64_t horizon = report.at("horizon").as_int64();
    EXPECT_GT(horizon, 0);

    // At or after the key's last dropped event: the same answer; between its first and last
    // dropped events: 410 with the horizon.
    EXPECT_EQ(get("/at/orders/k1?t=200000").body, before.body);
    auto gone = get("/at/orders/k1?t=20000");
    EXPECT_EQ(gone.status, 410) << gone.body;
    EXPECT_EQ(body(gone).at("error"), "gone");
    EXPECT_TRUE(body(gone).at("horizon").is_int64());

    // A late event below the horizon is refused, whole batch.
    auto late =
        post_json("/publish", R"({"topic":"orders","key":"k1","ts":5000,"payload":{"late":true}})");
    EXPECT_EQ(late.status, 410) << late.body;
    EXPECT_EQ(body(late).at("horizon").as_int64(), horizon);
    EXPECT_EQ(count("orders"), 10);
    // The same over the WebSocket, with the horizon too (found from outside: it was missing).
    {
        raw_ws::handshake hs;
        auto ws = raw_ws::connect(port(), hs);
        ASSERT_EQ(hs.status, 101);
        ASSERT_TRUE(ws->send_text(
            R"({"op":"publish","id":"p","event":{"topic":"orders","key":"k1","ts":5000,"payload":1}})"));
        auto text = ws->read_text(5s);
        ASSERT_TRUE(text);
        auto frame = parse_json(*text);
        ASSERT_TRUE(frame) << *text;
        EXPECT_EQ(frame->at("error"), "gone") << *text;
        EXPECT_EQ(frame->at("horizon").as_int64(), horizon) << *text;
    }
    EXPECT_EQ(count("orders"), 10);

    // Bytes only on request: they read every event (the dashboard polls /topics).
    auto plain = get("/topics");
    ASSERT_EQ(plain.status, 200);
    const auto plain_listed = body(plain);
    for (const auto& t : plain_listed.at("items").as_array()) {
        EXPECT_FALSE(t.as_object().contains("bytes")) << t;
    }
    EXPECT_EQ(get("/topics?bytes=maybe").status, 400);
    EXPECT_EQ(get("/topics?sizes=true").status, 400);
    auto topics = get("/topics?bytes=true");
    ASSERT_EQ(topics.status, 200);
    const auto listed = body(topics);  // outlives the loop (a temporary would not)
    for (const auto& t : listed.at("items").as_array()) {
        EXPECT_GT(t.at("bytes").as_int64(), 0) << t;
        if (t.at("topic") == "orders") {
            EXPECT_EQ(t.at("events").as_int64(), 10);
            EXPECT_EQ(t.at("last_seq").as_int64(), 100);
            EXPECT_EQ(t.at("horizon").as_int64(), horizon);
        } else {
            EXPECT_TRUE(t.at("horizon").is_null()) << t;
        }
    }
}

TEST_F(retention_http, erase_a_key_and_delete_a_document) {
    publish("orders", 3, 4);
    ASSERT_TRUE(db().append({{.topic = "orders.dlq", .key = "k1", .payload = json::object{}}}));
    // A write route takes no parameter: `?dry_run=true` must not erase as if heeded.
    auto dry = del("/topics/orders/keys/k1?dry_run=true");
    EXPECT_EQ(dry.status, 400) << dry.body;
    EXPECT_NE(dry.body.find("unknown parameter 'dry_run'"), std::string::npos) << dry.body;
    EXPECT_EQ(
        put_policy("/topics/orders/policy?dry_run=true", R"({"compact":{"horizon":"1d"}})").status,
        400);
    // Nor does the policy's read, as no admin route does (found from outside: 200).
    EXPECT_EQ(get("/topics/orders/policy?typo=1").status, 400);
    EXPECT_EQ(db().scan({.topic = "orders", .key = "k1"})->size(), 4u);
    auto erased = del("/topics/orders/keys/k1");
    ASSERT_EQ(erased.status, 200) << erased.body;
    auto r = body(erased);
    EXPECT_EQ(r.at("events").as_int64(), 4);
    EXPECT_EQ(r.at("dead_letters").as_int64(), 1);
    EXPECT_GT(r.at("marker_seq").as_int64(), 12);
    auto left = db().scan({.topic = "orders", .key = "k1"});
    ASSERT_TRUE(left);
    ASSERT_EQ(left->size(), 1u);  // the marker
    EXPECT_TRUE(left->front().payload.is_null());
    EXPECT_TRUE(left->front().headers.contains("prom-erased"));

    const auto before = count("orders");
    auto unknown = del("/topics/orders/keys/nobody");
    EXPECT_EQ(unknown.status, 404) << unknown.body;
    EXPECT_EQ(count("orders"), before);
    EXPECT_EQ(del("/topics/nosuch/keys/k1").status, 404);
    EXPECT_EQ(get("/topics/orders/keys/k2").status, 405);

    put("people", "alice", json::object{{"name", "Alice"}});
    EXPECT_EQ(del("/collections/people/docs/alice").status, 200);
    EXPECT_TRUE(all("people").empty());
    EXPECT_EQ(del("/collections/people/docs/alice").status, 404);
    EXPECT_EQ(get("/collections/people/snap/alice").status, 404);
    EXPECT_EQ(del("/collections/_prom.topic_policies/docs/orders").status, 404);
}

// If-Match and If-Unmodified-Since on a document and on a policy: a false one is 412 and
// changes nothing (RFC 9110 13.1.1, 13.1.4; found from outside: both were ignored, so a
// "conditional" delete deleted anyway).
TEST_F(retention_http, if_match_and_if_unmodified_since_guard_deletes_and_reads) {
    put("people", "bob", json::object{{"name", "Bob"}, {"_ts", 1'700'000'000'000}});
    auto read = get("/collections/people/snap/bob");
    ASSERT_EQ(read.status, 200);
    const std::string etag = *read.header("ETag");
    EXPECT_EQ(get("/collections/people/snap/bob", {{"If-Match", "\"other\""}}).status, 412);
    EXPECT_EQ(get("/collections/people/snap/bob", {{"If-Match", etag}}).status, 200);
    const std::string before = "Sun, 01 Jan 2023 00:00:00 GMT";
    EXPECT_EQ(get("/collections/people/snap/bob", {{"If-Unmodified-Since", before}}).status, 412);

    for (const auto& h :
         std::vector<std::pair<std::string, std::string>>{{"If-Match", "\"other\""},
                                                          {"If-Match", "W/" + etag},
                                                          {"If-Match", "garbage"},
                                                          {"If-Unmodified-Since", before}}) {
        auto refused = del("/collections/people/docs/bob", {h});
        EXPECT_EQ(refused.status, 412) << h.first << ": " << h.second << " " << refused.body;
        EXPECT_EQ(body(refused).at("error"), "precondition_failed");
    }
    EXPECT_EQ(get("/collections/people/snap/bob").status, 200) << "deleted against If-Match";
    // A matching If-None-Match on a DELETE is a failed precondition (found from outside).
    for (const auto& inm : {std::string("*"), etag, "W/" + etag}) {
        auto refused = del("/collections/people/docs/bob", {{"If-None-Match", inm}});
        EXPECT_EQ(refused.status, 412) << inm << " " << refused.body;
    }
    EXPECT_EQ(get("/collections/people/snap/bob").status, 200) << "deleted against If-None-Match";
    EXPECT_EQ(get("/collections/people/snap/bob", {{"If-Match", "\"other\""}}).reason,
              "Precondition Failed");
    EXPECT_EQ(del("/collections/people/docs/bob", {{"If-Match", etag}}).status, 200);
    EXPECT_EQ(get("/collections/people/snap/bob").status, 404);
    // Gone: a 404 whatever the preconditions say.
    EXPECT_EQ(del("/collections/people/docs/bob", {{"If-Match", etag}}).status, 404);

    publish("orders", 1, 1);
    const std::string policy = R"({"retain":{"max_events":5}})";
    auto create_only = std::vector<std::pair<std::string, std::string>>{
        {"Content-Type", "application/json"}, {"If-None-Match", "*"}};
    EXPECT_EQ(put_policy("/topics/orders/policy", policy,
                         {{"Content-Type", "application/json"}, {"If-Match", "*"}})
                  .status,
              412);  // no policy yet
    // A tag, with no policy: the reason is that there is none (found from outside: it said
    // there was one).
    auto tagged = put_policy("/topics/orders/policy", policy,
                             {{"Content-Type", "application/json"}, {"If-Match", "\"abc\""}});
    EXPECT_EQ(tagged.status, 412);
    EXPECT_NE(tagged.body.find("has no policy"), std::string::npos) << tagged.body;
    EXPECT_EQ(put_policy("/topics/orders/policy", policy, create_only).status, 200);
    EXPECT_EQ(
        put_policy("/topics/orders/policy", R"({"retain":{"max_events":9}})", create_only).status,
        412);
    EXPECT_EQ(body(get("/topics/orders/policy")).at("policy").at("retain").at("max_events"), 5);
    EXPECT_EQ(del("/topics/orders/policy", {{"If-Match", "\"x\""}}).status, 412);
    EXPECT_EQ(del("/topics/orders/policy", {{"If-None-Match", "*"}}).status, 412);
    EXPECT_EQ(del("/topics/orders/policy", {{"If-Match", "*"}}).status, 200);
    EXPECT_EQ(del("/topics/orders/policy", {{"If-Match", "*"}}).status, 404);
}

// A SQLite reader outside prom (a sqlite3 shell, a backup tool) that holds a read transaction
// keeps the WAL from being checkpointed: the erasure is committed, and its answer says that
// the WAL may still hold the erased content instead of saying nothing.
TEST_F(retention_http, an_erasure_whose_wal_cannot_be_cleared_says_so) {
    if (!db_url_.starts_with("sqlite:")) GTEST_SKIP() << "a SQLite WAL only";
    publish("orders", 2, 2);
    test::outside_sqlite_reader outside(db_url_.substr(7));
    auto held = del("/topics/orders/keys/k1");
    ASSERT_EQ(held.status, 200) << held.body;
    EXPECT_NE(body(held).at("warning").as_string().find("WAL"), std::string::npos) << held.body;
    outside.release();
    auto clear = del("/topics/orders/keys/k0");
    ASSERT_EQ(clear.status, 200) << clear.body;
    EXPECT_FALSE(body(clear).as_object().contains("warning")) << clear.body;
}

class retention_http_auth : public retention_http {
  protected:
    server::serve_config make_config() override {
        auto c = retention_http::make_config();
        auto p = auth::auth_policy::from_json(*parse_json(
            R"({"tokens":[{"token":"admin-secret","name":"ops","admin":["*"]},
                          {"token":"team-secret","name":"team","admin":["team.*"]},
                          {"token":"reader-secret","name":"reader","read":["*"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(retention_http_auth, the_routes_need_the_admin_permission) {
    publish("orders", 2, 2);
    publish("team.x", 2, 2);
    const std::string policy = R"({"compact":{"horizon":"1d"}})";
    auto as = [](std::string token) {
        return std::vector<std::pair<std::string, std::string>>{
            {"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
    };
    EXPECT_EQ(put_policy("/topics/orders/policy", policy).status, 401);
    EXPECT_EQ(put_policy("/topics/orders/policy", policy, as("reader-secret")).status, 403);
    EXPECT_EQ(put_policy("/topics/orders/policy", policy, as("team-secret")).status, 403);
    EXPECT_EQ(put_policy("/topics/team.x/policy", policy, as("team-secret")).status, 200);
    EXPECT_EQ(put_policy("/topics/orders/policy", policy, as("admin-secret")).status, 200);
    EXPECT_EQ(http_request(port(), "POST", "/topics/orders/compact", as("team-secret")).status,
              403);
    EXPECT_EQ(http_request(port(), "DELETE", "/topics/orders/keys/k0", as("reader-secret")).status,
              403);
    EXPECT_EQ(del("/collections/people/docs/alice").status, 401);
    // A stray parameter is a 400 only for a known token; without one the answer is 401.
    EXPECT_EQ(del("/topics/orders/keys/k0?dry_run=true").status, 401);
    EXPECT_EQ(
        http_request(port(), "DELETE", "/topics/orders/keys/k0?dry_run=true", as("admin-secret"))
            .status,
        400);
    EXPECT_EQ(http_request(port(), "GET", "/topics/orders/policy", as("admin-secret")).status, 200);
    EXPECT_EQ(count("orders"), 4);
}

class retention_runner_http : public retention_http {
  protected:
    server::serve_config make_config() override {
        auto c = retention_http::make_config();
        auto r = server::parse_retention_config(*parse_json(
            R"({"interval_ms":50,"snapshots":true,
                "policies":[{"topic":"runner.*","retain":{"max_events":5}}]})"));
        EXPECT_TRUE(r) << r.error().message;
        c.retention = std::move(*r);
        return c;
    }
};

TEST_F(retention_runner_http, the_background_runner_drops_per_the_config_and_counts_it) {
    // The config's policy was stored at start.
    EXPECT_EQ(all("_prom.topic_policies").size(), 1u);
    ASSERT_TRUE(db().set_cursor("runner.a", "slow", seq_t{2}));
    publish("runner.a", 4, 5);  // 20 events
    ASSERT_TRUE(eventually([&] { return count("runner.a") == 5; }, 20s)) << count("runner.a");
    ASSERT_TRUE(gauge_becomes(R"(prom_retention_dropped_events_total{topic="runner.a"})", 15));
    // seqs 3..15 went before the group "slow" (cursor 2) had seen them.
    EXPECT_EQ(gauge(R"(prom_retention_unseen_dropped_total{topic="runner.a",group="slow"})"), 13);
    EXPECT_GT(gauge("prom_retention_passes_total"), 0);
    EXPECT_GT(gauge("prom_retention_last_pass_timestamp_seconds"), 1'700'000'000);
    auto got = get("/topics/runner.a/policy");
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(body(got).at("pattern"), "runner.*");

    // Periodic snapshots: a long key's snapshots appear without any time-travel query.
    std::vector<event_input> batch;
    for (int i = 1; i <= 200; ++i) {
        batch.push_back(
            {.topic = "long", .key = "k", .ts = ts_ms{std::int64_t{1000} * i}, .payload = i});
    }
    ASSERT_TRUE(db().append(std::move(batch)));
    EXPECT_TRUE(eventually(
        [&] {
            auto snap = db().snapshot_at_or_before("long", "k", "replace", ts_ms{1'000'000});
            return snap && *snap && (*snap)->count >= 128;
        },
        20s));
    EXPECT_EQ(count("long"), 200);  // no policy: nothing dropped
}

}  // namespace
}  // namespace prom::test
