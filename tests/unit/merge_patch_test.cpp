// RFC 7396 JSON merge patch: every example of the RFC's appendix A, and section 3's.
#include <gtest/gtest.h>

#include "prom/timetravel.hpp"

namespace prom {
namespace {

json::value parse(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v) << text;
    return v ? *v : json::value();
}

struct merge_case {
    const char* target;
    const char* patch;
    const char* expected;
};

class merge_patch_rfc7396 : public testing::TestWithParam<merge_case> {};

TEST_P(merge_patch_rfc7396, appendix_a_example_gives_the_rfc_result) {
    const auto& c = GetParam();
    auto got = merge_patch(parse(c.target), parse(c.patch));
    EXPECT_EQ(canonical_json(got), canonical_json(parse(c.expected)))
        << "target " << c.target << " patch " << c.patch;
}

INSTANTIATE_TEST_SUITE_P(
    appendix_a, merge_patch_rfc7396,
    testing::Values(merge_case{R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
                    merge_case{R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
                    merge_case{R"({"a":"b"})", R"({"a":null})", R"({})"},
                    merge_case{R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
                    merge_case{R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
                    merge_case{R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
                    merge_case{R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})",
                               R"({"a":{"b":"d"}})"},
                    merge_case{R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
                    merge_case{R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
                    merge_case{R"({"a":"b"})", R"(["c"])", R"(["c"])"},
                    merge_case{R"({"a":"foo"})", R"(null)", R"(null)"},
                    merge_case{R"({"a":"foo"})", R"("bar")", R"("bar")"},
                    merge_case{R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
                    merge_case{R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
                    merge_case{R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"}));

TEST(merge_patch, section_3_example_updates_a_document) {
    auto target = parse(R"({"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},
        "tags":["example","sample"],"content":"This will be unchanged"})");
    auto patch = parse(R"({"title":"Hello!","phoneNumber":"+01-123-456-7890",
        "author":{"familyName":null},"tags":["example"]})");
    auto expected = parse(R"({"title":"Hello!","author":{"givenName":"John"},"tags":["example"],
        "content":"This will be unchanged","phoneNumber":"+01-123-456-7890"})");
    EXPECT_EQ(canonical_json(merge_patch(target, patch)), canonical_json(expected));
}

TEST(merge_patch, null_target_takes_an_object_patch_without_its_nulls) {
    auto got = merge_patch(json::value(), parse(R"({"a":1,"b":null,"c":{"d":null,"e":2}})"));
    EXPECT_EQ(canonical_json(got), R"({"a":1,"c":{"e":2}})");
}

TEST(merge_patch, deep_merge_keeps_untouched_members) {
    auto got =
        merge_patch(parse(R"({"a":{"b":{"c":1,"d":2},"e":3}})"), parse(R"({"a":{"b":{"c":9}}})"));
    EXPECT_EQ(canonical_json(got), R"({"a":{"b":{"c":9,"d":2},"e":3}})");
}

TEST(merge_reducer, folds_payloads_as_merge_patches) {
    auto r = merge_reducer();
    event e1{.payload = parse(R"({"status":"alive","cpu":5})")};
    event e2{.payload = parse(R"({"cpu":7,"status":null})")};
    auto s1 = r.apply(json::value(), e1);
    ASSERT_TRUE(s1);
    auto s2 = r.apply(*s1, e2);
    ASSERT_TRUE(s2);
    EXPECT_EQ(canonical_json(*s2), R"({"cpu":7})");
}

TEST(builtin_reducer, knows_replace_and_merge_only) {
    EXPECT_EQ(builtin_reducer("replace")->name, "replace");
    EXPECT_EQ(builtin_reducer("merge")->name, "merge");
    auto bad = builtin_reducer("sum");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, errc::invalid_argument);
}

}  // namespace
}  // namespace prom
