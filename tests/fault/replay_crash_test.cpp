// The bulk replayer under kill -9 (docs/operations.md): a 100,000-event replay killed at
// random points and run again until it finishes leaves each matching event in DST exactly
// once, mapped. SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <thread>

#include "ops/replayer.hpp"
#include "support/child_process.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

using test::spawn;
using test::wait_exit;

class replay_crash : public testing::TestWithParam<test::backend> {};

TEST_P(replay_crash, a_replay_killed_at_random_points_copies_each_event_once) {
    constexpr int events = 100'000;
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    {
        auto s = test::open_or_die(url, {.durable = false});
        std::vector<event_input> batch;
        for (int i = 1; i <= events; ++i) {
            batch.push_back({.topic = "src",
                             .id = "e" + std::to_string(i),
                             .key = "k" + std::to_string(i % 97),
                             .ts = ts_ms{1'000'000 + i},
                             .payload = json::object{{"n", i}, {"keep", i % 3 != 0}}});
            if (batch.size() == 5000) {
                ASSERT_TRUE(s->append(std::move(batch)));
                batch.clear();
            }
        }
    }
    const std::vector<std::string> args{PROM_BINARY,  "replay",
                                        "src",        "dst",
                                        "--where",    R"({"payload.keep": true})",
                                        "--map",      R"({"n": "$payload.n", "from": "$id"})",
                                        "--batch",    "500",
                                        "--progress", "none",
                                        "--db",       url};
    std::mt19937 rng(20261202);
    std::uniform_int_distribution<int> delay_ms(150, 1200);
    int kills = 0, runs = 0;
    for (;;) {
        ASSERT_LT(runs, 200) << "the replay never finished";
        ++runs;
        pid_t child = spawn(args, /*quiet=*/true);
        const auto wait = std::chrono::milliseconds(delay_ms(rng));
        std::this_thread::sleep_for(wait);
        int rc = 0;
        int status = 0;
        if (::waitpid(child, &status, WNOHANG) == child) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        } else if (kills < 6) {
            ::kill(child, SIGKILL);
            rc = wait_exit(child);
            if (rc == -SIGKILL) {
                ++kills;
                continue;
            }
        } else {
            rc = wait_exit(child);
        }
        if (rc == 0) break;
        // Exit 2 right after a kill: the killed run's lease has not lapsed yet (5 s).
        ASSERT_EQ(rc, 2) << "run " << runs;
        std::this_thread::sleep_for(1s);
    }
    auto s = test::open_or_die(url, {.durable = false});
    auto out = s->scan({.topic = "dst"});
    ASSERT_TRUE(out);
    const std::size_t expected = events - events / 3;
    ASSERT_EQ(out->size(), expected) << kills << " kills, " << runs << " runs";
    std::set<std::string> sources;
    std::int64_t prev_n = 0;
    for (const auto& e : *out) {
        const auto n = e.payload.at("n").as_int64();
        EXPECT_NE(n % 3, 0);
        EXPECT_GT(n, prev_n);  // in source order, each once
        prev_n = n;
        EXPECT_EQ(e.payload.at("from").as_string(), "e" + std::to_string(n));
        EXPECT_EQ(e.ts, 1'000'000 + n);
        sources.insert(e.headers.at("prom-source-id"));
    }
    EXPECT_EQ(sources.size(), expected);
    EXPECT_EQ(s->cursor("src", ops::replay_group("dst"))->value_or(seq_t{}), events);
    std::printf("[ crash ] %s: replay of %d events, %d kills, %d runs\n", GetParam().name.c_str(),
                events, kills, runs);
}

INSTANTIATE_TEST_SUITE_P(backends, replay_crash, testing::ValuesIn(test::durable_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
