#include <gtest/gtest.h>

#include "ws/protocol.hpp"

namespace prom::ws {
namespace {

command parsed(std::string_view text) {
    auto r = parse_command(text);
    EXPECT_TRUE(std::holds_alternative<command>(r)) << text;
    return std::holds_alternative<command>(r) ? std::get<command>(r) : command{};
}

protocol_error refused(std::string_view text) {
    auto r = parse_command(text);
    EXPECT_TRUE(std::holds_alternative<protocol_error>(r)) << text;
    return std::holds_alternative<protocol_error>(r) ? std::get<protocol_error>(r)
                                                     : protocol_error{};
}

// A frame refused for a value it holds still names its request (found from outside: the
// error of a publish with 1e400 in its payload came without the id).
TEST(ws_protocol, a_refused_frame_echoes_its_id_when_it_parses_at_all) {
    auto e = refused(R"({"op":"publish","id":"p1","event":{"topic":"t","payload":1e400}})");
    EXPECT_EQ(e.id, "p1");
    EXPECT_NE(e.message.find("out of range"), std::string::npos) << e.message;
    EXPECT_EQ(refused(R"({"batchSize":1e400,"id":"s1","op":"subscribe","topic":"t"})").id, "s1");
    EXPECT_EQ(refused(R"({"op":"publish","id":"p2","event":{"topic":"t","payload":1})").id, "");
    EXPECT_EQ(refused(R"({"op":"publish","id":7,"event":{"payload":1e400}})").id, "");
}

TEST(ws_protocol, parses_subscribe_with_the_seed_option_names) {
    auto c = parsed(
        R"({"op":"subscribe","id":"c1","topic":"t","group":"g","from":"latest","batchSize":5,"manualAck":true})");
    EXPECT_EQ(c.id, "c1");
    auto& s = std::get<subscribe_cmd>(c.op);
    EXPECT_EQ(s.topic, "t");
    EXPECT_EQ(s.from, start_from::latest);
    EXPECT_EQ(s.batch_size, 5u);
    EXPECT_TRUE(s.manual_ack);
    auto d = parsed(R"({"op":"subscribe","topic":"t","group":"g","batch_size":7})");
    EXPECT_EQ(std::get<subscribe_cmd>(d.op).batch_size, 7u);
    EXPECT_EQ(std::get<subscribe_cmd>(d.op).from, start_from::earliest);
    // Both spellings of one field: refused, not one of them ignored (found from outside).
    EXPECT_NE(refused(R"({"op":"subscribe","topic":"t","batchSize":1,"batch_size":500})")
                  .message.find("one field"),
              std::string::npos);
    EXPECT_NE(refused(R"({"op":"subscribe","topic":"t","manualAck":true,"manual_ack":false})")
                  .message.find("one field"),
              std::string::npos);
}

TEST(ws_protocol, subscribe_from_a_seq_or_a_time) {
    auto s =
        std::get<subscribe_cmd>(parsed(R"({"op":"subscribe","topic":"t","from":{"seq":7}})").op);
    EXPECT_EQ(s.from_seq, 7);
    EXPECT_FALSE(s.from_ts);
    s = std::get<subscribe_cmd>(
        parsed(R"({"op":"subscribe","topic":"t","group":"g","from":{"ts":"1970-01-01T00:00:01Z"}})")
            .op);
    EXPECT_EQ(s.from_ts, 1000);
    s = std::get<subscribe_cmd>(parsed(R"({"op":"subscribe","topic":"t","from":{"ts":5}})").op);
    EXPECT_EQ(s.from_ts, 5);
    for (std::string_view bad :
         {R"({"op":"subscribe","topic":"t","from":{"seq":0}})",
          R"({"op":"subscribe","topic":"t","from":{"seq":"1"}})",
          R"({"op":"subscribe","topic":"t","from":{"ts":"soon"}})",
          // After 9999-12-31 (found from outside: it started at the end).
          R"({"op":"subscribe","topic":"t","from":{"ts":253402300800000}})",
          R"({"op":"subscribe","topic":"t","from":{"ts":9223372036854775807}})",
          R"({"op":"subscribe","topic":"t","from":{"seq":1,"ts":2}})",
          R"({"op":"subscribe","topic":"t","from":{}})"}) {
        EXPECT_EQ(refused(bad).code, "bad_request") << bad;
    }
}

// A group name is bounded and has no control characters (found from outside: a megabyte-long
// name was stored as a cursor and repeated by every /metrics scrape).
TEST(ws_protocol, a_group_name_is_bounded_text) {
    const std::string longest(256, 'g');
    EXPECT_EQ(std::get<subscribe_cmd>(
                  parsed(R"({"op":"subscribe","topic":"t","group":")" + longest + R"("})").op)
                  .group,
              longest);
    EXPECT_EQ(refused(R"({"op":"subscribe","topic":"t","group":")" + longest + R"(g"})").code,
              "bad_request");
    EXPECT_EQ(refused(R"({"op":"ack","topic":"t","group":"a\nb","seq":1})").code, "bad_request");
    EXPECT_EQ(refused(R"({"op":"subscribe","topic":"t","group":"nel\u0085x"})").code,
              "bad_request");
    EXPECT_EQ(
        std::get<subscribe_cmd>(parsed(R"({"op":"subscribe","topic":"t","group":"caf\u00e9"})").op)
            .group,
        "caf\xC3\xA9");
}

// A watch of a key no document can have is refused, as the SSE watch refuses it.
TEST(ws_protocol, a_watch_of_an_impossible_key_is_refused) {
    EXPECT_EQ(
        refused(R"({"op":"watch","collection":"c","key":")" + std::string(1025, 'k') + R"("})")
            .code,
        "bad_request");
    EXPECT_EQ(refused(R"({"op":"watch","collection":"c","key":"a\u0000b"})").code, "bad_request");
    EXPECT_TRUE(std::holds_alternative<watch_cmd>(
        parsed(R"({"op":"watch","collection":"c","key":")" + std::string(1024, 'k') + R"("})").op));
}

// The groups of prom's own projectors and replays are not for subscribers: one that joined a
// stopped projector's group acknowledged events the projector then never applied (found
// from outside). Names that only resemble them are any client's.
TEST(ws_protocol, the_groups_of_proms_own_consumers_are_refused) {
    for (std::string_view group : {"projector.orders", "projector.orders@1f2e", "replay:t",
                                   "process-projector", "processes.txn"}) {
        const std::string g(group);
        EXPECT_EQ(refused(R"({"op":"subscribe","topic":"t","group":")" + g + R"("})").code,
                  "bad_request")
            << group;
        EXPECT_EQ(refused(R"({"op":"ack","topic":"t","group":")" + g + R"(","seq":1})").code,
                  "bad_request")
            << group;
    }
    for (std::string_view group :
         {"projector", "projectors.x", "my.projector.x", "replay", "processes"}) {
        const std::string g(group);
        EXPECT_EQ(std::get<subscribe_cmd>(
                      parsed(R"({"op":"subscribe","topic":"t","group":")" + g + R"("})").op)
                      .group,
                  group);
    }
}

// A pattern resumes with a position per topic; each must be one the pattern could deliver.
TEST(ws_protocol, a_pattern_takes_a_seq_per_topic) {
    auto s = std::get<subscribe_cmd>(
        parsed(R"({"op":"subscribe","topic":"order.*","from":{"seqs":{"order.a":3,"order.b":1}}})")
            .op);
    ASSERT_TRUE(s.from_seqs);
    EXPECT_EQ(s.from_seqs->size(), 2u);
    EXPECT_EQ(s.from_seqs->at("order.a"), 3);
    EXPECT_EQ(s.from_seqs->at("order.b"), 1);
    s = std::get<subscribe_cmd>(parsed(R"({"op":"subscribe","topic":"*","from":{"seqs":{}}})").op);
    ASSERT_TRUE(s.from_seqs);
    EXPECT_TRUE(s.from_seqs->empty());
    for (std::string_view bad :
         {R"({"op":"subscribe","topic":"t","from":{"seqs":{"t":2}}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seqs":{"other":2}}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seqs":{"order.a.dlq":2}}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seqs":{"order.a":0}}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seqs":{"order.a":"2"}}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seqs":[1]}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seqs":{"order.a":1},"ts":2}})",
          R"({"op":"subscribe","topic":"order.*","from":{"seq":2}})"}) {
        EXPECT_EQ(refused(bad).code, "bad_request") << bad;
    }
}

TEST(ws_protocol, parses_ack_unsubscribe_and_publish) {
    EXPECT_EQ(std::get<ack_cmd>(parsed(R"({"op":"ack","topic":"t","group":"g","seq":9})").op).seq,
              9);
    EXPECT_EQ(
        std::get<unsubscribe_cmd>(parsed(R"({"op":"unsubscribe","topic":"t","group":"g"})").op)
            .group,
        "g");
    auto p = parsed(R"({"op":"publish","id":"p","event":{"topic":"t","payload":{"a":1}}})");
    EXPECT_EQ(std::get<publish_cmd>(p.op).events.size(), 1u);
    auto many = parsed(
        R"({"op":"publish","events":[{"topic":"t","payload":1},{"topic":"u","payload":2,"id":"x"}]})");
    EXPECT_EQ(std::get<publish_cmd>(many.op).events.size(), 2u);
}

// A batch holds any number of events, as a POST /publish body does (found from outside: 1,001
// went over HTTP and were refused here); an empty one is refused.
TEST(ws_protocol, a_publish_batch_is_bounded_by_its_size_only) {
    std::string frame = R"({"op":"publish","id":"b","events":[)";
    for (int i = 0; i < 1001; ++i)
        frame += std::string(i ? "," : "") + R"({"topic":"t","payload":1})";
    frame += "]}";
    EXPECT_EQ(std::get<publish_cmd>(parsed(frame).op).events.size(), 1001u);
    EXPECT_NE(refused(R"({"op":"publish","id":"e","events":[]})").message.find("non-empty"),
              std::string::npos);
}

// A batch's refused event is named by its index, as POST /publish names it (found from
// outside: a reserved id in the second event said only "ids starting with prom- …").
TEST(ws_protocol, a_refused_event_of_a_batch_is_named_by_its_index) {
    auto e = refused(
        R"({"op":"publish","id":"b","events":[{"topic":"t","payload":1},{"topic":"t","payload":2,"id":"prom-x"}]})");
    EXPECT_EQ(e.id, "b");
    EXPECT_TRUE(e.message.starts_with("events[1]: ")) << e.message;
    auto one = refused(R"({"op":"publish","event":{"topic":"t","payload":1,"id":"prom-x"}})");
    EXPECT_FALSE(one.message.starts_with("events[")) << one.message;
}

// A store's refusal of bad input is `bad_request` on the WebSocket, one of the codes
// docs/ws-protocol.md lists (found from outside: "invalid_argument").
TEST(ws_protocol, a_stores_refusal_of_bad_input_is_a_bad_request_frame) {
    auto frame = error_frame_of("p", error{errc::invalid_argument, "no"});
    EXPECT_NE(frame.find(R"("error":"bad_request")"), std::string::npos) << frame;
    EXPECT_NE(error_frame_of("p", error{errc::gone, "old"}).find(R"("error":"gone")"),
              std::string::npos);
}

TEST(ws_protocol, a_subscribe_without_a_group_is_ephemeral) {
    auto c = parsed(R"({"op":"subscribe","topic":"t","from":"latest"})");
    const auto& s = std::get<subscribe_cmd>(c.op);
    EXPECT_EQ(s.topic, "t");
    EXPECT_EQ(s.group, "");
    EXPECT_EQ(std::get<unsubscribe_cmd>(parsed(R"({"op":"unsubscribe","topic":"t"})").op).group,
              "");
}

TEST(ws_protocol, refuses_bad_requests_with_the_correlation_id) {
    EXPECT_EQ(refused("{oops").code, "bad_request");
    EXPECT_EQ(refused("[1]").code, "bad_request");
    EXPECT_EQ(refused(R"({"id":"x","op":"nope"})").id, "x");
    refused(R"({"op":"subscribe","group":"g"})");
    refused(R"({"op":"subscribe","topic":"t","group":""})");
    refused(R"({"op":"ack","topic":"t","seq":1})");  // an ephemeral subscription takes no acks
    refused(R"({"op":"subscribe","topic":"t","group":"g","from":"middle"})");
    refused(R"({"op":"subscribe","topic":"t","group":"g","batchSize":0})");
    refused(R"({"op":"subscribe","topic":"t","group":"g","batchSize":1.5})");
    refused(R"({"op":"subscribe","topic":"t","group":"g","manualAck":"yes"})");
    refused(R"({"op":"ack","topic":"t","group":"g","seq":-1})");
    refused(R"({"op":"publish","event":{"topic":"bad topic","payload":1}})");
    refused(R"({"op":"publish","event":{"topic":"t"}})");
    refused(R"({"op":"publish","events":[]})");
    refused(R"({"op":"publish","event":{"topic":"t","payload":1},"events":[]})");
    EXPECT_EQ(refused(R"({"id":7,"op":"ack"})").id, "");
}

TEST(ws_protocol, refuses_fields_an_op_does_not_know) {
    // A misspelt option would otherwise be left at its default without a word.
    auto e = refused(R"({"op":"subscribe","id":"s1","topic":"t","group":"g","manualack":true})");
    EXPECT_EQ(e.code, "bad_request");
    EXPECT_EQ(e.id, "s1");
    EXPECT_NE(e.message.find("unknown field 'manualack'"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("manualAck"), std::string::npos) << e.message;
    EXPECT_EQ(refused(R"({"op":"ack","topic":"t","group":"g","seq":1,"sq":2})").code,
              "bad_request");
    EXPECT_EQ(refused(R"({"op":"unsubscribe","topic":"t","group":"g","from":"latest"})").code,
              "bad_request");
    EXPECT_EQ(refused(R"({"op":"publish","event":{"topic":"t","payload":1},"durable":true})").code,
              "bad_request");
    EXPECT_EQ(refused(R"({"op":"watch","collection":"c","afterr":3})").code, "bad_request");
    EXPECT_EQ(refused(R"({"op":"unwatch","collection":"c","after":3})").code, "bad_request");
    // Every documented field is still taken.
    parsed(
        R"({"op":"subscribe","id":"a","topic":"t","group":"g","from":"earliest","batch_size":1,"manual_ack":false})");
    parsed(R"({"op":"watch","id":"a","collection":"c","prefix":"p","after":0})");
}

TEST(ws_protocol, subscribe_and_unsubscribe_take_a_prefix_pattern_but_ack_does_not) {
    auto s = std::get<subscribe_cmd>(
        std::get<command>(parse_command(R"({"op":"subscribe","topic":"order.*","group":"g"})")).op);
    EXPECT_EQ(s.topic, "order.*");
    EXPECT_TRUE(is_topic_pattern(s.topic));
    EXPECT_FALSE(is_topic_pattern("order.created"));
    auto t = std::get<subscribe_cmd>(
        std::get<command>(parse_command(R"({"op":"subscribe","topic":"*","from":{"ts":5}})")).op);
    EXPECT_EQ(t.from_ts, 5);
    EXPECT_TRUE(std::holds_alternative<command>(
        parse_command(R"({"op":"unsubscribe","topic":"order.*","group":"g"})")));
    for (std::string_view bad :
         {R"({"op":"subscribe","topic":"or*der"})", R"({"op":"subscribe","topic":"order.**"})",
          R"({"op":"subscribe","topic":"order.*","from":{"seq":2}})",
          R"({"op":"ack","topic":"order.*","group":"g","seq":1})"}) {
        auto r = parse_command(bad);
        ASSERT_TRUE(std::holds_alternative<protocol_error>(r)) << bad;
        EXPECT_EQ(std::get<protocol_error>(r).code, "bad_request");
    }
}

TEST(ws_protocol, renders_canonical_frames) {
    event e{.id = "i", .topic = "t", .key = "k", .ts = ts_ms{5}, .seq = seq_t{1}, .payload = 1};
    EXPECT_EQ(
        events_frame("t", "g", std::span<const event>(&e, 1)),
        R"({"events":[{"headers":{},"id":"i","key":"k","payload":1,"seq":1,"topic":"t","ts":5}],"group":"g","op":"events","topic":"t"})");
    EXPECT_EQ(error_frame("c", "forbidden", "no"),
              R"({"error":"forbidden","id":"c","message":"no","op":"error"})");
    EXPECT_EQ(reply_frame("", "acked", json::object{{"seq", 3}}), R"({"op":"acked","seq":3})");
}

}  // namespace
}  // namespace prom::ws
