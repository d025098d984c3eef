// Read-your-writes over HTTP (docs/http-api.md, "Read-your-writes"): `after`, `Prom-After`,
// `wait`, `POST /publish?wait_for=`, 422, 503 and waiters freed on disconnect. Runs on the
// integration database (SQLite, and PostgreSQL in the second ctest run) and on memory.
#include <atomic>
#include <future>
#include <thread>

#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

using namespace std::chrono_literals;

class read_your_writes : public server_test {
  protected:
    server::serve_config make_config() override {
        auto c = server_test::make_config();
        c.projectors = {"process"};  // writes `processes` and `host_stats` from process.state
        return c;
    }

    static std::string state_event(const std::string& id, int n) {
        return R"({"topic":"process.state","key":")" + id + R"(","payload":{"processId":")" + id +
               R"(","host":"h1","status":"alive","n":)" + std::to_string(n) + "}}";
    }

    // Publishes one process.state event for `id`; its seq (0 when the publish failed).
    std::int64_t publish_state(const std::string& id, int n) {
        auto r = http_request(port(), "POST", "/publish", {{"Content-Type", "application/json"}},
                              state_event(id, n));
        if (r.status != 200) return 0;
        auto v = parse_json(r.body);
        return v ? v->at("results").at(0).at("seq").to_number<std::int64_t>() : 0;
    }

    std::int64_t waiters_metric() {
        auto m = get("/metrics");
        const std::string name = "\nprom_http_cursor_waiters ";
        auto at = m.body.find(name);
        if (at == std::string::npos) return -1;
        return std::stoll(m.body.substr(at + name.size()));
    }

    // 16 clients, each publishing to its own key and reading it back with `after` (in the
    // query or the Prom-After header, alternately): every read shows the client's own write.
    void sixteen_clients_read_their_own_writes(int rounds) {
        constexpr int clients = 16;
        std::atomic<int> stale{0}, failed{0}, reads{0};
        std::vector<std::thread> threads;
        threads.reserve(clients);
        for (int c = 0; c < clients; ++c) {
            threads.emplace_back([&, c] {
                const std::string id = "client-" + std::to_string(c);
                for (int n = 1; n <= rounds; ++n) {
                    std::int64_t seq = publish_state(id, n);
                    if (seq == 0) {
                        ++failed;
                        continue;
                    }
                    const std::string at = "process.state:" + std::to_string(seq);
                    std::string by_query = "/collections/processes/snap/";
                    by_query += id;
                    by_query += "?after=";
                    by_query += at;
                    auto r = n % 2
                                 ? http_request(port(), "GET", by_query)
                                 : http_request(port(), "GET", "/snap/" + id, {{"Prom-After", at}});
                    ++reads;
                    if (r.status != 200) {
                        ++failed;
                        continue;
                    }
                    auto v = parse_json(r.body);
                    if (!v || v->at("n") != n) ++stale;
                }
            });
        }
        for (auto& th : threads) th.join();
        EXPECT_EQ(reads.load(), clients * rounds);
        EXPECT_EQ(failed.load(), 0);
        EXPECT_EQ(stale.load(), 0);
    }
};

class read_your_writes_memory : public read_your_writes {
  protected:
    server::serve_config make_config() override {
        auto c = read_your_writes::make_config();
        c.db = "memory:";
        return c;
    }
};

// 16 × 63 = 1,008 publish → read pairs.
TEST_F(read_your_writes, sixteen_clients_see_their_own_write_every_time) {
    sixteen_clients_read_their_own_writes(63);
}

TEST_F(read_your_writes_memory, sixteen_clients_see_their_own_write_every_time) {
    sixteen_clients_read_their_own_writes(63);
}

TEST_F(read_your_writes, a_list_waits_too) {
    std::int64_t seq = publish_state("p1", 1);
    ASSERT_GT(seq, 0);
    auto r = get("/collections/host_stats/list?after=process.state:" + std::to_string(seq));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(R"("_key":"h1")"), std::string::npos) << r.body;
}

TEST_F(read_your_writes, publish_wait_for_answers_once_the_collection_has_the_event) {
    auto r = http_request(port(), "POST", "/publish?wait_for=processes",
                          {{"Content-Type", "application/json"}}, state_event("w1", 7));
    ASSERT_EQ(r.status, 200) << r.body;
    auto cur = db().cursor("process.state", "processes.txn");
    ASSERT_TRUE(cur && *cur);
    EXPECT_GE(**cur, 1);
    auto doc = db().find_one("processes", "w1");
    ASSERT_TRUE(doc && *doc);
}

// Several Prom-After lines are one list (RFC 9110 5.3): each position is waited for,
// whichever line it is on; POST /publish refuses the header as it refuses ?after=.
TEST_F(read_your_writes, every_prom_after_line_counts_and_publish_refuses_the_header) {
    std::int64_t seq = publish_state("p1", 1);
    ASSERT_GT(seq, 0);
    const std::string now = "process.state:" + std::to_string(seq);
    const std::string never = "process.state:999999";
    for (const auto& [first, second] : {std::pair(now, never), std::pair(never, now)}) {
        http_connection c(port());
        std::string request =
            "GET /collections/processes/snap/p1?wait=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        for (const auto& line : {first, second})
            request.append("Prom-After: ").append(line).append("\r\n");
        request += "\r\n";
        ASSERT_TRUE(c.send_raw(request));
        auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 503) << first << " then " << second << ": " << r->body;
    }
    auto p = http_request(port(), "POST", "/publish",
                          {{"Content-Type", "application/json"}, {"Prom-After", now}},
                          state_event("w2", 7));
    EXPECT_EQ(p.status, 400) << p.body;
    EXPECT_NE(p.body.find("wait_for"), std::string::npos) << p.body;
}

TEST_F(read_your_writes, a_topic_no_projector_of_the_collection_consumes_is_422) {
    auto r = get("/collections/processes/snap/x?after=orders:1");
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_NE(r.body.find("consumes topic 'orders'"), std::string::npos) << r.body;
    auto p =
        http_request(port(), "POST", "/publish?wait_for=processes",
                     {{"Content-Type", "application/json"}}, R"({"topic":"orders","payload":1})");
    EXPECT_EQ(p.status, 422) << p.body;
    auto t = db().topic("orders");
    EXPECT_TRUE(t && !*t);  // nothing was published
}

TEST_F(read_your_writes, a_projector_that_does_not_catch_up_is_503_naming_it) {
    ASSERT_GT(publish_state("p1", 1), 0);
    auto r = get("/collections/processes/snap/p1?after=process.state:1000&wait=0");
    ASSERT_EQ(r.status, 503) << r.body;
    EXPECT_TRUE(r.header("Retry-After"));
    auto v = parse_json(r.body);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->at("error"), "not_caught_up");
    EXPECT_EQ(v->at("projector"), "process.txn");
    EXPECT_EQ(v->at("wanted"), 1000);
    EXPECT_LT(v->at("cursor").to_number<std::int64_t>(), 1000);
}

TEST_F(read_your_writes, bad_after_and_wait_are_400_with_a_message) {
    for (std::string q :
         {"after=process.state", "after=process.state:-1", "after=:5",
          "after=process.state:99999999999999999999", "after=process.state:1x",
          "after=process.state:1&wait=61", "after=process.state:1&wait=-1",
          "after=process.state:1&wait=abc", "after=process.state:1&after=a:1", "after=",
          // A misspelt parameter (found from outside: `afer=` answered at once).
          "afer=process.state:1&wait=5", "after=process.state:0&wiat=5",
          // Without a value, or encoded (found from outside: answered at once).
          "after", "wait", "after&after", "%61fter=process.state:-1"}) {
        auto r = get("/collections/processes/snap/p1?" + q);
        EXPECT_EQ(r.status, 400) << q << ": " << r.body;
        EXPECT_NE(r.body.find("\"message\""), std::string::npos) << r.body;
    }
    auto h = get("/snap/p1", {{"Prom-After", "nonsense"}});
    EXPECT_EQ(h.status, 400) << h.body;
    EXPECT_NE(h.body.find("Prom-After"), std::string::npos) << h.body;
}

// A shutdown answers a waiting read at once, as at its deadline (503 naming the projector),
// rather than cutting its connection at the shutdown deadline.
TEST_F(read_your_writes, a_shutdown_answers_a_waiting_read_at_once) {
    ASSERT_GT(publish_state("p1", 1), 0);
    auto waiting = std::async(std::launch::async, [&] {
        return get("/collections/processes/snap/p1?after=process.state:5000&wait=30");
    });
    auto until = std::chrono::steady_clock::now() + 5s;
    while (waiters_metric() != 1 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(waiters_metric(), 1);
    auto t0 = std::chrono::steady_clock::now();
    node_->stop();
    auto r = waiting.get();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);
    ASSERT_EQ(r.status, 503) << r.body;
    auto v = parse_json(r.body);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->at("error"), "not_caught_up");
    EXPECT_EQ(v->at("wanted"), 5000);
}

TEST_F(read_your_writes, a_client_that_goes_away_while_waiting_frees_its_waiter) {
    {
        http_connection c(port());
        ASSERT_TRUE(c.connected());
        ASSERT_TRUE(
            c.send_raw("GET /collections/processes/snap/p?after=process.state:5000"
                       "&wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        auto until = std::chrono::steady_clock::now() + 5s;
        while (waiters_metric() != 1 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(10ms);
        }
        EXPECT_EQ(waiters_metric(), 1);
    }  // closes the socket
    auto until = std::chrono::steady_clock::now() + 5s;
    while (waiters_metric() != 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(waiters_metric(), 0);
}

}  // namespace
}  // namespace prom::test
