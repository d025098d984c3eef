// References, key templates and `where` filters of user-defined projectors, per event.
#include <gtest/gtest.h>

#include "userproj/event_filter.hpp"
#include "userproj/value_template.hpp"

namespace prom::userproj {
namespace {

event sample() {
    event e;
    e.id = "ev-1";
    e.topic = "order.paid";
    e.key = "o-7";
    e.ts = ts_ms{1700000000123};
    e.seq = seq_t{42};
    e.payload = *parse_json(
        R"({"orderId":"o-7","status":"paid","total":12.5,"n":3,"items":[{"sku":"a"},{"sku":"b"}],"none":null,"ok":true})");
    e.headers["trace"] = "t-1";
    return e;
}

json::value expand_text(std::string_view template_json) {
    auto t = compile_value(*parse_json(template_json), "");
    EXPECT_TRUE(t) << template_json;
    auto v = expand(*t, sample());
    EXPECT_TRUE(v) << template_json << ": " << (v ? "" : v.error().message);
    return v ? *v : json::value();
}

TEST(user_projector_references, resolve_every_root_and_nested_paths) {
    EXPECT_EQ(canonical_json(expand_text(R"("$payload.status")")), R"("paid")");
    EXPECT_EQ(canonical_json(expand_text(R"("$payload.items.1.sku")")), R"("b")");
    EXPECT_EQ(canonical_json(expand_text(R"("$key")")), R"("o-7")");
    EXPECT_EQ(canonical_json(expand_text(R"("$id")")), R"("ev-1")");
    EXPECT_EQ(canonical_json(expand_text(R"("$ts")")), "1700000000123");
    EXPECT_EQ(canonical_json(expand_text(R"("$seq")")), "42");
    EXPECT_EQ(canonical_json(expand_text(R"("$topic")")), R"("order.paid")");
    EXPECT_EQ(canonical_json(expand_text(R"("$headers.trace")")), R"("t-1")");
    EXPECT_EQ(canonical_json(expand_text(R"("$payload.none")")), "null");
    EXPECT_EQ(canonical_json(expand_text(R"({"a":["$payload.n",{"b":"$key"}],"lit":"x"})")),
              R"({"a":[3,{"b":"o-7"}],"lit":"x"})");
}

TEST(user_projector_references, a_double_dollar_is_a_literal_dollar) {
    EXPECT_EQ(canonical_json(expand_text(R"("$$payload")")), R"("$payload")");
    EXPECT_EQ(canonical_json(expand_text(R"({"price":"$$5","n":"$payload.n"})")),
              R"({"n":3,"price":"$5"})");
    EXPECT_EQ(canonical_json(expand_text(R"(["$$", "plain $ inside"])")),
              R"(["$","plain $ inside"])");
}

TEST(user_projector_references, a_missing_path_is_a_per_event_error_naming_it) {
    auto t = compile_value(*parse_json(R"({"x":"$payload.customer.name"})"), "");
    ASSERT_TRUE(t);
    auto v = expand(*t, sample());
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, errc::invalid_argument);
    EXPECT_NE(v.error().message.find("payload.customer.name"), std::string::npos);
    EXPECT_NE(v.error().message.find("ev-1"), std::string::npos);
    auto h = compile_value(json::value("$headers.absent"), "");
    ASSERT_TRUE(h);
    EXPECT_FALSE(expand(*h, sample()));
}

TEST(user_projector_references, key_templates_join_text_and_paths) {
    auto expand_key = [](std::string_view text) -> result<std::string> {
        auto t = compile_key(text, "/k");
        EXPECT_TRUE(t) << text;
        return expand(*t, sample());
    };
    EXPECT_EQ(expand_key("{payload.orderId}").value(), "o-7");
    EXPECT_EQ(expand_key("order-{key}/{payload.n}/{payload.total}/{payload.ok}").value(),
              "order-o-7/3/12.5/true");
    EXPECT_EQ(expand_key("{{literal}}").value(), "{literal}");
    EXPECT_FALSE(expand_key("{payload.items}"));  // an array is no key
    EXPECT_FALSE(expand_key("{payload.none}"));
    EXPECT_FALSE(expand_key("{payload.missing}"));
    auto bad = compile_key("{nothing}", "/writes/0/key");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().pointer, "/writes/0/key");
}

bool where(std::string_view filter_json) {
    auto f = compile_filter(*parse_json(filter_json), "/where");
    EXPECT_TRUE(f) << filter_json << ": " << (f ? "" : f.error().message);
    return f && matches(*f, sample());
}

TEST(user_projector_filters, equality_and_ne_including_missing_fields) {
    EXPECT_TRUE(where(R"({"payload.status":"paid"})"));
    EXPECT_FALSE(where(R"({"payload.status":"draft"})"));
    EXPECT_TRUE(where(R"({"payload.n":3.0})"));  // numbers compare by value
    EXPECT_TRUE(where(R"({"payload.status":{"$ne":"draft"}})"));
    EXPECT_TRUE(where(R"({"payload.missing":{"$ne":"draft"}})"));
    EXPECT_FALSE(where(R"({"payload.missing":"x"})"));
    EXPECT_TRUE(where(R"({"payload.items":[{"sku":"a"},{"sku":"b"}]})"));
    EXPECT_TRUE(where(R"({"payload.none":null})"));
    EXPECT_TRUE(where(R"({"key":"o-7","topic":"order.paid","headers.trace":"t-1","seq":42})"));
    EXPECT_TRUE(where(R"({})"));
}

TEST(user_projector_filters, order_comparisons_need_the_same_kind) {
    EXPECT_TRUE(where(R"({"payload.total":{"$gt":12,"$lte":12.5}})"));
    EXPECT_FALSE(where(R"({"payload.total":{"$lt":12.5}})"));
    EXPECT_TRUE(where(R"({"payload.status":{"$gte":"paid","$lt":"q"}})"));
    EXPECT_FALSE(
        where(R"({"payload.status":{"$gt":1}})"));  // a string never orders against a number
    EXPECT_FALSE(where(R"({"payload.missing":{"$lt":1}})"));
    EXPECT_TRUE(where(R"({"ts":{"$gte":1700000000000}})"));
}

TEST(user_projector_filters, in_nin_exists_and_or) {
    EXPECT_TRUE(where(R"({"payload.status":{"$in":["paid","shipped"]}})"));
    EXPECT_FALSE(where(R"({"payload.status":{"$nin":["paid","shipped"]}})"));
    EXPECT_TRUE(where(R"({"payload.missing":{"$nin":["x"]}})"));
    EXPECT_FALSE(where(R"({"payload.missing":{"$in":["x"]}})"));
    EXPECT_TRUE(where(R"({"payload.none":{"$exists":true},"payload.missing":{"$exists":false}})"));
    EXPECT_TRUE(where(R"({"$or":[{"payload.status":"draft"},{"payload.n":{"$gt":2}}]})"));
    EXPECT_FALSE(where(R"({"$and":[{"payload.status":"paid"},{"payload.n":{"$gt":3}}]})"));
    EXPECT_TRUE(where(R"({"$or":[{"$and":[{"key":"o-7"},{"payload.ok":true}]},{"payload.n":0}]})"));
}

}  // namespace
}  // namespace prom::userproj
