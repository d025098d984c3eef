// /healthz, /metrics, the built-in projectors behind the API, graceful shutdown.
#include <thread>

#include "support/server_fixture.hpp"
#include "support/ws_client.hpp"

namespace prom::test {
namespace {

class server_ops : public server_test {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        c.projectors = {"process"};
        return c;
    }

    // Polls until /snap/{key} answers 200 (the projectors run on their own threads).
    http_reply wait_for_snap(std::string_view target) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            auto r = get(target);
            if (r.status == 200 || std::chrono::steady_clock::now() > deadline) return r;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
};

TEST_F(server_ops, healthz_answers_ok) {
    auto r = get("/healthz");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(parse_json(r.body)->at("status"), "ok");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(head("/healthz").status, 200);
}

TEST_F(server_ops, a_published_heartbeat_becomes_a_snapshot_with_host_stats) {
    auto p = post_json("/publish", R"({"topic":"heartbeat.received","payload":{"pid":7,)"
                                   R"("name":"stt","host":"h1","cpu_pct":1.5,"mem_mb":20}})");
    ASSERT_EQ(p.status, 200) << p.body;
    auto r = wait_for_snap("/snap/h1:stt:7");
    ASSERT_EQ(r.status, 200);
    auto doc = parse_json(r.body);
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->at("status"), "alive");
    EXPECT_EQ(doc->at("processId"), "h1:stt:7");
    auto hs = wait_for_snap("/collections/host_stats/snap/h1");
    ASSERT_EQ(hs.status, 200);
    EXPECT_EQ(parse_json(hs.body)->at("seen"), 1);
    auto list = parse_json(get("/list?status=alive").body);
    EXPECT_EQ(list->at("count"), 1);
}

TEST_F(server_ops, metrics_report_requests_publishes_lag_and_projectors) {
    ASSERT_EQ(post_json("/publish", R"({"topic":"heartbeat.received","payload":{"pid":1,)"
                                    R"("name":"a","host":"h","cpu_pct":1,"mem_mb":2}})")
                  .status,
              200);
    wait_for_snap("/snap/h:a:1");
    get("/snap/nope");
    auto r = get("/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const auto& m = r.body;
    for (const char* needle : {
             "prom_http_requests_total{route=\"/snap/{key}\",status=\"404\"} ",
             "prom_http_requests_total{route=\"/publish\",status=\"200\"} 1",
             "prom_http_request_duration_seconds_bucket{route=\"/snap/{key}\",le=\"+Inf\"}",
             "prom_publish_requests_total 1",
             "prom_published_events_total 1",
             "prom_publish_duration_seconds_count 1",
             "prom_consumer_lag{topic=\"heartbeat.received\",group=\"process-projector\"}",
             "prom_consumer_lag{topic=\"process.state\",group=\"processes.txn\"}",
             "prom_projector_applied_total{topic=\"process.state\",group=\"processes.txn\"}",
             "prom_projector_dead_lettered_total",
             "prom_projector_retries_total",
             "prom_snapshot_cache_hits_total",
         }) {
        EXPECT_NE(m.find(needle), std::string::npos) << needle << "\n" << m;
    }
}

// A miss is a read of the store: one per request that reads it, not one per look at the
// cache (a request looks on its network thread, then again on a blocking thread).
TEST_F(server_ops, one_snapshot_request_that_reads_the_store_is_one_cache_miss) {
    auto misses = [&] {
        const std::string m = get("/metrics").body;
        const std::string name = "\nprom_snapshot_cache_misses_total ";
        auto at = m.find(name);
        EXPECT_NE(at, std::string::npos) << m;
        return at == std::string::npos ? -1 : std::stoll(m.substr(at + name.size()));
    };
    const auto before = misses();
    EXPECT_EQ(get("/snap/nope").status, 404);
    EXPECT_EQ(misses(), before + 1);
}

TEST_F(server_ops, stop_closes_idle_keep_alive_connections_within_the_deadline) {
    http_connection idle(port());
    ASSERT_TRUE(idle.request("GET", "/healthz"));
    auto started = std::chrono::steady_clock::now();
    node_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    EXPECT_TRUE(idle.closed_by_peer(std::chrono::seconds(1)));
    EXPECT_FALSE(http_connection(port()).request("GET", "/healthz"));
}

TEST_F(server_ops, stop_with_an_open_websocket_returns_well_within_the_deadline) {
    raw_ws::handshake hs;
    auto ws = raw_ws::connect(port(), hs);
    ASSERT_TRUE(ws);
    ASSERT_EQ(hs.status, 101);
    // A round trip proves the gateway has registered the session (the 101 alone does not).
    ASSERT_TRUE(ws->send_text(R"({"op":"subscribe","id":"s","topic":"t","group":"g"})"));
    ASSERT_TRUE(ws->read_text());
    auto started = std::chrono::steady_clock::now();
    node_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    EXPECT_TRUE(ws->closed_by_peer(std::chrono::seconds(1)));
}

}  // namespace
}  // namespace prom::test
