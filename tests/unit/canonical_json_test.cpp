#include <gtest/gtest.h>

#include "prom/json.hpp"

namespace prom {
namespace {

std::string canon(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v) << text;
    return v ? canonical_json(*v) : "";
}

TEST(canonical_json, sorts_object_keys_and_drops_whitespace) {
    EXPECT_EQ(canon(R"( { "b" : 1 , "a" : { "d" : [ ] , "c" : { } } } )"),
              R"({"a":{"c":{},"d":[]},"b":1})");
}

TEST(canonical_json, prints_numbers_in_one_fixed_form) {
    EXPECT_EQ(canon("[1.5, 7.0, -0.25, 1e21, 12345678901234567890, -3, 1E2, 0.1]"),
              "[1.5,7,-0.25,1e+21,12345678901234567890,-3,100,0.1]");
    // Negative zero is 0 on every backend (stored "-0" reads back as the integer 0).
    EXPECT_EQ(canon("[-0.0, -0, -1e-400, 0.0]"), "[0,0,0,0]");
}

TEST(canonical_json, escapes_only_what_json_requires) {
    EXPECT_EQ(canon(R"(["a\"b\\c\/d\u0001\n\t", "é€😀"])"),
              "[\"a\\\"b\\\\c/d\\u0001\\n\\t\",\"é€😀\"]");
}

// Escapes at the start, the end and next to each other, a string of escapes only, and the
// control characters at both ends of the range: the unescaped runs between them are copied
// whole and nothing is dropped or doubled.
TEST(canonical_json, escapes_at_the_edges_and_in_a_row_keep_the_text_between) {
    EXPECT_EQ(canon(R"(["\"x", "x\"", "\"\"\\\\", "\u0001\u001f x ", ""])"),
              R"(["\"x","x\"","\"\"\\\\","\u0001\u001f x ",""])");
    // what the canonical text says parses back to the same text
    for (std::string_view text :
         {R"(["\"x", "x\"", "\"\"\\\\", "\u0001\u001f x", ""])", R"({"\n":"\t\b\f\r"})"}) {
        const std::string once = canon(text);
        EXPECT_EQ(canon(once), once);
    }
}

// Objects of more members than fit the serializer's stack array are sorted all the same.
TEST(canonical_json, sorts_objects_of_any_size) {
    json::object small, large;
    for (int i = 19; i >= 0; --i) large[std::string(1, static_cast<char>('a' + i))] = i;
    for (int i = 2; i >= 0; --i) small[std::string(1, static_cast<char>('a' + i))] = i;
    EXPECT_EQ(canonical_json(small), R"({"a":0,"b":1,"c":2})");
    std::string want = "{";
    for (int i = 0; i < 20; ++i) {
        if (i > 0) want += ',';
        want += '"';
        want += static_cast<char>('a' + i);
        want += "\":" + std::to_string(i);
    }
    want += '}';
    EXPECT_EQ(canonical_json(large), want);
}

// An object has its own overload (no copy into a json::value); both write the same bytes,
// and the append form adds them after what the buffer holds.
TEST(canonical_json, an_object_serializes_as_the_value_holding_it) {
    auto parsed = parse_json(R"({"z":{"y":[1,{"b":2,"a":1}],"x":"\u0001"},"a":null,"m":1.5})");
    ASSERT_TRUE(parsed);
    const json::object& obj = parsed->get_object();
    EXPECT_EQ(canonical_json(obj), canonical_json(*parsed));
    EXPECT_EQ(canonical_json(obj),
              R"({"a":null,"m":1.5,"z":{"x":"\u0001","y":[1,{"a":1,"b":2}]}})");
    std::string out = "prefix:";
    append_canonical_json(out, obj);
    EXPECT_EQ(out, "prefix:" + canonical_json(*parsed));
    EXPECT_EQ(canonical_json(json::object{}), "{}");
}

TEST(canonical_json, etag_is_a_quoted_stable_hash_of_the_bytes) {
    auto a = etag_of(R"({"a":1})");
    EXPECT_EQ(a.size(), 34u);
    EXPECT_EQ(a.front(), '"');
    EXPECT_EQ(a, etag_of(R"({"a":1})"));
    EXPECT_NE(a, etag_of(R"({"a":2})"));
    // Pinned: ETags must stay the same across versions, restarts and nodes.
    EXPECT_EQ(etag_of("{}"), etag_of(canon("{ }")));
    EXPECT_EQ(etag_of("{}"), R"("dc7048f8f8747f561349cde127705c16")");
    EXPECT_EQ(a, R"("3c8c141663acf5a1b6b7137162fa70fb")");
}

TEST(canonical_json, rejects_malformed_deep_and_invalid_utf8_input) {
    EXPECT_FALSE(parse_json("{"));
    EXPECT_FALSE(parse_json("[1,]"));
    EXPECT_FALSE(parse_json("\"\xff\""));
    EXPECT_FALSE(parse_json(std::string(100, '[') + std::string(100, ']')));
    EXPECT_TRUE(parse_json(std::string(10, '[') + std::string(10, ']')));
}

}  // namespace
}  // namespace prom
