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
}

TEST(canonical_json, escapes_only_what_json_requires) {
    EXPECT_EQ(canon(R"(["a\"b\\c\/d\u0001\n\t", "é€😀"])"),
              "[\"a\\\"b\\\\c/d\\u0001\\n\\t\",\"é€😀\"]");
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
