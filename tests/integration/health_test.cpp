// /healthz and prom_db_up tell whether the database answers (issue 12 item 10): the HTTP
// server is run in-process over a store wrapper whose reads fail while `down` is set.
#include <atomic>
#include <string>
#include <vector>

#include "http/api.hpp"
#include "http/http_server.hpp"
#include "http/snapshot_cache.hpp"
#include "support/forwarding_store.hpp"
#include "support/http_client.hpp"
#include "support/test_support.hpp"

namespace prom::test {
namespace {

// A database that went away: every topic read fails with `unavailable` while `down`.
class switchable_store final : public forwarding_store {
  public:
    using forwarding_store::forwarding_store;
    std::atomic<bool> down{false};

    result<std::optional<topic_info>> topic(std::string_view name) override {
        if (down) return fail(errc::unavailable, "connection refused (test: database down)");
        return inner_.topic(name);
    }
};

class health : public testing::Test {
  protected:
    void SetUp() override {
        if (integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        inner_ = open_or_die(integration_db_url(dir_));
        store_ = std::make_unique<switchable_store>(*inner_);
        cache_ = std::make_unique<http::snapshot_cache>(*store_, http::snapshot_cache_options{});
        api_ = std::make_unique<http::api>(*store_, *cache_, metrics_, http::api_options{});
        auto s = http::http_server::start(*api_, {.port = 0, .threads = 1, .blocking_threads = 2});
        ASSERT_TRUE(s) << s.error().message;
        server_ = std::move(*s);
    }
    void TearDown() override {
        if (server_) server_->stop(std::chrono::seconds(2));
    }
    http_reply get(std::string_view target) { return http_request(server_->port(), "GET", target); }

    temp_dir dir_;
    std::unique_ptr<store> inner_;
    std::unique_ptr<switchable_store> store_;
    std::unique_ptr<http::snapshot_cache> cache_;
    http::http_metrics metrics_;
    std::unique_ptr<http::api> api_;
    std::unique_ptr<http::http_server> server_;
};

TEST_F(health, healthz_and_prom_db_up_follow_the_database) {
    auto up = get("/healthz");
    EXPECT_EQ(up.status, 200);
    EXPECT_EQ(up.body, R"({"db":"up","status":"ok"})");
    EXPECT_NE(get("/metrics").body.find("\nprom_db_up 1\n"), std::string::npos);

    store_->down = true;
    auto down = get("/healthz");
    EXPECT_EQ(down.status, 503);
    EXPECT_EQ(down.header("Content-Type"), "application/json");
    EXPECT_EQ(down.header("Cache-Control"), "no-store");
    auto v = parse_json(down.body);
    ASSERT_TRUE(v && v->is_object()) << down.body;
    EXPECT_EQ(v->at("status"), "unavailable");
    EXPECT_EQ(v->at("db"), "down");
    EXPECT_EQ(v->at("error"), "unavailable");
    EXPECT_NE(v->at("message").as_string().find("connection refused"), std::string::npos);
    auto m = get("/metrics");
    EXPECT_EQ(m.status, 200);  // the metrics themselves still answer
    EXPECT_NE(m.body.find("# TYPE prom_db_up gauge\nprom_db_up 0\n"), std::string::npos) << m.body;
    EXPECT_EQ(http_request(server_->port(), "HEAD", "/healthz").status, 503);

    store_->down = false;
    EXPECT_EQ(get("/healthz").status, 200);
    EXPECT_NE(get("/metrics").body.find("\nprom_db_up 1\n"), std::string::npos);
}

// The value of an unlabelled metric line `name value` on a metrics page; -1 when absent.
double metric_value(const std::string& page, const std::string& name) {
    auto at = page.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(page.substr(at + name.size() + 2));
}

TEST_F(health, the_metrics_page_counts_the_writers_commits_and_their_events) {
    auto before = get("/metrics").body;
    ASSERT_NE(before.find("# TYPE prom_log_commit_duration_seconds histogram\n"), std::string::npos)
        << before;
    const double events = metric_value(before, "prom_log_commit_events_total");
    const double commits = metric_value(before, "prom_log_commit_duration_seconds_count");
    ASSERT_GE(events, 0);
    ASSERT_GE(commits, 0);

    std::vector<event_input> three(3);
    for (auto& e : three) {
        e.topic = "metrics.t";
        e.key = "k";
        e.payload = json::object{{"n", 1}};
    }
    ASSERT_TRUE(store_->append(three));  // one commit of three events
    three.resize(1);
    ASSERT_TRUE(store_->append(three));  // and one of one

    auto after = get("/metrics").body;
    EXPECT_EQ(metric_value(after, "prom_log_commit_events_total"), events + 4) << after;
    EXPECT_EQ(metric_value(after, "prom_log_commit_duration_seconds_count"), commits + 2);
    EXPECT_NE(after.find("prom_log_commit_duration_seconds_bucket{le=\"+Inf\"} "),
              std::string::npos);
}

TEST(metrics_page, a_store_without_a_writer_thread_shows_no_commit_metrics) {
    auto s = open_or_die("memory:");
    http::snapshot_cache cache(*s, http::snapshot_cache_options{});
    http::http_metrics metrics;
    http::api api(*s, cache, metrics, http::api_options{});
    auto server = http::http_server::start(api, {.port = 0, .threads = 1, .blocking_threads = 1});
    ASSERT_TRUE(server) << server.error().message;
    auto page = http_request((*server)->port(), "GET", "/metrics");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("\nprom_db_up 1\n"), std::string::npos);
    EXPECT_EQ(page.body.find("prom_log_commit"), std::string::npos);
    (*server)->stop(std::chrono::seconds(2));
}

}  // namespace
}  // namespace prom::test
