// The database goes away mid-stream and comes back: publishes fail with
// `unavailable` meanwhile, nothing crashes, everything resumes, no acknowledged event is
// lost. Runs on a private throwaway cluster (scripts/pg-throwaway.sh), so stopping it does
// not disturb tests running beside it; only when PROM_TEST_PG_URL says PostgreSQL is here.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "prom/bus.hpp"
#include "server/node.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

const std::string script = std::string(PROM_SOURCE_DIR) + "/scripts/pg-throwaway.sh";

// A cluster of our own: started by the constructor, removed by the destructor.
class private_cluster {
  public:
    private_cluster() {
        FILE* out = ::popen(("bash '" + script + "' start").c_str(), "r");
        if (!out) return;
        char line[1024];
        while (std::fgets(line, sizeof line, out)) {
            std::string l(line);
            while (!l.empty() && l.back() == '\n') l.pop_back();
            if (l.starts_with("export PROM_TEST_PG_URL=")) url_ = l.substr(24);
            if (l.starts_with("export PROM_PG_DIR=")) dir_ = l.substr(19);
        }
        if (::pclose(out) != 0) url_.clear();
    }
    ~private_cluster() {
        if (!dir_.empty()) (void)std::system(("bash '" + script + "' stop '" + dir_ + "'").c_str());
    }
    bool ok() const { return !url_.empty() && !dir_.empty(); }
    const std::string& url() const { return url_; }
    // `immediate` stops the server the way a crash would: no checkpoint, WAL replay at start.
    bool pause(bool immediate) { return run("pause", immediate); }
    bool resume() { return run("resume"); }

  private:
    bool run(const char* what, bool immediate = false) {
        std::string cmd = "bash '" + script + "' " + what + " '" + dir_ + "'";
        if (immediate) cmd += " immediate";
        return std::system(cmd.c_str()) == 0;
    }
    std::string url_, dir_;
};

class pg_restart : public testing::TestWithParam<test::backend> {
  protected:
    void outage_mid_stream(bool crash);
};

TEST_P(pg_restart, publishing_fails_with_unavailable_while_the_database_is_away_then_resumes) {
    outage_mid_stream(false);
}

// `prom serve` started while the database is still down waits for it (db_wait) instead of
// exiting: services and their database often start side by side.
TEST_P(pg_restart, serve_waits_for_a_database_that_is_not_up_yet) {
    private_cluster cluster;
    ASSERT_TRUE(cluster.ok()) << "could not start a private PostgreSQL with " << script;
    ASSERT_TRUE(cluster.pause(false));
    std::thread later([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        (void)cluster.resume();
    });
    server::serve_config c;
    c.db = cluster.url();
    c.port = 0;
    c.projectors.clear();
    c.db_wait = std::chrono::seconds(30);
    auto n = server::node::start(c);
    later.join();
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_TRUE((*n)->storage().topics());
    (*n)->stop();

    c.db_wait = std::chrono::milliseconds(0);  // and without a wait, a clear error at once
    ASSERT_TRUE(cluster.pause(false));
    auto refused = server::node::start(c);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, errc::unavailable);
    (void)cluster.resume();
}

// The start-up wait must not hold a server that is told to stop (SIGINT/SIGTERM in prom
// serve request the stop token), nor wait out errors that no wait can heal: an unknown
// database (3D000) or role (28000) fails at once with the server's own message. The bounds
// are far below db_wait (30 s), not measurements.
TEST_P(pg_restart, the_start_up_wait_ends_at_a_stop_request_and_on_errors_that_cannot_heal) {
    private_cluster cluster;
    ASSERT_TRUE(cluster.ok()) << "could not start a private PostgreSQL with " << script;
    server::serve_config c;
    c.port = 0;
    c.projectors.clear();
    c.db_wait = std::chrono::seconds(30);

    const std::string url = cluster.url();  // postgresql://postgres@127.0.0.1:PORT/prom_test
    auto with = [&](std::string from, std::string to) {
        std::string u = url;
        u.replace(u.find(from), from.size(), to);
        return u;
    };
    for (const auto& [bad_url, says] : std::vector<std::pair<std::string, std::string>>{
             {with("/prom_test", "/prom_no_such_database"),
              "\"prom_no_such_database\" does not exist"},
             {with("postgres@", "prom_no_such_role@"), "\"prom_no_such_role\" does not exist"}}) {
        c.db = bad_url;
        auto began = std::chrono::steady_clock::now();
        auto refused = server::node::start(c);
        ASSERT_FALSE(refused) << bad_url;
        EXPECT_LT(std::chrono::steady_clock::now() - began, 10s) << bad_url;
        EXPECT_NE(refused.error().code, errc::unavailable) << refused.error().message;
        EXPECT_NE(refused.error().message.find(says), std::string::npos) << refused.error().message;
    }

    ASSERT_TRUE(cluster.pause(false));
    c.db = url;
    std::stop_source stop;
    std::thread signal([&] {
        std::this_thread::sleep_for(500ms);
        stop.request_stop();  // what SIGINT/SIGTERM do in prom serve
    });
    auto began = std::chrono::steady_clock::now();
    auto stopped = server::node::start(c, stop.get_token());
    auto took = std::chrono::steady_clock::now() - began;
    signal.join();
    ASSERT_FALSE(stopped);
    EXPECT_EQ(stopped.error().code, errc::cancelled) << stopped.error().message;
    EXPECT_LT(took, 10s);
    (void)cluster.resume();
}

// pg_ctl stop -m immediate: the server dies without a checkpoint and replays its WAL on
// start. Every acknowledged append was flushed before it was acknowledged, so it survives.
TEST_P(pg_restart, no_acknowledged_event_is_lost_when_the_database_crashes) {
    outage_mid_stream(true);
}

void pg_restart::outage_mid_stream(bool crash) {
    private_cluster cluster;
    ASSERT_TRUE(cluster.ok()) << "could not start a private PostgreSQL with " << script;
    const std::string url = cluster.url() + "?schema=restart";
    auto writer = test::open_or_die(url);  // durable: acknowledged means flushed
    auto reader = test::open_or_die(url);
    ASSERT_NE(writer, nullptr);
    ASSERT_NE(reader, nullptr);
    auto watcher = test::open_or_die(url);
    ASSERT_NE(watcher, nullptr);

    // A subscriber on the other store: at-least-once, so it may see an event again after
    // the outage, but it must see every one.
    std::mutex mu;
    std::condition_variable cv;
    std::set<seq_t> delivered;
    bus consumer_bus(*reader);
    auto sub = consumer_bus.subscribe("t", "g",
                                      [&](std::span<const event> batch, subscription&) {
                                          std::lock_guard lock(mu);
                                          for (auto& e : batch) delivered.insert(e.seq);
                                          cv.notify_all();
                                      },
                                      {.lease_ttl = 2s});

    // One publisher that retries each event (same id) until it is acknowledged.
    constexpr int total = 400;
    std::map<std::string, seq_t> acked;
    std::vector<errc> errors;
    std::atomic<int> acked_count{0};
    std::atomic<bool> give_up{false};
    std::thread publisher([&] {
        for (int i = 0; i < total && !give_up;) {
            std::vector<event_input> one(1);
            one[0].topic = "t";
            one[0].id = "e-" + std::to_string(i);
            one[0].payload = i;
            auto r = writer->append(std::move(one));
            if (r) {
                acked[r->front().id] = r->front().seq;
                acked_count = ++i;
            } else {
                errors.push_back(r.error().code);
                std::this_thread::sleep_for(20ms);
            }
        }
    });

    auto wait_acked = [&](int n) {
        for (auto deadline = std::chrono::steady_clock::now() + 60s;
             acked_count < n && std::chrono::steady_clock::now() < deadline;) {
            std::this_thread::sleep_for(5ms);
        }
        return acked_count >= n;
    };
    EXPECT_TRUE(wait_acked(150));
    ASSERT_TRUE(cluster.pause(crash));
    const int acked_before_outage = acked_count;
    std::this_thread::sleep_for(700ms);
    // While it is away: opening fails cleanly, and the publisher makes no progress.
    auto during = open_store(url);
    ASSERT_FALSE(during);
    EXPECT_EQ(during.error().code, errc::unavailable);
    EXPECT_LE(acked_count - acked_before_outage, 1);  // at most one in flight at the stop
    ASSERT_TRUE(cluster.resume());

    bool finished = wait_acked(total);
    give_up = true;
    publisher.join();
    ASSERT_TRUE(finished) << "publishing did not resume: " << acked_count << " acknowledged";

    ASSERT_FALSE(errors.empty()) << "the outage went unnoticed";
    for (auto code : errors) EXPECT_EQ(code, errc::unavailable) << to_string(code);

    // Nothing acknowledged was lost; the log is gapless; every ack names the stored seq.
    auto evs = writer->scan({.topic = "t"});
    ASSERT_TRUE(evs) << evs.error().message;
    ASSERT_EQ(evs->size(), static_cast<std::size_t>(total));
    for (std::size_t i = 0; i < evs->size(); ++i) {
        const event& e = (*evs)[i];
        EXPECT_EQ(e.seq, static_cast<seq_t>(i + 1));
        auto a = acked.find(e.id);
        ASSERT_NE(a, acked.end()) << e.id << " stored but never acknowledged";
        EXPECT_EQ(a->second, e.seq) << e.id;
    }

    // The watcher's listener reconnected: another store's commit wakes a waiter at once.
    // (The watcher does nothing itself, so only its listener can move its version; its
    // reconnect backoff is at most 1 s, so by now it is back.)
    std::this_thread::sleep_for(1500ms);
    for (int round = 0; round < 3; ++round) {
        auto v = watcher->change_version();
        auto start = std::chrono::steady_clock::now();
        std::vector<event_input> one(1);
        one[0].topic = "wake";
        one[0].payload = round;
        ASSERT_TRUE(writer->append(std::move(one)));
        watcher->wait_for_change(v, 10s);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "round " << round;
    }

    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 30s, [&] { return delivered.size() >= total; }))
        << "the subscriber got " << delivered.size() << " of " << total;
    EXPECT_EQ(delivered.size(), static_cast<std::size_t>(total));
    lock.unlock();
    sub.reset();
    EXPECT_EQ(consumer_bus.cursor("t", "g").value(), total);
}

INSTANTIATE_TEST_SUITE_P(backends, pg_restart, testing::ValuesIn(test::postgres_backends()),
                         test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_restart);

}  // namespace
}  // namespace prom
