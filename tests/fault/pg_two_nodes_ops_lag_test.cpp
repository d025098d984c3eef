// Lag in /metrics on every node of a PostgreSQL deployment (docs/operations.md): two
// `prom serve` nodes on one schema, the first active (it holds the built-in projectors' and
// the gateway group's leases), the second a standby that runs nothing; then a node restarted.
// Every node reports the same cursors and lags, read from the durable cursors: a standby
// does not show the whole topic as lag (its own projectors never ran) and neither does a node
// right after its start. Only for postgres: no instances when PROM_TEST_PG_URL is unset.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "prom/process_projectors.hpp"
#include "server/node.hpp"
#include "support/http_client.hpp"
#include "support/test_support.hpp"
#include "support/two_nodes.hpp"
#include "support/ws_client.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

using test::eventually;

// The per-group lines of one /metrics page: metric{labels} -> value.
using group_lines = std::map<std::string, double>;

group_lines group_metrics(std::uint16_t port) {
    auto r = test::http_request(port, "GET", "/metrics");
    EXPECT_EQ(r.status, 200);
    group_lines out;
    std::size_t pos = 0;
    while (pos < r.body.size()) {
        auto nl = r.body.find('\n', pos);
        if (nl == std::string::npos) nl = r.body.size();
        std::string_view line(r.body.data() + pos, nl - pos);
        pos = nl + 1;
        if (!line.starts_with("prom_consumer_")) continue;
        auto sp = line.rfind(' ');
        out[std::string(line.substr(0, sp))] = std::stod(std::string(line.substr(sp + 1)));
    }
    return out;
}

std::string label(std::string_view metric, std::string_view topic, std::string_view group) {
    return std::string(metric) + "{topic=\"" + std::string(topic) + "\",group=\"" +
           std::string(group) + "\"}";
}

class pg_two_nodes_ops_lag : public test::two_nodes_test {
  protected:
    std::unique_ptr<server::node> start_node() {
        auto c = node_config();
        c.blocking_threads = 2;
        c.stale_after = 1h;  // no stale events in the middle of a comparison
        c.read_timeout = 1500ms;
        return start(c);
    }

    // Same groups, same cursors, same lag in events and, measured a moment apart, lag in
    // seconds within `slack` seconds.
    static void expect_same(const group_lines& a, const group_lines& b, double slack = 2.0) {
        ASSERT_EQ(a.size(), b.size());
        for (const auto& [k, v] : a) {
            auto it = b.find(k);
            ASSERT_NE(it, b.end()) << k;
            if (k.starts_with("prom_consumer_lag_seconds")) {
                EXPECT_NEAR(v, it->second, slack) << k;
            } else if (!k.starts_with("prom_consumer_active")) {
                EXPECT_EQ(v, it->second) << k;
            }
        }
    }
};

TEST_P(pg_two_nodes_ops_lag, a_standby_and_a_restarted_node_report_the_active_nodes_lag) {
    auto active = start_node();
    ASSERT_NE(active, nullptr);
    store& db = active->storage();
    // Ten events on t, published 100 s ago and later (ts = now - 100 s + i s), and heartbeats
    // for the built-in projectors, which the active node (started first) consumes.
    const ts_ms t0 = now_ms() - 100'000;
    std::vector<event_input> batch;
    for (int i = 1; i <= 10; ++i) {
        batch.push_back({.topic = "t", .key = "k", .ts = t0 + 1000 * i, .payload = i});
    }
    for (int i = 1; i <= 5; ++i) {
        batch.push_back(
            {.topic = std::string(heartbeat_topic),
             .key = "p" + std::to_string(i),
             .payload = json::object{
                 {"pid", i}, {"name", "n"}, {"host", "h"}, {"cpu_pct", 1.0}, {"mem_mb", 1.0}}});
    }
    ASSERT_TRUE(db.append(std::move(batch)));
    // A library consumer (what `prom tail --group` keeps) at 3.
    ASSERT_TRUE(db.set_cursor("t", "lib", seq_t{3}));
    // A gateway group on the active node that acknowledged up to 6 and stays connected.
    test::raw_ws::handshake hs;
    auto ws = test::raw_ws::connect(active->port(), hs);
    ASSERT_EQ(hs.status, 101);
    ASSERT_TRUE(
        ws->send_text(R"({"op":"subscribe","id":"s","topic":"t","group":"gw","manualAck":true})"));
    // Acked once delivered, as a client does: the group exists by then.
    ASSERT_TRUE(eventually([&] {
        auto text = ws->read_text(200ms);
        return text && text->find(R"("op":"events")") != std::string::npos;
    }));
    ASSERT_TRUE(ws->send_text(R"({"op":"ack","id":"a","topic":"t","group":"gw","seq":6})"));
    ASSERT_TRUE(eventually([&] { return db.cursor("t", "gw")->value_or(seq_t{}) == 6; }));
    // The projectors caught up on the active node.
    ASSERT_TRUE(eventually([&] {
        auto m = group_metrics(active->port());
        return m[label("prom_consumer_lag_events", heartbeat_topic, process_projector_group)] ==
                   0 &&
               m[label("prom_consumer_lag_events", process_state_topic, process_txn_group)] == 0 &&
               m.contains(label("prom_consumer_cursor", process_state_topic, process_txn_group));
    }));

    auto standby = start_node();
    ASSERT_NE(standby, nullptr);
    const auto on_active = group_metrics(active->port());
    const auto on_standby = group_metrics(standby->port());
    // Hand-computed: t has 10 events; lib at 3 lags 7 events, since the ts of seq 4
    // (t0 + 4 s, i.e. 96 s ago); gw at 6 lags 4, since seq 7 (93 s ago).
    EXPECT_EQ(on_standby.at(label("prom_consumer_lag_events", "t", "lib")), 7);
    EXPECT_NEAR(on_standby.at(label("prom_consumer_lag_seconds", "t", "lib")), 96, 3);
    EXPECT_EQ(on_standby.at(label("prom_consumer_lag_events", "t", "gw")), 4);
    EXPECT_NEAR(on_standby.at(label("prom_consumer_lag_seconds", "t", "gw")), 93, 3);
    EXPECT_EQ(on_standby.at(label("prom_consumer_cursor", "t", "gw")), 6);
    EXPECT_EQ(on_standby.at(label("prom_consumer_active", "t", "gw")), 1);
    // The standby's projectors never ran: still no lag, the active node's cursors count.
    EXPECT_EQ(
        on_standby.at(label("prom_consumer_lag_events", heartbeat_topic, process_projector_group)),
        0);
    EXPECT_EQ(
        on_standby.at(label("prom_consumer_cursor", heartbeat_topic, process_projector_group)), 5);
    expect_same(on_active, on_standby);

    // The standby restarts: right after its start it reports the same.
    standby->stop();
    standby.reset();
    standby = start_node();
    ASSERT_NE(standby, nullptr);
    expect_same(group_metrics(active->port()), group_metrics(standby->port()));

    // The active node goes away (its gateway group and projectors with it) and comes back:
    // the groups keep their cursors and lag, whichever node now holds the leases.
    ws.reset();
    active->stop();
    active.reset();
    auto after = group_metrics(standby->port());
    EXPECT_EQ(after.at(label("prom_consumer_lag_events", "t", "gw")), 4);
    EXPECT_EQ(after.at(label("prom_consumer_lag_events", "t", "lib")), 7);
    active = start_node();
    ASSERT_NE(active, nullptr);
    expect_same(group_metrics(standby->port()), group_metrics(active->port()));
    EXPECT_EQ(group_metrics(active->port()).at(label("prom_consumer_lag_events", "t", "lib")), 7);
}

INSTANTIATE_TEST_SUITE_P(backends, pg_two_nodes_ops_lag,
                         testing::ValuesIn(test::postgres_backends()), test::backend_name);
// No instances without PROM_TEST_PG_URL (as pg_two_nodes): not a failure of its own.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_two_nodes_ops_lag);

}  // namespace
}  // namespace prom
