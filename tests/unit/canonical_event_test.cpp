// read_canonical_event: a publish body in the usual shape with a canonical payload is read
// without building its JSON, and gives exactly the event the general path gives
// (parse_json, event_input_from_json); any other body is left to that path (nullopt).
#include "core/canonical_event.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "prom/event.hpp"
#include "prom/json.hpp"
#include "ws/protocol.hpp"

namespace prom {
namespace {

// The general path's event for `body`, as POST /publish reads one (nullopt when it refuses).
std::optional<event_input> general(const std::string& body) {
    auto v = parse_json(body, {.max_depth = publish_body_max_depth});
    if (!v) return std::nullopt;
    auto in = event_input_from_json(std::move(*v));
    if (!in) return std::nullopt;
    return std::move(*in);
}

// Both paths agree on `body`: when the reader takes it, the general path reads the same event,
// and the payload's canonical text is what the reader kept.
void expect_same_as_general(const std::string& body) {
    auto fast = read_canonical_event(body);
    if (!fast) return;
    auto slow = general(body);
    ASSERT_TRUE(slow) << "taken by the reader, refused by the general path: " << body;
    EXPECT_EQ(fast->topic, slow->topic) << body;
    EXPECT_EQ(fast->key, slow->key) << body;
    EXPECT_EQ(fast->id, slow->id) << body;
    EXPECT_EQ(fast->ts, slow->ts) << body;
    EXPECT_EQ(fast->headers, slow->headers) << body;
    EXPECT_FALSE(fast->expect_key_seq) << body;
    EXPECT_TRUE(fast->payload.is_null()) << body;
    EXPECT_EQ(fast->payload_canonical.text(), canonical_json(slow->payload)) << body;
    EXPECT_EQ(payload_value(*fast), slow->payload) << body;
}

TEST(canonical_event, reads_the_usual_body_keeping_the_payload_text) {
    const std::string body =
        R"({"topic":"orders","key":"o-1","id":"e-1","ts":1700000000000,)"
        R"("payload":{"items":[1,-2,{"sku":"a/b"}],"note":"ü 😀","ok":true,"total":12.5,"x":null}})";
    auto in = read_canonical_event(body);
    ASSERT_TRUE(in);
    EXPECT_EQ(in->topic, "orders");
    EXPECT_EQ(in->key, "o-1");
    EXPECT_EQ(in->id, "e-1");
    EXPECT_EQ(in->ts, ts_ms{1700000000000});
    EXPECT_EQ(in->payload_canonical.text(),
              R"({"items":[1,-2,{"sku":"a/b"}],"note":"ü 😀","ok":true,"total":12.5,"x":null})");
    expect_same_as_general(body);
}

TEST(canonical_event, drops_whitespace_between_tokens) {
    const std::string body =
        " {\n \"payload\" : { \"a\" : [ 1 , 2 ] , \"b\" : { } } ,\t"
        "\"topic\" : \"t\" }\r\n";
    auto in = read_canonical_event(body);
    ASSERT_TRUE(in);
    EXPECT_EQ(in->payload_canonical.text(), R"({"a":[1,2],"b":{}})");
    expect_same_as_general(body);
}

TEST(canonical_event, puts_each_objects_members_in_key_order) {
    const std::string body =
        R"({"payload":{"z":{"b":[{"d":1,"c":{"y":2,"x":3}}],"a":0},"é":1,"a":"x","B":[]},)"
        R"("topic":"t"})";
    auto in = read_canonical_event(body);
    ASSERT_TRUE(in);
    EXPECT_EQ(in->payload_canonical.text(),
              R"({"B":[],"a":"x","z":{"a":0,"b":[{"c":{"x":3,"y":2},"d":1}]},"é":1})");
    expect_same_as_general(body);
    EXPECT_FALSE(read_canonical_event(R"({"topic":"t","payload":{"b":1,"a":2,"b":3}})"));
}

TEST(canonical_event, takes_scalar_payloads_and_numbers_in_their_canonical_form) {
    for (std::string payload : {"null",
                                "true",
                                "false",
                                "0",
                                "-7",
                                "\"s\"",
                                "[]",
                                "{}",
                                "123456789012345678",
                                "-9223372036854775808",
                                "18446744073709551615",
                                "12.5",
                                "-0.001",
                                "1e+21",
                                "2.5e-07",
                                "5e-324",
                                "1.7976931348623157e+308",
                                "98.60000000000001",
                                "0.5",
                                "0.05",
                                "0.005",
                                "-0.0512",
                                "100000.5",
                                "12345678901234.5"}) {
        const std::string body = R"({"topic":"t","payload":)" + payload + "}";
        auto in = read_canonical_event(body);
        ASSERT_TRUE(in) << payload;
        EXPECT_EQ(in->payload_canonical.text(), payload);
        expect_same_as_general(body);
    }
}

TEST(canonical_event, leaves_every_other_body_to_the_general_path) {
    for (std::string body : {
             // Escapes, numbers in another form, a key twice: the general path's to write.
             R"({"topic":"t","payload":{"a":1,"a":2}})",
             R"({"topic":"t","payload":"a\nb"})",
             R"({"topic":"t","payload":"\u0041"})",
             R"({"topic":"t","payload":-0})",
             R"({"topic":"t","payload":1.0})",
             R"({"topic":"t","payload":0.0})",
             R"({"topic":"t","payload":1E+21})",
             R"({"topic":"t","payload":1e21})",
             R"({"topic":"t","payload":2.5e-7})",
             R"({"topic":"t","payload":0.0005})",
             R"({"topic":"t","payload":1.50})",
             R"({"topic":"t","payload":100000.0})",
             R"({"topic":"t","payload":-9223372036854775809})",
             R"({"topic":"t","payload":18446744073709551616})",
             R"({"topic":"t","payload":1e400})",
             // Not JSON, or not an event the general path takes.
             R"({"topic":"t","payload":01})",
             R"({"topic":"t","payload":+1})",
             R"({"topic":"t","payload":1.})",
             R"({"topic":"t","payload":[1,]})",
             R"({"topic":"t","payload":{"a":1,}})",
             R"({"topic":"t","payload":tru})",
             R"({"topic":"t","payload":NaN})",
             R"({"topic":"t","payload":1} x)",
             R"({"topic":"t","payload":1)",
             "\xEF\xBB\xBF{\"topic\":\"t\",\"payload\":1}",
             "{\"topic\":\"t\",\"payload\":\"\xC3\x28\"}",
             "{\"topic\":\"t\",\"payload\":\"\xED\xA0\x80\"}",
             "{\"topic\":\"t\",\"payload\":\"a\tb\"}",
             R"({"topic":"t"})",
             R"({"payload":1})",
             R"({})",
             R"([])",
             R"({"topic":"","payload":1})",
             R"({"topic":"a b","payload":1})",
             R"({"topic":"t","topic":"u","payload":1})",
             R"({"topic":"t","payload":1,"payload":2})",
             R"({"topic":"t","key":1,"payload":1})",
             R"({"topic":"t","id":"","payload":1})",
             R"({"topic":"t","id":"prom-x","payload":1})",
             R"({"topic":"t","ts":-1,"payload":1})",
             R"({"topic":"t","ts":"2026-01-01T00:00:00Z","payload":1})",
             R"({"topic":"t","ts":1.5,"payload":1})",
             R"({"topic":"t","ts":99999999999999999,"payload":1})",
             // Headers the general path refuses or reads its own way.
             R"({"topic":"t","payload":1,"headers":{"prom-original-seq":"1"}})",
             R"({"topic":"t","payload":1,"headers":{"h":"v","h":"w"}})",
             R"({"topic":"t","payload":1,"headers":{"h":1}})",
             R"({"topic":"t","payload":1,"headers":{"h":"\u0041"}})",
             R"({"topic":"t","payload":1,"headers":["h"]})",
             R"({"topic":"t","payload":1,"headers":{"h":"v"},"headers":{}})",
             // Members this reader does not read.
             R"({"topic":"t","key":"k","payload":1,"expect":{"key_seq":0}})",
             R"({"events":[{"topic":"t","payload":1}]})",
             R"({"topic":"t","payload":1,"extra":2})",
             R"({"top\u0069c":"t","payload":1})",
         }) {
        EXPECT_FALSE(read_canonical_event(body)) << body;
    }
}

TEST(canonical_event, reads_headers_of_plain_strings) {
    const std::string body =
        R"({"topic":"t","headers": { "traceparent" : "00-4bf9-00f0-01", "b":"2","a":"" },)"
        R"("payload":1})";
    auto in = read_canonical_event(body);
    ASSERT_TRUE(in);
    EXPECT_EQ(in->headers,
              (headers_map{{"a", ""}, {"b", "2"}, {"traceparent", "00-4bf9-00f0-01"}}));
    expect_same_as_general(body);
    auto empty = read_canonical_event(R"({"topic":"t","headers":{},"payload":1})");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->headers.empty());
}

TEST(canonical_event, a_payload_deeper_than_the_limit_goes_the_general_way) {
    auto nested = [](std::size_t depth) {
        return R"({"topic":"t","payload":)" + std::string(depth, '[') + std::string(depth, ']') +
               "}";
    };
    EXPECT_TRUE(read_canonical_event(nested(max_payload_depth)));
    expect_same_as_general(nested(max_payload_depth));
    EXPECT_FALSE(read_canonical_event(nested(max_payload_depth + 1)));
    EXPECT_FALSE(general(nested(max_payload_depth + 1)));
}

// Random bodies, in the usual shape or nearly so: whatever the reader takes, the general path reads
// alike; and a payload written by canonical_json (without escapes) is always taken.
class body_maker {
  public:
    explicit body_maker(unsigned seed) : rng_(seed) {}

    std::string space() { return pick(4) == 0 ? std::string(" \n\t\r").substr(pick(4), 1) : ""; }

    std::string string_text() {
        static const std::vector<std::string> parts = {"a", "b", "z",   "é",       "😀", "/",
                                                       " ", "",  "\\n", "\\u0041", "A", "~"};
        std::string s;
        for (std::size_t n = pick(3); n > 0; --n) s += parts[pick(parts.size())];
        return "\"" + s + "\"";
    }

    std::string number() {
        static const std::vector<std::string> tokens = {"0",
                                                        "-0",
                                                        "1",
                                                        "-1",
                                                        "01",
                                                        "1.0",
                                                        "1.5",
                                                        "1e5",
                                                        "1e+05",
                                                        "1E+05",
                                                        "2.5e-07",
                                                        "2.5e-7",
                                                        "0.1",
                                                        "1e400",
                                                        "5e-324",
                                                        "100000.0",
                                                        "1e+21",
                                                        "1e21",
                                                        "-12.25",
                                                        "9007199254740993",
                                                        "123456789012345678",
                                                        "1234567890123456789",
                                                        "18446744073709551615",
                                                        "0.30000000000000004",
                                                        "0.5",
                                                        "0.05",
                                                        "0.005",
                                                        "0.0005",
                                                        "0.0512",
                                                        "0.00512",
                                                        "-0.125",
                                                        "100.25",
                                                        "1.10",
                                                        "00.5",
                                                        "123456789012345.5",
                                                        "12345678901234.5",
                                                        "0.123456789012345",
                                                        "0.0123456789012345",
                                                        "9.999999999999999",
                                                        "1.7976931348623157e+308"};
        return tokens[pick(tokens.size())];
    }

    std::string value(int depth) {
        switch (depth > 3 ? pick(4) : pick(7)) {
            case 0:
                return number();
            case 1:
                return string_text();
            case 2:
                return std::vector<std::string>{"true", "false", "null"}[pick(3)];
            case 3:
                return pick(2) ? number() : string_text();
            case 4: {
                std::string s = "[" + space();
                for (std::size_t n = pick(4), i = 0; i < n; ++i) {
                    s += (i ? "," + space() : "") + value(depth + 1) + space();
                }
                return s + "]";
            }
            default: {
                std::vector<std::string> keys = {"a", "b", "c", "é", "", "A", "aa"};
                std::shuffle(keys.begin(), keys.end(), rng_);
                keys.resize(pick(4));
                if (pick(3) != 0) std::sort(keys.begin(), keys.end());
                if (!keys.empty() && pick(8) == 0) keys.push_back(keys.back());  // a duplicate
                std::string s = "{" + space();
                for (std::size_t i = 0; i < keys.size(); ++i) {
                    s += (i ? "," + space() : "") + "\"" + keys[i] + "\"" + space() + ":" +
                         space() + value(depth + 1) + space();
                }
                return s + "}";
            }
        }
    }

    std::string body() {
        std::vector<std::string> members = {
            R"("topic":)" + std::vector<std::string>{"\"t\"", "\"t.x\"", "\"\"", "1"}[pick(4)],
            R"("payload":)" + space() + value(0),
        };
        if (pick(2)) members.push_back(R"("key":)" + string_text());
        if (pick(3) == 0) members.push_back(R"("id":)" + string_text());
        if (pick(3) == 0) members.push_back(R"("ts":)" + number());
        if (pick(4) == 0) members.push_back(R"("headers":)" + space() + headers());
        std::shuffle(members.begin(), members.end(), rng_);
        if (pick(5) == 0) members.pop_back();
        std::string s = space() + "{";
        for (std::size_t i = 0; i < members.size(); ++i) s += (i ? "," : "") + members[i];
        return s + "}" + space();
    }

    // Mostly plain names and values; sometimes a reserved name, a name given twice, a value
    // that is not a string, an escape.
    std::string headers() {
        std::vector<std::string> names = {"traceparent", "h", "é", "", "prom-x", "H", "h"};
        std::shuffle(names.begin(), names.end(), rng_);
        names.resize(pick(4));
        std::string s = "{" + space();
        for (std::size_t i = 0; i < names.size(); ++i) {
            std::string v =
                std::vector<std::string>{"\"v\"", "\"00-ab-01\"", "\"\"", "\"\\n\"", "1"}[pick(5)];
            s += (i ? "," + space() : "") + "\"" + names[i] + "\"" + space() + ":" + space() + v;
        }
        return s + space() + "}";
    }

    std::size_t pick(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }

  private:
    std::mt19937 rng_;
};

TEST(canonical_event, random_bodies_read_as_the_general_path_reads_them) {
    body_maker make(20261207);
    std::size_t taken = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string body = make.body();
        expect_same_as_general(body);
        taken += read_canonical_event(body) ? 1 : 0;
        if (::testing::Test::HasFailure()) return;
    }
    // Enough of them in the canonical shape for the comparison to mean something.
    EXPECT_GT(taken, 1000u);
}

TEST(canonical_event, a_payload_canonical_json_wrote_is_always_taken) {
    body_maker make(7);
    std::size_t tried = 0;
    for (int i = 0; i < 20000; ++i) {
        auto v = parse_json(make.value(0));
        if (!v) continue;
        const std::string text = canonical_json(*v);
        if (text.find('\\') != std::string::npos) continue;  // escapes: the general path's
        ++tried;
        const std::string body = R"({"topic":"t","payload":)" + text + "}";
        auto in = read_canonical_event(body);
        ASSERT_TRUE(in) << body;
        EXPECT_EQ(in->payload_canonical.text(), text);
    }
    EXPECT_GT(tried, 1000u);
}

// A WebSocket publish frame is read when, and only when, its event would be read as a body,
// and gives the same event.
TEST(canonical_event, a_publish_frame_is_read_as_its_event_would_be) {
    body_maker make(11);
    std::size_t taken = 0;
    for (int i = 0; i < 5000; ++i) {
        const std::string event = make.body();
        const std::string id = make.pick(3) == 0 ? "" : R"("id":"r-)" + std::to_string(i) + "\",";
        std::string frame = make.pick(2) ? R"({"op":"publish",)" : "{";
        frame += id;
        frame += R"("event":)";
        frame += event;
        frame += frame.starts_with(R"({"op")") ? "}" : R"(, "op" : "publish" })";
        auto as_body = read_canonical_event(event);
        auto as_frame = read_canonical_publish_frame(frame, ws::max_request_id_bytes);
        ASSERT_EQ(as_body.has_value(), as_frame.has_value()) << frame;
        if (!as_frame) continue;
        ++taken;
        EXPECT_EQ(as_frame->id, id.empty() ? "" : "r-" + std::to_string(i));
        EXPECT_EQ(as_frame->event.topic, as_body->topic);
        EXPECT_EQ(as_frame->event.key, as_body->key);
        EXPECT_EQ(as_frame->event.id, as_body->id);
        EXPECT_EQ(as_frame->event.ts, as_body->ts);
        EXPECT_EQ(as_frame->event.payload_canonical.text(), as_body->payload_canonical.text());
    }
    EXPECT_GT(taken, 200u);
    for (std::string frame : {
             R"({"op":"publish","events":[{"topic":"t","payload":1}]})",
             R"({"op":"subscribe","topic":"t"})",
             R"({"op":"publish","event":{"topic":"t","payload":1},"extra":1})",
             R"({"op":"publish","op":"publish","event":{"topic":"t","payload":1}})",
             R"({"op":"publish","id":"a","id":"b","event":{"topic":"t","payload":1}})",
             R"({"op":"publish","id":1,"event":{"topic":"t","payload":1}})",
             R"({"op":"publish"})",
             R"({"event":{"topic":"t","payload":1}})",
             R"({"op":"publish","event":{"topic":"t","payload":1}} x)",
         }) {
        EXPECT_FALSE(read_canonical_publish_frame(frame, ws::max_request_id_bytes)) << frame;
    }
    auto with_id = [](std::size_t bytes) {
        return R"({"op":"publish","id":")" + std::string(bytes, 'i') +
               R"(","event":{"topic":"t","payload":1}})";
    };
    EXPECT_FALSE(read_canonical_publish_frame(with_id(ws::max_request_id_bytes + 1),
                                              ws::max_request_id_bytes));
    EXPECT_TRUE(
        read_canonical_publish_frame(with_id(ws::max_request_id_bytes), ws::max_request_id_bytes));
}

}  // namespace
}  // namespace prom
