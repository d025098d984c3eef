// The "retention" section of the `prom serve` config (docs/config.md): defaults, the full
// form, and strict keys at every level.
#include <gtest/gtest.h>

#include "server/serve_config.hpp"

namespace prom::server {
namespace {

TEST(serve_config_retention, defaults) {
    serve_config c;
    EXPECT_EQ(c.retention.interval, std::chrono::milliseconds(60000));
    EXPECT_TRUE(c.retention.policies.empty());
    EXPECT_TRUE(c.retention.snapshots);
    EXPECT_FALSE(c.retention.batch_events);  // the backend's (retention::default_pacing)
    EXPECT_FALSE(c.retention.pause);
}

TEST(serve_config_retention, the_backends_pacing_unless_set) {
    EXPECT_EQ(retention::default_pacing("sqlite:prom.db").batch_events,
              retention::pass_options{}.batch_events);
    EXPECT_EQ(retention::default_pacing("sqlite:prom.db").pause, retention::pass_options{}.pause);
    EXPECT_EQ(retention::default_pacing("memory:").batch_events,
              retention::pass_options{}.batch_events);
    for (const char* url : {"postgresql://u@h/db", "postgres://h/db"}) {
        EXPECT_EQ(retention::default_pacing(url).batch_events, 100u) << url;
        EXPECT_EQ(retention::default_pacing(url).pause, std::chrono::microseconds(1000)) << url;
    }
}

TEST(serve_config_retention, the_full_form) {
    serve_config c;
    auto ok = apply_config_json(R"({"retention":{"interval_ms":250,"snapshots":false,
        "batch_events":40,"pause_ms":7,
        "policies":[{"topic":"order.*","retain":{"max_age":"7d","max_events":1000000},
                     "compact":{"horizon":"1d"},"behind":"skip"},
                    {"topic":"audit","retain":{"max_events":5},"behind":"wait"}]}})",
                                c);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(c.retention.interval, std::chrono::milliseconds(250));
    EXPECT_FALSE(c.retention.snapshots);
    EXPECT_EQ(c.retention.batch_events, std::optional<std::size_t>(40));
    EXPECT_EQ(c.retention.pause, std::chrono::milliseconds(7));
    ASSERT_EQ(c.retention.policies.size(), 2u);
    EXPECT_EQ(c.retention.policies[0].pattern, "order.*");
    EXPECT_EQ(c.retention.policies[0].retain->max_events, 1'000'000);
    EXPECT_EQ(c.retention.policies[0].compact->horizon, std::chrono::hours(24));
    EXPECT_EQ(c.retention.policies[1].behind, retention::behind_policy::wait);
}

TEST(serve_config_retention, strict_everywhere) {
    struct bad_case {
        const char* json;
        const char* says;
    };
    for (const auto& b : std::initializer_list<bad_case>{
             {R"({"retention":[]})", "'retention' must be an object"},
             {R"({"retention":{"interval":5}})", "retention.interval'"},
             {R"({"retention":{"interval_ms":0}})", "retention.interval_ms"},
             {R"({"retention":{"interval_ms":"1m"}})", "retention.interval_ms"},
             {R"({"retention":{"snapshots":1}})", "retention.snapshots"},
             {R"({"retention":{"batch_events":0}})", "retention.batch_events"},
             {R"({"retention":{"batch_events":"50"}})", "retention.batch_events"},
             {R"({"retention":{"pause_ms":-1}})", "retention.pause_ms"},
             {R"({"retention":{"pause_ms":10001}})", "retention.pause_ms"},
             {R"({"retention":{"policies":{}}})", "array of policies"},
             {R"({"retention":{"policies":[{"retain":{"max_events":1}}]}})",
              "retention.policies[0]: a policy is an object with \"topic\""},
             {R"({"retention":{"policies":[{"topic":"a","retain":{"max_events":0}}]}})",
              "retention.policies[0]: \"retain.max_events\""},
             {R"({"retention":{"policies":[{"topic":"a","compact":{"horizon":"x"}}]}})",
              "compact.horizon"},
             {R"({"retention":{"policies":[{"topic":"a","compact":{"horizon":"1d"},"x":1}]}})",
              "unknown key \"x\""},
             {R"({"retention":{"policies":[{"topic":"a","retain":{"max_events":1}},
                                          {"topic":"a","retain":{"max_events":2}}]}})",
              "retention.policies[1]: a second policy for 'a'"},
         }) {
        serve_config c;
        auto ok = apply_config_json(b.json, c);
        ASSERT_FALSE(ok) << b.json;
        EXPECT_EQ(ok.error().code, errc::invalid_argument);
        EXPECT_NE(ok.error().message.find(b.says), std::string::npos)
            << b.json << " -> " << ok.error().message;
    }
}

}  // namespace
}  // namespace prom::server
