#include "auth/auth_policy.hpp"

#include <gtest/gtest.h>

namespace prom::auth {
namespace {

auth_policy policy(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v);
    auto p = auth_policy::from_json(*v);
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? *p : auth_policy{};
}

TEST(auth_policy, without_tokens_everything_is_allowed) {
    auth_policy p;
    EXPECT_FALSE(p.enabled());
    EXPECT_EQ(p.check(std::nullopt, action::publish, "x"), verdict::allowed);
}

TEST(auth_policy, checks_tokens_and_prefix_patterns) {
    auto p = policy(R"({"tokens":[
        {"token":"collector-secret","publish":["heartbeat.*"],"subscribe":["process.state"]},
        {"token":"admin-secret-123","publish":["*"],"subscribe":["*"],"read":["*"]}]})");
    ASSERT_TRUE(p.enabled());
    EXPECT_EQ(p.check("Bearer collector-secret", action::publish, "heartbeat.received"),
              verdict::allowed);
    EXPECT_EQ(p.check("bearer collector-secret", action::publish, "heartbeat"), verdict::forbidden);
    EXPECT_EQ(p.check("Bearer collector-secret", action::subscribe, "process.state"),
              verdict::allowed);
    EXPECT_EQ(p.check("Bearer collector-secret", action::subscribe, "process.state.dlq"),
              verdict::forbidden);
    EXPECT_EQ(p.check("Bearer collector-secret", action::read, "processes"), verdict::forbidden);
    EXPECT_EQ(p.check("Bearer admin-secret-123", action::read, "processes"), verdict::allowed);
    EXPECT_EQ(p.check("Bearer wrong-secret", action::publish, "heartbeat.x"),
              verdict::unauthenticated);
    EXPECT_EQ(p.check(std::nullopt, action::publish, "heartbeat.x"), verdict::unauthenticated);
    EXPECT_EQ(p.check("Basic collector-secret", action::publish, "heartbeat.x"),
              verdict::unauthenticated);
    EXPECT_EQ(p.check("Bearer collector-secre", action::publish, "heartbeat.x"),
              verdict::unauthenticated);
}

TEST(auth_policy, groups_limit_the_consumer_groups_and_default_to_any) {
    auto p = policy(R"({"tokens":[
        {"token":"team-secret-1","subscribe":["jobs"],"groups":["team-*","audit"]},
        {"token":"open-secret-1","subscribe":["jobs"]}]})");
    EXPECT_EQ(p.check("Bearer team-secret-1", action::group, "team-a"), verdict::allowed);
    EXPECT_EQ(p.check("Bearer team-secret-1", action::group, "audit"), verdict::allowed);
    EXPECT_EQ(p.check("Bearer team-secret-1", action::group, "auditors"), verdict::forbidden);
    EXPECT_EQ(p.check("Bearer team-secret-1", action::group, "process-projector"),
              verdict::forbidden);
    EXPECT_EQ(p.check("Bearer open-secret-1", action::group, "anything"), verdict::allowed);
    // A group permission is not a topic permission, nor the other way round.
    EXPECT_EQ(p.check("Bearer team-secret-1", action::subscribe, "team-a"), verdict::forbidden);
    EXPECT_FALSE(auth_policy::from_json(
        *parse_json(R"({"tokens":[{"token":"long-enough","groups":"team-*"}]})")));
    EXPECT_FALSE(auth_policy::from_json(
        *parse_json(R"({"tokens":[{"token":"long-enough","groups":["a*b"]}]})")));
}

TEST(auth_policy, a_pattern_covers_the_patterns_within_it) {
    auto p = auth_policy::from_json(
        *parse_json(R"({"tokens":[{"token":"long-enough","subscribe":["order.*","billing"]}]})"));
    ASSERT_TRUE(p);
    const grant& g = *p->authenticate("Bearer long-enough");
    EXPECT_TRUE(auth_policy::permits_every(g, action::subscribe, "order.*"));
    EXPECT_TRUE(auth_policy::permits_every(g, action::subscribe, "order.paid*"));
    EXPECT_TRUE(auth_policy::permits_every(g, action::subscribe, "order.paid"));
    EXPECT_TRUE(auth_policy::permits_every(g, action::subscribe, "billing"));
    EXPECT_FALSE(auth_policy::permits_every(g, action::subscribe, "order*"));
    EXPECT_FALSE(auth_policy::permits_every(g, action::subscribe, "*"));
    EXPECT_FALSE(auth_policy::permits_every(g, action::subscribe, "billing*"));
    EXPECT_FALSE(auth_policy::permits_every(g, action::publish, "order.paid"));
}

TEST(auth_policy, refuses_bad_configs) {
    for (auto bad : {R"({"tokens":{}})", R"({"tokens":[{"token":"short"}]})",
                     R"({"tokens":[{"token":"ab\u00e9\u00e9\u00e9"}]})",  // 5 characters, 8 bytes
                     // Spaces, controls and invisibles beyond ASCII (found from outside).
                     R"({"tokens":[{"token":"\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0"}]})",
                     R"({"tokens":[{"token":"\u0085\u0085\u0085\u0085\u0085\u0085\u0085\u0085"}]})",
                     R"({"tokens":[{"token":"\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b"}]})",
                     R"({"tokens":[{"token":"long-enough\u00e9"}]})",
                     R"({"tokens":[{"token":"long-enough","publish":"x"}]})",
                     R"({"tokens":[{"token":"long-enough","publish":["a*b"]}]})",
                     R"({"tokens":[{"token":"long-enough"},{"token":"long-enough"}]})",
                     // A topic or collection pattern that matches nothing: a grant silently
                     // lost to a typo (found from outside).
                     R"({"tokens":[{"token":"long-enough","publish":[" order.*"]}]})",
                     R"({"tokens":[{"token":"long-enough","read":["a/b"]}]})",
                     R"({"tokens":[{"token":"long-enough","subscribe":["<x>"]}]})"}) {
        EXPECT_FALSE(auth_policy::from_json(*parse_json(bad))) << bad;
    }
    // Group names are freer than topics' (a projector's rebuild group holds '@').
    EXPECT_TRUE(auth_policy::from_json(*parse_json(
        R"({"tokens":[{"token":"long-enough","groups":["projector.x@*"],"admin":["projector.x@*"],"read":["a_b.c-d:e*"]}]})")));
}

}  // namespace
}  // namespace prom::auth
