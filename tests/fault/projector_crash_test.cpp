// Kill -9 at random moments while heartbeats flow through both process projectors and two
// user-defined ones (declarative and Lua); then the read models must equal the log exactly
// and every emit be there once (docs/projectors.md, "Exactly once").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "projector/process_handlers.hpp"
#include "prom/timetravel.hpp"
#include "support/child_process.hpp"
#include "support/sanitizer.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

using test::spawn;
using test::wait_exit;

std::vector<event> all_events(store& s, const std::string& topic) {
    auto r = s.scan({.topic = topic});
    EXPECT_TRUE(r);
    return r ? *r : std::vector<event>{};
}

class projector_crash : public testing::TestWithParam<test::backend> {};

// How many kills per backend: PROM_CRASH_KILLS (scripts/soak.sh raises it), else 24; 12
// under a sanitizer, whose children live `sanitizer::slowdown` times longer each (below), so
// that the run still fits ctest's timeout.
int kill_count() {
    const char* env = std::getenv("PROM_CRASH_KILLS");
    int n = env ? std::atoi(env) : 0;
    return n > 0 ? n : test::sanitizer::slowdown > 1 ? 12 : 24;
}

// The ids the children recorded (crash_child.cpp, acked_log): an id is counted only whole,
// ending with ';'; a kill may have cut the last one of a batch.
std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == ';') out.push_back(line.substr(0, line.size() - 1));
    }
    return out;
}

TEST_P(projector_crash, read_models_equal_the_log_after_random_kill_9s) {
    test::temp_dir dir;
    const std::string db = GetParam().fresh_url(dir);
    const std::string acked_file = dir.file("acked.txt");
    const unsigned seed = 20261126;
    std::mt19937 rng(seed);
    const int kills = kill_count();
    int gateway_kills = 0;
    for (int k = 0; k < kills; ++k) {
        // Every third child publishes through its own server's WebSocket gateway (which
        // also runs the projectors); the others through the bus, with time-travel reads
        // writing snapshots beside them.
        const bool gateway = k % 3 == 2;
        gateway_kills += gateway ? 1 : 0;
        pid_t child = spawn({PROM_CRASH_CHILD, db, gateway ? "gateway" : "publish",
                             std::to_string(seed + k), acked_file});
        ASSERT_GT(child, 0);
        // A child's life, stretched under a sanitizer: it starts up (opens the database,
        // starts four projectors, compiles Lua) that many times slower too, and a child
        // killed before its first publish would test only the restart.
        const auto life = std::chrono::milliseconds((gateway ? 150 : 30) + rng() % 250);
        std::this_thread::sleep_for(life * test::sanitizer::slowdown);
        ::kill(child, SIGKILL);
        EXPECT_EQ(wait_exit(child), -SIGKILL) << "kill " << k << (gateway ? " (gateway)" : "");
    }
    pid_t drain = spawn({PROM_CRASH_CHILD, db, "drain"});
    ASSERT_EQ(wait_exit(drain), 0);

    auto s = test::open_or_die(db);
    ASSERT_NE(s, nullptr);
    auto heartbeats = all_events(*s, "heartbeat.received");
    auto states = all_events(*s, "process.state");
    ASSERT_GT(heartbeats.size(), 100u) << "the children published too little to test anything";

    // No acknowledged event is lost, and none is stored twice.
    std::map<std::string, int> stored;
    for (auto& hb : heartbeats) stored[hb.id] += 1;
    for (auto& [id, n] : stored) ASSERT_EQ(n, 1) << id;
    auto acked = lines_of(acked_file);
    ASSERT_GT(acked.size(), 100u);
    for (auto& id : acked) ASSERT_EQ(stored.count(id), 1u) << "acknowledged but lost: " << id;

    // Snapshots written by time-travel reads that were killed mid-way give the same states
    // as a fold from each key's first event, at the end and half-way through.
    {
        time_machine with_snapshots(*s);
        time_machine without(*s, {.use_snapshots = false});
        auto merge = merge_reducer();
        std::map<std::string, ts_ms> keys;
        for (auto& hb : heartbeats) keys[hb.key] = std::max(keys[hb.key], hb.ts);
        const ts_ms half = heartbeats[heartbeats.size() / 2].ts;
        for (auto& [key, last] : keys) {
            for (ts_ms t : {half, last}) {
                auto a = with_snapshots.at("heartbeat.received", key, t, merge);
                auto b = without.at("heartbeat.received", key, t, merge);
                ASSERT_TRUE(a && b) << key;
                ASSERT_EQ(a->has_value(), b->has_value()) << key << " at " << t;
                if (!a->has_value()) continue;
                EXPECT_EQ((*a)->seq, (*b)->seq) << key << " at " << t;
                EXPECT_EQ(canonical_json((*a)->state), canonical_json((*b)->state)) << key;
            }
        }
    }

    // Every heartbeat has exactly one derived process.state (ids are unique per topic).
    std::map<std::string, int> derived;
    for (auto& e : states) derived[e.id] += 1;
    for (auto& hb : heartbeats) {
        ASSERT_EQ(derived[process::derived_state_id(hb)], 1) << hb.id;
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
    std::printf(
        "[ crash ] %s: %d kills (%d through the gateway), %zu heartbeats (%zu acknowledged, none "
        "lost), %zu process.state, %zu processes\n",
        GetParam().name.c_str(), kills, gateway_kills, heartbeats.size(), acked.size(),
        states.size(), actual->size());
}

INSTANTIATE_TEST_SUITE_P(backends, projector_crash, testing::ValuesIn(test::durable_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
