// Kill -9 at random moments while heartbeats flow through both process projectors and two
// user-defined ones (declarative and Lua); then the read models must equal the log exactly
// and every emit be there once (docs/projectors.md, "Exactly once").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <thread>

#include "projector/process_handlers.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

pid_t spawn(const std::vector<std::string>& args) {
    pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::vector<event> all_events(store& s, const std::string& topic) {
    auto r = s.scan({.topic = topic});
    EXPECT_TRUE(r);
    return r ? *r : std::vector<event>{};
}

class projector_crash : public testing::TestWithParam<test::backend> {};

TEST_P(projector_crash, read_models_equal_the_log_after_random_kill_9s) {
    test::temp_dir dir;
    const std::string db = GetParam().fresh_url(dir);
    const unsigned seed = 20261126;
    std::mt19937 rng(seed);
    constexpr int kills = 24;
    for (int k = 0; k < kills; ++k) {
        pid_t child = spawn({PROM_CRASH_CHILD, db, "publish", std::to_string(seed + k)});
        ASSERT_GT(child, 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 250));
        ::kill(child, SIGKILL);
        EXPECT_EQ(wait_exit(child), -SIGKILL) << "kill " << k;
    }
    pid_t drain = spawn({PROM_CRASH_CHILD, db, "drain"});
    ASSERT_EQ(wait_exit(drain), 0);

    auto s = test::open_or_die(db);
    ASSERT_NE(s, nullptr);
    auto heartbeats = all_events(*s, "heartbeat.received");
    auto states = all_events(*s, "process.state");
    ASSERT_GT(heartbeats.size(), 100u) << "the children published too little to test anything";

    // Every heartbeat has exactly one derived process.state (ids are unique per topic).
    std::map<std::string, int> derived;
    for (auto& e : states) derived[e.id] += 1;
    for (auto& hb : heartbeats) {
        ASSERT_EQ(derived[process::derived_state_id(hb.id)], 1) << hb.id;
    }
    EXPECT_EQ(states.size(), heartbeats.size());

    // host_stats.seen equals the number of process.state events of that host. Exactly.
    std::map<std::string, std::int64_t> per_host;
    for (auto& e : states) per_host[std::string(e.payload.at("host").get_string())] += 1;
    for (auto& [host, n] : per_host) {
        auto d = s->find_one("host_stats", host);
        ASSERT_TRUE(d && *d) << host;
        auto v = parse_json((*d)->body);
        EXPECT_EQ(v->at("seen").as_int64(), n) << host;
    }

    // processes equals a replay from scratch into empty collections.
    auto fresh = test::open_or_die("memory:");
    {
        auto txn = fresh->begin();
        ASSERT_TRUE(txn);
        for (auto& e : states) ASSERT_TRUE(process::project_process_state(e, **txn));
        ASSERT_TRUE((*txn)->commit());
    }
    auto replayed = fresh->find({.collection = "processes", .limit = 100000});
    auto actual = s->find({.collection = "processes", .limit = 100000});
    ASSERT_TRUE(replayed && actual);
    ASSERT_EQ(replayed->size(), actual->size());
    for (std::size_t i = 0; i < actual->size(); ++i) {
        EXPECT_EQ((*actual)[i].body, (*replayed)[i].body);
        EXPECT_EQ((*actual)[i].etag, (*replayed)[i].etag);
    }
    auto replayed_hosts = fresh->find({.collection = "host_stats", .limit = 1000});
    auto actual_hosts = s->find({.collection = "host_stats", .limit = 1000});
    ASSERT_EQ(replayed_hosts->size(), actual_hosts->size());
    for (std::size_t i = 0; i < actual_hosts->size(); ++i) {
        EXPECT_EQ((*actual_hosts)[i].body, (*replayed_hosts)[i].body);
    }
    // The user-defined projectors (crash_child.cpp): counts exact, every emit exactly once,
    // u_procs byte-identical to the replay of the built-in projector.
    for (const char* coll : {"u_hosts", "u_lua_hosts"}) {
        for (auto& [host, n] : per_host) {
            auto d = s->find_one(coll, host);
            ASSERT_TRUE(d && *d) << coll << " " << host;
            EXPECT_EQ(parse_json((*d)->body)->at("seen").as_int64(), n) << coll << " " << host;
        }
    }
    for (const char* topic : {"u.audit", "u.lua.audit"}) {
        auto audit = all_events(*s, topic);
        EXPECT_EQ(audit.size(), states.size()) << topic;
        std::map<std::int64_t, int> per_seq;
        for (auto& e : audit) per_seq[e.payload.at("seq").as_int64()] += 1;
        EXPECT_EQ(per_seq.size(), states.size()) << topic;
        for (auto& [seq, n] : per_seq) EXPECT_EQ(n, 1) << topic << " seq " << seq;
    }
    auto user_procs = s->find({.collection = "u_procs", .limit = 100000});
    ASSERT_TRUE(user_procs);
    ASSERT_EQ(user_procs->size(), replayed->size());
    for (std::size_t i = 0; i < user_procs->size(); ++i) {
        EXPECT_EQ((*user_procs)[i].body, (*replayed)[i].body);
        EXPECT_EQ((*user_procs)[i].etag, (*replayed)[i].etag);
    }
    std::printf("[ crash ] %d kills, %zu heartbeats, %zu process.state, %zu processes\n", kills,
                heartbeats.size(), states.size(), actual->size());
}

INSTANTIATE_TEST_SUITE_P(backends, projector_crash, testing::ValuesIn(test::durable_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
