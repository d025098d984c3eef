// POST /publish with "expect": {"key_seq": N} (docs/http-api.md, "Conditional append").
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class conditional_publish : public server_test {
  protected:
    std::int64_t events_in(std::string_view topic) {
        auto t = db().topic(topic);
        return t && *t ? (*t)->count : 0;
    }
};

TEST_F(conditional_publish, a_matching_expectation_appends) {
    auto r = post_json("/publish", R"({"topic":"t","key":"k","payload":1,"expect":{"key_seq":0}})");
    ASSERT_EQ(r.status, 200) << r.body;
    r = post_json("/publish", R"({"topic":"t","key":"k","payload":2,"expect":{"key_seq":1}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(events_in("t"), 2);
}

TEST_F(conditional_publish, a_stale_expectation_is_409_with_the_current_key_seq) {
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","key":"k","payload":1})").status, 200);
    auto r = post_json("/publish", R"({"topic":"t","key":"k","payload":2,"expect":{"key_seq":0}})");
    ASSERT_EQ(r.status, 409) << r.body;
    auto v = parse_json(r.body);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->at("error"), "conflict");
    EXPECT_EQ(v->at("key_seq"), 1);
    EXPECT_EQ(events_in("t"), 1);
}

TEST_F(conditional_publish, in_a_batch_one_stale_expectation_appends_nothing) {
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","key":"k","payload":1})").status, 200);
    auto r =
        post_json("/publish", R"({"events":[{"topic":"t","key":"j","payload":1},)"
                              R"({"topic":"t","key":"k","payload":2,"expect":{"key_seq":5}}]})");
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(parse_json(r.body)->at("key_seq"), 1);
    EXPECT_EQ(events_in("t"), 1);
}

TEST_F(conditional_publish, an_expectation_that_is_not_a_non_negative_integer_is_400) {
    for (std::string bad :
         {R"("expect":{"key_seq":-1})", R"("expect":{"key_seq":1.5})",
          R"("expect":{"key_seq":"3"})", R"("expect":3)", R"("expect":{"key_seq":1,"x":2})",
          R"("expect":{})", R"("expect":{"key_seq":18446744073709551615})"}) {
        auto r = post_json("/publish", R"({"topic":"t","key":"k","payload":1,)" + bad + "}");
        EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
        EXPECT_NE(r.body.find("expect must be"), std::string::npos) << r.body;
    }
    EXPECT_EQ(events_in("t"), 0);
}

// A member given twice in the envelope would silently override the first (an expectation
// that should fail, a topic): refused. Payloads are data and keep the last value.
TEST_F(conditional_publish, an_envelope_member_given_twice_is_400_and_appends_nothing) {
    ASSERT_EQ(post_json("/publish", R"({"topic":"t","key":"k","payload":1})").status, 200);
    for (std::string twice :
         {R"({"topic":"t","key":"k","payload":2,"expect":{"key_seq":0},"expect":{"key_seq":1}})",
          R"({"topic":"a","topic":"t","payload":1})",
          R"({"topic":"t","payload":1,"expect":{"key_seq":1,"key_seq":0},"key":"k"})",
          R"({"events":[{"topic":"t","payload":1,"id":"a","id":"b"}]})"}) {
        auto r = post_json("/publish", twice);
        EXPECT_EQ(r.status, 400) << twice << ": " << r.body;
        EXPECT_NE(r.body.find("duplicate key at"), std::string::npos) << r.body;
    }
    EXPECT_EQ(events_in("t"), 1);
    EXPECT_EQ(events_in("a"), 0);
    auto data = post_json("/publish", R"({"topic":"t","payload":{"x":1,"x":2}})");
    EXPECT_EQ(data.status, 200) << data.body;
}

}  // namespace
}  // namespace prom::test
