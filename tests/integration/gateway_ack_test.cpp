// Acks over the gateway (issue 12 items 7 and 14): an ack beyond the topic's end is refused
// and changes nothing; acking needs the subscribe permission of the topic and of the group;
// a cursor stored beyond the end never makes the delivery loop spin.
#include <limits>

#include "bus/consumer_state.hpp"
#include "prom/bus.hpp"
#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class gateway_ack : public server_test {
  protected:
    std::unique_ptr<raw_ws> open(const std::vector<std::string>& headers = {}) {
        raw_ws::handshake hs;
        auto ws = raw_ws::connect(port(), hs, "/ws", headers);
        EXPECT_EQ(hs.status, 101) << hs.response;
        return hs.status == 101 ? std::move(ws) : nullptr;
    }

    void publish(std::string_view topic, int n) {
        for (int i = 0; i < n; ++i) {
            auto r = db().append({event_input{.topic = std::string(topic), .payload = i}});
            ASSERT_TRUE(r) << r.error().message;
        }
    }

    // The next frame whose op is `op` (other frames are skipped), or null.
    static json::value expect_op(raw_ws& ws, std::string_view op) {
        for (int i = 0; i < 100; ++i) {
            auto text = ws.read_text(5s);
            if (!text) break;
            auto v = parse_json(*text);
            if (v && v->is_object() && v->at("op").is_string() && v->at("op").get_string() == op)
                return *v;
        }
        ADD_FAILURE() << "no '" << op << "' frame";
        return nullptr;
    }

    // Every `events` frame that arrives within `d`, as the seqs it carried.
    // The seqs delivered within `d`; with `enough`, returns as soon as that many came (a
    // loaded machine may take long over them, an idle one should not make the test wait).
    static std::vector<seq_t> events_within(raw_ws& ws, std::chrono::milliseconds d,
                                            std::size_t enough = 0) {
        std::vector<seq_t> seqs;
        auto deadline = std::chrono::steady_clock::now() + d;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || (enough > 0 && seqs.size() >= enough)) break;
            auto text = ws.read_text(left);
            if (!text) break;
            auto v = parse_json(*text);
            if (!v || v->at("op") != "events") continue;
            for (const auto& e : v->at("events").as_array())
                seqs.push_back(seq_t{e.at("seq").as_int64()});
        }
        return seqs;
    }

    seq_t cursor(std::string_view topic, std::string_view group) {
        auto c = db().cursor(topic, group);
        EXPECT_TRUE(c) << c.error().message;
        return c && *c ? **c : seq_t{-1};
    }
};

TEST_F(gateway_ack, an_ack_beyond_the_last_seq_is_refused_and_changes_nothing) {
    publish("jobs", 2);
    auto ws = open();
    ASSERT_TRUE(ws);
    ws->send_text(R"({"op":"subscribe","topic":"jobs","group":"w","manualAck":true})");
    expect_op(*ws, "subscribed");
    EXPECT_EQ(expect_op(*ws, "events").at("events").as_array().size(), 2u);
    for (std::string seq : {"3", "1000000", "9223372036854775807"}) {
        ws->send_text(R"({"op":"ack","id":"a","topic":"jobs","group":"w","seq":)" + seq + "}");
        auto err = expect_op(*ws, "error");
        EXPECT_EQ(err.at("error"), "bad_request") << seq;
        EXPECT_EQ(err.at("id"), "a");
        EXPECT_EQ(cursor("jobs", "w"), 0) << seq;
    }
    ws->send_text(R"({"op":"ack","id":"b","topic":"jobs","group":"w","seq":2})");
    auto acked = expect_op(*ws, "acked");
    EXPECT_EQ(acked.at("seq"), 2);
    EXPECT_EQ(acked.at("cursor"), 2);
    EXPECT_EQ(cursor("jobs", "w"), 2);
    // An ack below the cursor moves nothing, and the reply says where it stands (found from
    // outside: the reply to it read as a step back).
    ws->send_text(R"({"op":"ack","id":"c","topic":"jobs","group":"w","seq":1})");
    auto lower = expect_op(*ws, "acked");
    EXPECT_EQ(lower.at("seq"), 1);
    EXPECT_EQ(lower.at("cursor"), 2);
    EXPECT_EQ(cursor("jobs", "w"), 2);
    // The group still receives what comes next.
    publish("jobs", 1);
    auto next = expect_op(*ws, "events");
    ASSERT_EQ(next.at("events").as_array().size(), 1u);
    EXPECT_EQ(next.at("events").at(0).at("seq"), 3);
    // And the library refuses the same (every ack path goes through bus::ack).
    bus b(db());
    auto refused = b.ack("jobs", "w", seq_t{4});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::invalid_argument);
    EXPECT_FALSE(b.ack("no.such.topic", "w", seq_t{1}));
    EXPECT_EQ(cursor("jobs", "w"), 2);
}

// Only what a connection received may be acknowledged: a standby of the group (it receives
// nothing) or a consumer acking ahead would make the group skip events nobody received.
TEST_F(gateway_ack, an_ack_past_what_this_connection_received_is_refused) {
    auto active = open();
    ASSERT_TRUE(active);
    active->send_text(R"({"op":"subscribe","topic":"jobs","group":"w","manualAck":true})");
    expect_op(*active, "subscribed");
    // The lease is taken after `subscribed`: the standby subscribes once it is held, or it
    // could take the group first (seen on PostgreSQL in CI).
    const auto lease = bus_internal::consumer_lease_name("jobs", "w");
    ASSERT_TRUE(test::eventually(
        [&] {
            auto held = db().list_leases(lease);
            return held && !held->empty() && held->front().remaining.count() > 0;
        },
        10s));
    auto standby = open();
    ASSERT_TRUE(standby);
    standby->send_text(R"({"op":"subscribe","topic":"jobs","group":"w","manualAck":true})");
    expect_op(*standby, "subscribed");
    publish("jobs", 10);
    EXPECT_EQ(events_within(*active, 10s, 10).size(), 10u);
    standby->send_text(R"({"op":"ack","id":"s","topic":"jobs","group":"w","seq":10})");
    auto refused = expect_op(*standby, "error");
    EXPECT_EQ(refused.at("error"), "conflict") << refused;
    EXPECT_EQ(cursor("jobs", "w"), 0);
    active->send_text(R"({"op":"ack","id":"a","topic":"jobs","group":"w","seq":4})");
    EXPECT_EQ(expect_op(*active, "acked").at("seq"), 4);
    // The active consumer goes: the standby takes over from 5, nothing skipped.
    active.reset();
    auto seqs = events_within(*standby, 10s, 6);
    ASSERT_FALSE(seqs.empty());
    EXPECT_EQ(seqs.front(), 5);
    EXPECT_EQ(seqs.back(), 10);
}

// A close handshake ends the session at once: the group's next consumer gets the lease
// without waiting for the peer to close its TCP socket (Beast's teardown waits for that).
// An ack is applied only while its connection still holds the group's lease: one taken
// away in between (an operator's forced seek here; a process paused past its lease the same)
// is refused, and the cursor stays where the lease's new holder put it. Before, the ack
// path read a flag refreshed only at the consumer's next renewal (found from outside).
TEST_F(gateway_ack, an_ack_after_the_lease_was_taken_away_is_refused) {
    publish("jobs", 3);
    auto ws = open();
    ASSERT_TRUE(ws);
    ws->send_text(R"({"op":"subscribe","topic":"jobs","group":"w","manualAck":true})");
    expect_op(*ws, "subscribed");
    EXPECT_EQ(expect_op(*ws, "events").at("events").as_array().size(), 3u);
    ASSERT_TRUE(db().seize_lease(bus_internal::consumer_lease_name("jobs", "w"), "operator", 30s));
    ws->send_text(R"({"op":"ack","id":"late","topic":"jobs","group":"w","seq":3})");
    auto err = expect_op(*ws, "error");
    EXPECT_EQ(err.at("error"), "conflict");
    EXPECT_EQ(err.at("id"), "late");
    EXPECT_EQ(cursor("jobs", "w"), 0);
}

TEST_F(gateway_ack, a_close_frame_hands_the_lease_over_at_once) {
    publish("jobs", 3);
    auto first = open();
    ASSERT_TRUE(first);
    first->send_text(R"({"op":"subscribe","topic":"jobs","group":"w","manualAck":true})");
    expect_op(*first, "subscribed");
    EXPECT_EQ(events_within(*first, 10s, 3).size(), 3u);
    auto next = open();
    ASSERT_TRUE(next);
    next->send_text(R"({"op":"subscribe","topic":"jobs","group":"w","manualAck":true})");
    expect_op(*next, "subscribed");
    ASSERT_TRUE(first->send_frame(0x8, std::string("\x03\xe8", 2)));  // close 1000, socket kept
    auto seqs = events_within(*next, 5000ms, 3);  // the lease moves at once, not after ~150 s
    EXPECT_EQ(seqs.size(), 3u);
}

// Without manualAck a batch is acknowledged once written, even when the client closes right
// after reading it (the ack used to be dropped when the consumer stopped first, about one
// run in three: the next consumer got the batch again).
TEST_F(gateway_ack, a_written_batch_is_acknowledged_though_the_client_closes_at_once) {
    publish("quick", 5);
    for (int round = 0; round < 8; ++round) {
        const std::string group = "q" + std::to_string(round);
        auto ws = open();
        ASSERT_TRUE(ws);
        ws->send_text(R"({"op":"subscribe","topic":"quick","group":")" + group +
                      R"(","from":{"seq":4}})");
        expect_op(*ws, "subscribed");
        EXPECT_EQ(expect_op(*ws, "events").at("events").as_array().size(), 2u);
        ASSERT_TRUE(ws->send_frame(0x8, std::string("\x03\xe8", 2)));  // close at once
        ws.reset();
        EXPECT_TRUE(eventually([&] { return cursor("quick", group) == 5; })) << group;
    }
}

// Subscriptions and watches share the 64 of a connection; a name no event can have is
// refused before any cursor is stored for it.
TEST_F(gateway_ack, subscribe_counts_watches_and_refuses_bad_topic_names) {
    auto ws = open();
    ASSERT_TRUE(ws);
    ws->send_text(R"({"op":"subscribe","id":"bad","topic":"a b","group":"g"})");
    auto bad = expect_op(*ws, "error");
    EXPECT_EQ(bad.at("error"), "bad_request") << bad;
    auto groups = db().list_cursors();
    ASSERT_TRUE(groups);
    EXPECT_TRUE(groups->empty());
    ASSERT_TRUE(db().append({{.topic = "docs.src", .payload = 1}}));
    {
        auto txn = db().begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("things", "k",
                                       json::object{{"$set", json::object{{"x", 1}}}}, true));
        ASSERT_TRUE((*txn)->commit());
    }
    for (int i = 0; i < 64; ++i) {
        ws->send_text(R"({"op":"watch","id":"w","collection":"things","key":"k)" +
                      std::to_string(i) + R"("})");
        expect_op(*ws, "watching");
    }
    ws->send_text(R"({"op":"subscribe","id":"s","topic":"jobs"})");
    EXPECT_EQ(expect_op(*ws, "error").at("error"), "too_many");
}

// A pattern that meets the bound on its second topic is told so with its request's id, as a
// named subscription is (found from outside: the frame had no id).
TEST_F(gateway_ack, a_pattern_past_the_subscription_bound_is_told_with_its_id) {
    ASSERT_TRUE(db().append({{.topic = "jobs.a", .payload = 1},
                             {.topic = "jobs.b", .payload = 2},
                             {.topic = "jobs.c", .payload = 3},
                             {.topic = "jobs.d", .payload = 4}}));
    {
        auto txn = db().begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("things", "k",
                                       json::object{{"$set", json::object{{"x", 1}}}}, true));
        ASSERT_TRUE((*txn)->commit());
    }
    auto ws = open();
    for (int i = 0; i < 63; ++i) {
        ws->send_text(R"({"op":"watch","id":"w","collection":"things","key":"k)" +
                      std::to_string(i) + R"("})");
        expect_op(*ws, "watching");
    }
    ws->send_text(R"({"op":"subscribe","id":"p","topic":"jobs.*"})");
    auto too_many = expect_op(*ws, "error");
    EXPECT_EQ(too_many.at("error"), "too_many") << too_many;
    EXPECT_EQ(too_many.at("id"), "p") << too_many;
    // The first topic left out, and how many more (found from outside: one was named where
    // several were missing).
    EXPECT_NE(std::string(too_many.at("message").as_string()).find("and 2 more topics"),
              std::string::npos)
        << too_many;
}

TEST_F(gateway_ack, a_cursor_stored_beyond_the_end_causes_no_redelivery_flood) {
    for (auto [topic, stored] : {std::pair{std::string("max"), seq_t::max()},
                                 std::pair{std::string("beyond"), seq_t{1000}}}) {
        SCOPED_TRACE(topic);
        publish(topic, 3);
        ASSERT_TRUE(db().set_cursor(topic, "g", stored));  // as a pre-fix ack could have left it
        auto ws = open();
        ASSERT_TRUE(ws);
        ws->send_text(R"({"op":"subscribe","topic":")" + topic + R"(","group":"g"})");
        expect_op(*ws, "subscribed");
        // Nothing is re-sent over and over (the flood sent the first batch 10,000+ times in 2 s).
        EXPECT_TRUE(events_within(*ws, 1000ms).empty());
        // The cursor was pulled back to the topic's end, so the group is not stuck either:
        // the next event arrives, once.
        EXPECT_EQ(cursor(topic, "g"), 3);
        publish(topic, 1);
        EXPECT_EQ(events_within(*ws, 1000ms), std::vector<seq_t>{seq_t{4}});
        EXPECT_EQ(cursor(topic, "g"), 4);
    }
}

class gateway_ack_auth : public gateway_ack {
  protected:
    server::serve_config make_config() override {
        auto c = gateway_ack::make_config();
        auto p = auth::auth_policy::from_json(*parse_json(R"({"tokens":[
            {"token":"team-token-1","subscribe":["jobs"],"groups":["team-*"]},
            {"token":"any-group-token","subscribe":["jobs"]}]})"));
        EXPECT_TRUE(p) << p.error().message;
        c.auth = std::move(*p);
        return c;
    }
};

TEST_F(gateway_ack_auth, subscribing_and_acking_need_the_topic_and_the_group) {
    publish("jobs", 2);
    publish("other", 2);
    auto team = open({"Authorization: Bearer team-token-1"});
    ASSERT_TRUE(team);
    team->send_text(R"({"op":"subscribe","id":"s1","topic":"jobs","group":"ops"})");
    auto no_group = expect_op(*team, "error");
    EXPECT_EQ(no_group.at("error"), "forbidden");
    EXPECT_NE(no_group.at("message").as_string().find("group 'ops'"), std::string::npos);
    team->send_text(R"({"op":"ack","id":"a1","topic":"jobs","group":"ops","seq":1})");
    EXPECT_EQ(expect_op(*team, "error").at("error"), "forbidden");
    team->send_text(R"({"op":"ack","id":"a2","topic":"other","group":"team-a","seq":1})");
    EXPECT_EQ(expect_op(*team, "error").at("error"), "forbidden");
    EXPECT_EQ(cursor("jobs", "ops"), -1);
    EXPECT_EQ(cursor("other", "team-a"), -1);

    team->send_text(
        R"({"op":"subscribe","id":"s2","topic":"jobs","group":"team-a","manualAck":true})");
    expect_op(*team, "subscribed");
    expect_op(*team, "events");
    team->send_text(R"({"op":"ack","id":"a3","topic":"jobs","group":"team-a","seq":2})");
    EXPECT_EQ(expect_op(*team, "acked").at("seq"), 2);

    // A token without "groups" may use any group.
    auto any = open({"Authorization: Bearer any-group-token"});
    ASSERT_TRUE(any);
    any->send_text(R"({"op":"subscribe","id":"s3","topic":"jobs","group":"ops"})");
    expect_op(*any, "subscribed");
}

// A subscription without a group stores nothing and moves no cursor: `groups` does not limit
// it (the dashboard's Events page uses one with a token whose groups are "dashboard-*").
TEST_F(gateway_ack_auth, an_ephemeral_subscription_needs_only_the_topic) {
    publish("jobs", 2);
    auto team = open({"Authorization: Bearer team-token-1"});
    ASSERT_TRUE(team);
    team->send_text(R"({"op":"subscribe","id":"e1","topic":"jobs","from":"earliest"})");
    expect_op(*team, "subscribed");
    EXPECT_EQ(expect_op(*team, "events").at("events").as_array().size(), 2u);
    team->send_text(R"({"op":"subscribe","id":"e2","topic":"other","from":"earliest"})");
    EXPECT_EQ(expect_op(*team, "error").at("error"), "forbidden");
}

// A pattern wider than the token's subscribe patterns takes only the topics the token may
// read; a pattern none of whose topics it may read is refused.
TEST_F(gateway_ack_auth, a_wide_pattern_is_narrowed_to_the_readable_topics) {
    publish("jobs", 2);
    publish("other", 3);
    auto any = open({"Authorization: Bearer any-group-token"});
    ASSERT_TRUE(any);
    any->send_text(R"({"op":"subscribe","id":"p1","topic":"*","group":"wide"})");
    expect_op(*any, "subscribed");
    auto ev = expect_op(*any, "events");
    EXPECT_EQ(ev.at("topic"), "jobs");
    EXPECT_EQ(ev.at("events").as_array().size(), 2u);
    EXPECT_EQ(cursor("other", "wide"), -1);
    any->send_text(R"({"op":"subscribe","id":"p2","topic":"oth*","group":"wide"})");
    EXPECT_EQ(expect_op(*any, "error").at("error"), "forbidden");
}

}  // namespace
}  // namespace prom::test
