// The SLO rules of the config (docs/operations.md): what parse_slo_rules refuses.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/slo.hpp"
#include "prom/json.hpp"

namespace prom::ops {
namespace {

TEST(slo_rules, refuses_a_star_inside_a_pattern_and_a_wait_that_would_overflow) {
    for (const std::string& bad : std::vector<std::string>{
             R"([{"name":"a","topic":"ord*s","max_lag_events":1}])",
             R"([{"name":"a","group":"a*b","max_lag_events":1}])",
             R"([{"name":"a","topic":"**","max_lag_events":1}])",
             // A topic pattern no topic can match: the rule would never fire (found from
             // outside; retention refused the same pattern).
             R"([{"name":"a","topic":"order. *","max_lag_events":1}])",
             R"([{"name":"a","topic":"<x>","max_lag_events":1}])",
             R"([{"name":"a","topic":" order.*","max_lag_events":1}])",
             R"([{"name":"a","max_lag_events":1,"for_seconds":4611686018427387904}])",
             R"([{"name":"a","max_lag_events":1,"for_seconds":9223372036854775807}])",
             R"([{"name":"a","max_lag_events":1,"for_seconds":316224001}])",
         }) {
        auto r = parse_slo_rules(*parse_json(bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
    }
    auto ok = parse_slo_rules(*parse_json(
        R"([{"name":"a","topic":"order.*","group":"*","max_lag_events":1,"for_seconds":316224000},{"name":"b","topic":"*","max_lag_events":1},{"name":"c","topic":"a_b-c:d","max_lag_events":1}])"));
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->at(0).for_seconds, 316224000);
}

}  // namespace
}  // namespace prom::ops
