// Retention policies (docs/retention.md): durations, strict parsing at every level, the
// JSON form, and which policy a topic gets.
#include <gtest/gtest.h>

#include "retention/retention.hpp"

namespace prom::retention {
namespace {

using std::chrono::milliseconds;

json::value j(std::string_view text) { return *parse_json(text); }

TEST(retention_duration, units_and_plain_milliseconds) {
    EXPECT_EQ(*parse_duration(json::value("7d")), milliseconds(7LL * 86'400'000));
    EXPECT_EQ(*parse_duration(json::value("12h")), milliseconds(12LL * 3'600'000));
    EXPECT_EQ(*parse_duration(json::value("30m")), milliseconds(30LL * 60'000));
    EXPECT_EQ(*parse_duration(json::value("45s")), milliseconds(45'000));
    EXPECT_EQ(*parse_duration(json::value("250ms")), milliseconds(250));
    EXPECT_EQ(*parse_duration(json::value(1500)), milliseconds(1500));
}

TEST(retention_duration, refuses_what_does_not_parse_or_is_not_positive) {
    for (const char* text : {"", "d", "7", "7w", "-1d", "1.5h", "0d", "0ms", " 7d", "7d ", "7 d",
                             "+7d", "99999999999999999999d", "106751991168d"}) {
        auto d = parse_duration(json::value(text));
        ASSERT_FALSE(d) << text;
        EXPECT_EQ(d.error().code, errc::invalid_argument) << text;
        EXPECT_NE(d.error().message.find("duration"), std::string::npos) << d.error().message;
    }
    EXPECT_FALSE(parse_duration(json::value(0)));
    EXPECT_FALSE(parse_duration(json::value(-5)));
    EXPECT_FALSE(parse_duration(json::value(1.5)));
    EXPECT_FALSE(parse_duration(json::value(true)));
    EXPECT_FALSE(parse_duration(json::value(nullptr)));
}

TEST(retention_policy, parses_the_full_form) {
    auto p = parse_policy("order.*", j(R"({"retain":{"max_age":"7d","max_events":1000000},
                                          "compact":{"horizon":"1d"},"behind":"wait"})"));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->pattern, "order.*");
    ASSERT_TRUE(p->retain);
    EXPECT_EQ(p->retain->max_age, milliseconds(7LL * 86'400'000));
    EXPECT_EQ(p->retain->max_events, 1'000'000);
    ASSERT_TRUE(p->compact);
    EXPECT_EQ(p->compact->horizon, milliseconds(86'400'000));
    EXPECT_EQ(p->behind, behind_policy::wait);
}

TEST(retention_policy, defaults_and_single_rules) {
    auto r = parse_policy("orders", j(R"({"retain":{"max_events":10}})"));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->compact);
    EXPECT_FALSE(r->retain->max_age);
    EXPECT_EQ(r->behind, behind_policy::skip);
    auto c = parse_policy("orders", j(R"({"compact":{"horizon":3600000}})"));
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->retain);
    EXPECT_EQ(c->compact->horizon, milliseconds(3'600'000));
}

TEST(retention_policy, strict_at_every_level) {
    struct bad_case {
        std::string_view pattern;
        std::string_view body;
        std::string_view says;  // a piece of the message
    };
    for (const auto& c : std::initializer_list<bad_case>{
             {"orders", "[]", "JSON object"},
             {"orders", "{}", "\"retain\" and/or \"compact\""},
             {"orders", R"({"retian":{"max_events":1}})", "unknown key \"retian\""},
             {"orders", R"({"retain":{}})", "\"retain\" needs"},
             {"orders", R"({"retain":5})", "\"retain\" must be an object"},
             {"orders", R"({"retain":{"max_events":0}})", "greater than 0"},
             {"orders", R"({"retain":{"max_events":-3}})", "greater than 0"},
             {"orders", R"({"retain":{"max_events":1.5}})", "whole number"},
             {"orders", R"({"retain":{"max_events":"10"}})", "whole number"},
             {"orders", R"({"retain":{"max_age":"-1d"}})", "retain.max_age"},
             {"orders", R"({"retain":{"max_age":"soon"}})", "retain.max_age"},
             {"orders", R"({"retain":{"max_events":1,"max_size":2}})", "retain.max_size"},
             {"orders", R"({"compact":{}})", "\"compact\" needs \"horizon\""},
             {"orders", R"({"compact":{"horizon":"0s"}})", "compact.horizon"},
             {"orders", R"({"compact":{"horizon":"1d","keep":1}})", "compact.keep"},
             {"orders", R"({"compact":true})", "\"compact\" must be an object"},
             {"orders", R"({"compact":{"horizon":"1d"},"behind":"drop"})", "\"skip\" or \"wait\""},
             {"orders", R"({"compact":{"horizon":"1d"},"topic":"other"})", "pattern of the path"},
             {"", R"({"compact":{"horizon":"1d"}})", "empty"},
             {"order s", R"({"compact":{"horizon":"1d"}})", "prefix ending in '*'"},
             {"or*der", R"({"compact":{"horizon":"1d"}})", "prefix ending in '*'"},
             {"order/x", R"({"compact":{"horizon":"1d"}})", "prefix ending in '*'"},
         }) {
        auto p = parse_policy(c.pattern, j(c.body));
        ASSERT_FALSE(p) << c.pattern << " " << c.body;
        EXPECT_EQ(p.error().code, errc::invalid_argument);
        EXPECT_NE(p.error().message.find(c.says), std::string::npos)
            << c.body << " -> " << p.error().message;
    }
}

TEST(retention_policy, json_round_trip) {
    auto p = parse_policy("order.*", j(R"({"retain":{"max_age":"7d","max_events":5},
                                          "compact":{"horizon":90000}})"));
    ASSERT_TRUE(p);
    auto o = to_json(*p);
    EXPECT_EQ(
        canonical_json(o),
        R"({"behind":"skip","compact":{"horizon":"90s"},"retain":{"max_age":"7d","max_events":5},"topic":"order.*"})");
    // What GET answers may be sent back as a PUT body.
    auto again = parse_policy("order.*", o);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(canonical_json(to_json(*again)), canonical_json(o));
    auto odd = parse_policy("x", j(R"({"compact":{"horizon":1001}})"));
    EXPECT_EQ(canonical_json(to_json(*odd)),
              R"({"behind":"skip","compact":{"horizon":"1001ms"},"topic":"x"})");
}

TEST(retention_policy, matching_exact_then_longest_prefix_never_dlq) {
    EXPECT_TRUE(matches("order.*", "order.created"));
    EXPECT_TRUE(matches("order.created", "order.created"));
    EXPECT_FALSE(matches("order.*", "orders"));
    EXPECT_FALSE(matches("order.*", "order.created.dlq"));
    EXPECT_TRUE(matches("order.created.dlq", "order.created.dlq"));
    EXPECT_TRUE(matches("*", "anything"));
    EXPECT_FALSE(matches("*", "anything.dlq"));

    auto mk = [](std::string_view pattern, std::int64_t n) {
        return *parse_policy(pattern,
                             *parse_json(R"({"retain":{"max_events":)" + std::to_string(n) + "}}"));
    };
    std::vector<policy> ps{mk("*", 1), mk("order.*", 2), mk("order.created.*", 3),
                           mk("order.created", 4), mk("order.created.dlq", 5)};
    auto n = [&](std::string_view topic) -> std::int64_t {
        auto p = policy_for(ps, topic);
        return p ? *p->retain->max_events : 0;
    };
    EXPECT_EQ(n("order.created"), 4);     // exact beats every prefix
    EXPECT_EQ(n("order.created.eu"), 3);  // the longest prefix
    EXPECT_EQ(n("order.shipped"), 2);
    EXPECT_EQ(n("billing"), 1);
    EXPECT_EQ(n("order.created.dlq"), 5);  // only an exact name reaches a dead-letter topic
    EXPECT_EQ(n("order.shipped.dlq"), 0);  // dead-letter topics keep everything by default
    EXPECT_FALSE(policy_for({}, "order.created"));
    // A pattern has only its own policy (found from outside: order.p* answered order.*'s).
    EXPECT_EQ(n("order.created.*"), 3);
    EXPECT_EQ(n("order.p*"), 0);
}

// The alarms' topic keeps every alarm: no pattern takes it in, and naming it is refused
// (found from outside: a "*" max_age pass dropped an open alarm's event, which was then
// announced again under a reused id).
TEST(retention_policy, no_policy_or_pass_applies_to_the_alarms_topic) {
    auto mk = [](std::string_view pattern, std::int64_t n) {
        return *parse_policy(pattern,
                             *parse_json(R"({"retain":{"max_events":)" + std::to_string(n) + "}}"));
    };
    // As a database written before the refusal may hold it.
    std::vector<policy> ps{mk("*", 1), mk("prom.*", 2), mk("prom.alerts", 3)};
    EXPECT_FALSE(policy_for(ps, "prom.alerts"));
    EXPECT_EQ(*policy_for(ps, "prom.other")->retain->max_events, 2);
    EXPECT_FALSE(matches("*", "prom.alerts"));
    EXPECT_FALSE(matches("prom.*", "prom.alerts"));
    auto refused = check_retention_applies("prom.alerts");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::invalid_argument);
    EXPECT_NE(refused.error().message.find("SLO alarms"), std::string::npos);
    EXPECT_TRUE(check_retention_applies("prom.*"));
    EXPECT_TRUE(check_retention_applies("orders"));
}

}  // namespace
}  // namespace prom::retention
