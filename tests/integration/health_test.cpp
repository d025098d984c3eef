// /healthz and prom_db_up tell whether the database answers (issue 12 item 10): the HTTP
// server is run in-process over a store wrapper whose reads fail while `down` is set.
#include <atomic>

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

}  // namespace
}  // namespace prom::test
