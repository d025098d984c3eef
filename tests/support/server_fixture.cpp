#include "support/server_fixture.hpp"

namespace prom::test {

server::serve_config server_test::make_config() {
    server::serve_config c;
    c.db = db_url_;
    c.port = 0;
    c.threads = 2;
    c.blocking_threads = 4;
    c.durable = false;
    c.projectors.clear();
    c.read_timeout = std::chrono::milliseconds(1500);
    c.shutdown_deadline = std::chrono::milliseconds(2000);
    return c;
}

void server_test::SetUp() {
    if (integration_backend_missing()) {
        GTEST_SKIP() << "PROM_TEST_BACKEND=postgres without PROM_TEST_PG_URL: run scripts/test.sh";
    }
    db_url_ = integration_db_url(dir_);  // once: restart() must find the same database
    auto n = server::node::start(make_config());
    ASSERT_TRUE(n) << n.error().message;
    node_ = std::move(*n);
}

void server_test::TearDown() {
    if (node_) node_->stop();
    node_.reset();
}

void server_test::restart() {
    node_->stop();
    node_.reset();
    auto n = server::node::start(make_config());
    ASSERT_TRUE(n) << n.error().message;
    node_ = std::move(*n);
}

document server_test::put(std::string_view collection, std::string_view key, json::object fields) {
    auto txn = db().begin();
    EXPECT_TRUE(txn) << txn.error().message;
    auto d = (*txn)->update_one(collection, key, fields, true);
    EXPECT_TRUE(d) << d.error().message;
    auto ok = (*txn)->commit();
    EXPECT_TRUE(ok) << ok.error().message;
    return *d;
}

std::vector<document> server_test::all(std::string_view collection) {
    find_query q;
    q.collection = collection;
    q.limit = 100000;
    auto r = db().find(q);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<document>{};
}

std::int64_t server_test::gauge(std::string_view name) {
    auto m = get("/metrics");
    const std::string line = "\n" + std::string(name) + " ";
    auto at = m.body.find(line);
    return at == std::string::npos ? -1 : std::stoll(m.body.substr(at + line.size()));
}

bool server_test::gauge_becomes(std::string_view name, std::int64_t want) {
    return eventually([&] { return gauge(name) == want; }, std::chrono::seconds(5));
}

}  // namespace prom::test
