// A key given twice in one object: refused, with its place named, where the parse asks for it
// (configuration and definitions, docs/config.md); kept as RFC 8259 allows elsewhere.
#include <gtest/gtest.h>

#include "core/json_duplicates.hpp"
#include "prom/json.hpp"

namespace prom {
namespace {

TEST(json_duplicate_keys, the_first_repeated_key_is_named_by_its_json_pointer) {
    EXPECT_EQ(first_duplicate_key(R"({"a":1,"a":2})"), "/a");
    EXPECT_EQ(first_duplicate_key(R"({"x":{"b":[1,{"c":1,"c":2}]}})"), "/x/b/1/c");
    EXPECT_EQ(first_duplicate_key(R"([0,[1,2],{"k":{},"k":[]}])"), "/2/k");
    // Keys compare as the text they decode to; pointer tokens escape '~' and '/'.
    EXPECT_EQ(first_duplicate_key(R"({"a/~b":1,"a\/~\u0062":2})"), "/a~1~0b");
    // The same key in sibling or nested objects is not a repeat.
    EXPECT_EQ(first_duplicate_key(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})"), std::nullopt);
    EXPECT_EQ(first_duplicate_key(R"("text")"), std::nullopt);
    EXPECT_EQ(first_duplicate_key(R"({})"), std::nullopt);
}

TEST(json_duplicate_keys, parse_json_refuses_them_only_when_asked) {
    constexpr const char* text = R"({"auth":{"tokens":[1]},"auth":{}})";
    auto kept = parse_json(text);
    ASSERT_TRUE(kept);
    EXPECT_TRUE(kept->at("auth").get_object().empty());  // the last value, as Boost.JSON keeps
    auto refused = parse_json(text, {.refuse_duplicate_keys = true});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::invalid_argument);
    EXPECT_NE(refused.error().message.find("duplicate key at '/auth'"), std::string::npos)
        << refused.error().message;
    EXPECT_TRUE(parse_json(R"({"a":{"b":1},"b":{"a":1}})", {.refuse_duplicate_keys = true}));
}

TEST(json_duplicate_keys, a_deep_document_within_the_parse_limit_is_walked_to_the_end) {
    std::string text;
    for (int i = 0; i < 60; ++i) text += R"({"k":)";
    text += R"({"z":1,"z":2})";
    for (int i = 0; i < 60; ++i) text += "}";
    auto r = parse_json(text, {.refuse_duplicate_keys = true});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("/k/k/k"), std::string::npos);
    EXPECT_NE(r.error().message.find("/z'"), std::string::npos);
}

// A publish request: its envelope's members once each; payloads and headers are data. The
// quick look at the text must never let a repeated member through, escapes included.
TEST(json_duplicate_keys, a_publish_envelope_refuses_repeated_members_but_not_repeated_data) {
    auto envelope = [](std::string_view text) {
        auto v = parse_json(text);
        EXPECT_TRUE(v) << text;
        return v ? first_duplicate_envelope_key(text, *v) : std::nullopt;
    };
    EXPECT_EQ(envelope(R"({"topic":"a","topic":"b","payload":1})"), "/topic");
    EXPECT_EQ(envelope(R"({"to\u0070ic":"a","topic":"b","payload":1})"), "/topic");
    EXPECT_EQ(envelope(R"({"topic":"t","payload":1,"expect":{"key_seq":1,"key_seq":0}})"),
              "/expect/key_seq");
    EXPECT_EQ(envelope(R"({"events":[{"topic":"t","payload":1},{"topic":"t","id":"a","id":"b"}]})"),
              "/events/1/id");
    EXPECT_EQ(
        envelope(R"({"op":"publish","id":"p","event":{"topic":"t","payload":{"id":1}},"op":"x"})"),
        "/op");
    // Not repeated: the same word in a payload, as a value, in two events; repeated data.
    EXPECT_EQ(envelope(R"({"topic":"topic","payload":{"topic":{"topic":1}}})"), std::nullopt);
    EXPECT_EQ(envelope(R"({"events":[{"topic":"t","payload":1},{"topic":"t","payload":2}]})"),
              std::nullopt);
    EXPECT_EQ(envelope(R"({"topic":"t","payload":{"x":1,"x":2}})"), std::nullopt);
    EXPECT_EQ(envelope(R"({"topic":"t","payload":1,"headers":{"h":"1","h":"2"}})"), std::nullopt);
    EXPECT_EQ(envelope(R"({"topic":"t","payload":"say \"topic\""})"), std::nullopt);
}

}  // namespace
}  // namespace prom
