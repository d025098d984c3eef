// SLO alarms with an injected clock: a rule fires once after for_seconds, resolves once, and
// two nodes judging the same rule raise it once.
#include <gtest/gtest.h>

#include "ops/slo.hpp"
#include "schema/schema_registry.hpp"
#include "support/forwarding_store.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

// A node that has not seen the other node's alarm events yet (both judge at the same
// instant): its latest_per_key() of prom.alerts sees nothing.
class blind_to_alerts final : public test::forwarding_store {
  public:
    using forwarding_store::forwarding_store;
    result<std::vector<event>> latest_per_key(std::string_view topic) override {
        if (topic == ops::alerts_topic) return std::vector<event>{};
        return forwarding_store::latest_per_key(topic);
    }
};

class ops_slo_contract : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().fresh_url(dir_);
        store_ = test::open_or_die(url_, {.durable = false});
        ASSERT_NE(store_, nullptr);
        std::vector<event_input> batch;
        for (int i = 1; i <= 10; ++i) {
            batch.push_back(
                {.topic = "order.created", .ts = ts_ms{std::int64_t{1000} * i}, .payload = i});
        }
        ASSERT_TRUE(store_->append(std::move(batch)));
        ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{2}));  // lag 8 events
    }

    std::vector<event> alerts() {
        auto r = store_->scan({.topic = std::string(ops::alerts_topic)});
        EXPECT_TRUE(r);
        return r ? *r : std::vector<event>{};
    }

    static std::vector<ops::slo_rule> rules() {
        auto r = ops::parse_slo_rules(*parse_json(
            R"([{"name": "orders-fresh", "topic": "order.*", "group": "orders",
                 "max_lag_events": 5, "max_lag_seconds": 3600, "for_seconds": 60}])"));
        EXPECT_TRUE(r) << r.error().message;
        return *r;
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> store_;
};

TEST_P(ops_slo_contract, a_rule_fires_once_after_for_seconds_and_resolves_once) {
    ops::slo_monitor m(*store_, rules());
    const ts_ms t0{100'000};
    ASSERT_TRUE(m.evaluate(t0));
    ASSERT_TRUE(m.evaluate(t0 + 59'000));
    EXPECT_TRUE(alerts().empty());
    EXPECT_TRUE(m.active().empty());
    ASSERT_TRUE(m.evaluate(t0 + 60'000));
    ASSERT_TRUE(m.evaluate(t0 + 61'000));
    ASSERT_TRUE(m.evaluate(t0 + 120'000));
    auto a = alerts();
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].id, "alarm:orders-fresh:1:fired");
    EXPECT_EQ(a[0].key, "orders-fresh");
    EXPECT_EQ(a[0].payload.at("type").as_string(), "alarm.fired");
    EXPECT_NE(a[0].payload.at("reason").as_string().find("lag 8 events > 5"), std::string::npos)
        << a[0].payload.at("reason").as_string();
    // The rule's patterns, and the consumer that tripped it (found from outside: only the
    // patterns were data).
    EXPECT_EQ(a[0].payload.at("topic").as_string(), "order.*");
    EXPECT_EQ(a[0].payload.at("breached"),
              (json::object{{"topic", "order.created"}, {"group", "orders"}}));
    ASSERT_EQ(m.active().size(), 1u);
    std::string metrics;
    m.append_metrics(metrics);
    EXPECT_NE(metrics.find("prom_slo_alarm{rule=\"orders-fresh\"} 1"), std::string::npos);

    ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{10}));  // caught up
    ASSERT_TRUE(m.evaluate(t0 + 121'000));
    ASSERT_TRUE(m.evaluate(t0 + 122'000));
    a = alerts();
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[1].id, "alarm:orders-fresh:1:resolved");
    EXPECT_EQ(a[1].payload.at("type").as_string(), "alarm.resolved");
    EXPECT_TRUE(m.active().empty());
    metrics.clear();
    m.append_metrics(metrics);
    EXPECT_NE(metrics.find("prom_slo_alarm{rule=\"orders-fresh\"} 0"), std::string::npos);

    // A new breach is a new episode; a breach shorter than for_seconds raises nothing.
    ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{1}));
    ASSERT_TRUE(m.evaluate(t0 + 200'000));
    ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{10}));
    ASSERT_TRUE(m.evaluate(t0 + 230'000));
    ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{1}));
    ASSERT_TRUE(m.evaluate(t0 + 240'000));
    ASSERT_TRUE(m.evaluate(t0 + 300'000));
    a = alerts();
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[2].id, "alarm:orders-fresh:2:fired");
}

// An open alarm whose rule is removed from the config is resolved, once, by a monitor
// without the rule, even one without any rule (found from outside: it stayed open for
// ever); a rule that still exists is left to its own judgement.
TEST_P(ops_slo_contract, an_open_alarm_of_a_removed_rule_is_resolved) {
    {
        ops::slo_monitor m(*store_, rules());
        const ts_ms t0{100'000};
        ASSERT_TRUE(m.evaluate(t0));
        ASSERT_TRUE(m.evaluate(t0 + 60'000));
        ASSERT_EQ(alerts().size(), 1u);  // fired
    }
    ops::slo_monitor without(*store_, {});
    ASSERT_TRUE(without.evaluate(ts_ms{200'000}));
    ASSERT_TRUE(without.evaluate(ts_ms{201'000}));
    auto a = alerts();
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[1].id, "alarm:orders-fresh:1:resolved");
    EXPECT_EQ(a[1].payload.at("reason").as_string(), "the rule is no longer configured");
    EXPECT_EQ(a[1].payload.at("topic").as_string(), "order.*");
    std::string metrics;
    without.append_metrics(metrics);
    EXPECT_EQ(metrics, "");
}

// prom.alerts holds prom's alarms only: a client's event keyed by a rule's name made the
// monitor count episodes from it (every later alarm was a duplicate id, dropped: nobody
// paged), and a schema on the topic refused the alarms. Found from outside.
TEST_P(ops_slo_contract, prom_alerts_takes_only_prom_alarms_and_no_schema) {
    auto note = store_->append({{.topic = std::string(ops::alerts_topic),
                                 .key = "orders-fresh",
                                 .payload = json::object{{"note", "acked by on-call"}}}});
    ASSERT_FALSE(note);
    EXPECT_EQ(note.error().code, errc::invalid_argument);
    // In a batch the event is named, as every other refusal of a batch names it.
    auto batch = store_->append({{.topic = "order.created", .payload = 1},
                                 {.topic = std::string(ops::alerts_topic), .payload = 2}});
    ASSERT_FALSE(batch);
    EXPECT_TRUE(batch.error().message.starts_with("events[1]: ")) << batch.error().message;
    auto schema =
        schema::put_schema(*store_, ops::alerts_topic,
                           *parse_json(R"({"schema":{"type":"object","required":["severity"]}})"));
    ASSERT_FALSE(schema);
    ops::slo_monitor m(*store_, rules());
    ASSERT_TRUE(m.evaluate(ts_ms{100'000}));
    ASSERT_TRUE(m.evaluate(ts_ms{160'000}));
    auto a = alerts();
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].id, "alarm:orders-fresh:1:fired");
    EXPECT_TRUE(a[0].headers.contains(std::string(ops::alarm_header)));
}

TEST_P(ops_slo_contract, lag_in_seconds_fires_too) {
    auto r = ops::parse_slo_rules(
        *parse_json(R"([{"name": "slow", "topic": "order.created", "max_lag_seconds": 30}])"));
    ASSERT_TRUE(r);
    ops::slo_monitor m(*store_, *r);
    ASSERT_TRUE(m.evaluate(ts_ms{30'000}));  // oldest unacked ts 3000: 27 s
    EXPECT_TRUE(alerts().empty());
    ASSERT_TRUE(m.evaluate(ts_ms{34'000}));  // 31 s, for_seconds 0: at once
    ASSERT_EQ(alerts().size(), 1u);
}

TEST_P(ops_slo_contract, two_nodes_raise_an_alarm_once) {
    blind_to_alerts other_view(*store_);
    ops::slo_monitor a(*store_, rules());
    ops::slo_monitor b(other_view, rules());
    ASSERT_TRUE(a.evaluate(ts_ms{0}));
    ASSERT_TRUE(b.evaluate(ts_ms{500}));
    ASSERT_TRUE(a.evaluate(ts_ms{60'000}));
    ASSERT_TRUE(b.evaluate(ts_ms{60'500}));  // sees no alarm, raises it too: the same id
    auto got = alerts();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{10}));
    ASSERT_TRUE(a.evaluate(ts_ms{61'000}));
    ops::slo_monitor c(*store_, rules());  // a third node, started later
    ASSERT_TRUE(c.evaluate(ts_ms{61'500}));
    EXPECT_EQ(alerts().size(), 2u);
}

TEST_P(ops_slo_contract, error_rates_come_from_the_node_counters) {
    auto r = ops::parse_slo_rules(
        *parse_json(R"([{"name": "errors", "group": "orders", "max_error_rate": 0.1}])"));
    ASSERT_TRUE(r);
    ops::group_counts counts{100, 0};
    ops::slo_monitor m(*store_, *r, [&](std::string_view, std::string_view group) {
        return group == "orders" ? std::optional(counts) : std::nullopt;
    });
    ASSERT_TRUE(m.evaluate(ts_ms{1000}));
    counts = {190, 10};  // 10 errors in 100 attempts: 0.1, not above
    ASSERT_TRUE(m.evaluate(ts_ms{2000}));
    EXPECT_TRUE(alerts().empty());
    counts = {270, 30};  // 20 in 100
    ASSERT_TRUE(m.evaluate(ts_ms{3000}));
    ASSERT_EQ(alerts().size(), 1u);
    counts = {370, 30};
    ASSERT_TRUE(m.evaluate(ts_ms{4000}));
    EXPECT_EQ(alerts().size(), 2u);
}

// A node that runs none of the rule's groups cannot tell their error rate, but an alarm that
// fired on lag resolves there once the lag is gone; one that fired on error rate does not
// (found from outside: a rule with both thresholds kept /healthz degraded for ever).
TEST_P(ops_slo_contract, a_lag_alarm_resolves_where_the_error_rate_is_unknown) {
    auto r = ops::parse_slo_rules(*parse_json(
        R"([{"name": "both", "topic": "order.*", "group": "orders", "max_lag_events": 5,
             "max_error_rate": 0.01, "for_seconds": 1}])"));
    ASSERT_TRUE(r) << r.error().message;
    ops::slo_monitor m(*store_, *r, [](std::string_view, std::string_view) {
        return std::optional<ops::group_counts>{};  // runs none of the groups
    });
    ASSERT_TRUE(m.evaluate(ts_ms{1000}));
    ASSERT_TRUE(m.evaluate(ts_ms{3000}));
    ASSERT_EQ(alerts().size(), 1u);
    ASSERT_TRUE(store_->set_cursor("order.created", "orders", seq_t{10}));
    ASSERT_TRUE(m.evaluate(ts_ms{4000}));
    auto a = alerts();
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[1].payload.at("type").as_string(), "alarm.resolved");
    EXPECT_TRUE(m.active().empty());
}

INSTANTIATE_TEST_SUITE_P(backends, ops_slo_contract, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

TEST(slo_rules, bad_rules_are_refused_with_their_place) {
    for (std::string_view text :
         {R"({"name": "x"})", R"([{"name": "x", "max_lag_events": -1}])",
          R"([{"name": "x", "max_lag_seconds": -0.5}])", R"([{"name": "x"}])",
          R"([{"name": "x", "max_lag_events": 1, "typo": 1}])", R"([{"max_lag_events": 1}])",
          R"([{"name": "bad name", "max_lag_events": 1}])",
          R"([{"name": "x", "max_lag_events": 1}, {"name": "x", "max_lag_events": 2}])",
          R"([{"name": "x", "max_error_rate": 1.5}])", R"([{"name": "x", "max_lag_events": 1.5}])",
          R"([{"name": "x", "max_lag_events": 1, "for_seconds": -3}])"}) {
        auto r = ops::parse_slo_rules(*parse_json(text));
        EXPECT_FALSE(r) << text;
        if (!r) {
            EXPECT_EQ(r.error().code, errc::invalid_argument);
            EXPECT_NE(r.error().message.find("slo"), std::string::npos) << r.error().message;
        }
    }
    auto ok = ops::parse_slo_rules(*parse_json(
        R"([{"name": "a", "topic": "order.*", "group": "orders", "max_lag_seconds": 30,
             "max_lag_events": 10000, "max_error_rate": 0.01, "for_seconds": 60}])"));
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ((*ok)[0].for_seconds, 60);
    EXPECT_EQ(*(*ok)[0].max_lag_events, 10000);
}

}  // namespace
}  // namespace prom
