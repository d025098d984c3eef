// Retention passes and erasures under kill -9 (docs/retention.md): a child runs the list of
// retention_crash_plan.hpp and is killed at random points, 50 runs, in rounds on fresh topics
// (a round ends when a run completes); after each kill and after each completed run, no event the
// policies keep is lost, no key is half dropped (every missing event is covered by its key's record
// and the time-travel oracle holds for every key), and an erased key is either wholly there or
// wholly erased with one marker. SQLite, and PostgreSQL when PROM_TEST_PG_URL is set.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "fault/retention_crash_plan.hpp"
#include "prom/timetravel.hpp"
#include "support/child_process.hpp"
#include "support/retention_oracle.hpp"
#include "support/sanitizer.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

namespace plan = test::retention_crash;
using test::logged_event;

// How many runs per backend: PROM_CRASH_KILLS (scripts/soak.sh raises it), else 50; 20
// under a sanitizer, whose children are that many times slower.
int run_count() {
    const char* env = std::getenv("PROM_CRASH_KILLS");
    int n = env ? std::atoi(env) : 0;
    return n > 0 ? n : test::sanitizer::slowdown > 1 ? 20 : 50;
}

struct topic_history {
    std::vector<logged_event> events;  // in seq order
    std::set<seq_t> dropped;           // what the whole list drops
    std::set<std::string> keys;
};

json::value payload_for(std::mt19937_64& rng, std::int64_t n) {
    json::object o{{"n", n}};
    if (rng() % 3 == 0) o["x"] = static_cast<std::int64_t>(rng() % 100);
    if (rng() % 5 == 0) o["x"] = nullptr;
    return o;
}

seq_t append(store& s, const std::string& topic, const std::string& key, std::int64_t ts,
             json::value payload) {
    std::vector<event_input> batch(1);
    batch[0] = {.topic = topic, .key = key, .ts = ts_ms{ts}, .payload = std::move(payload)};
    auto r = s.append(std::move(batch));
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->front().seq : seq_t{};
}

// ret.c.N: 30 keys with random (out-of-order) ts, and keyless events compaction never drops.
topic_history fill_compacted(store& s, const std::string& topic, std::mt19937_64& rng) {
    topic_history h;
    std::uniform_int_distribution<std::int64_t> ts(1'000'000, 1'999'999);
    for (int i = 0; i < 2500; ++i) {
        std::string key = rng() % 11 == 0 ? "" : "c" + std::to_string(rng() % 30);
        const std::int64_t t = ts(rng);
        auto payload = payload_for(rng, i);
        const seq_t seq = append(s, topic, key, t, payload);
        h.events.push_back({key, ts_ms{t}, seq, std::move(payload)});
        if (!key.empty()) h.keys.insert(key);
    }
    // The whole list: compaction at the second (greater) cutoff.
    std::map<std::string, std::vector<const logged_event*>> per_key;
    for (const auto& e : h.events) {
        if (!e.key.empty()) per_key[e.key].push_back(&e);
    }
    for (auto& [key, evs] : per_key) {
        const logged_event* last_before = nullptr;
        for (const auto* e : evs) {
            if (e->ts < plan::second_cutoff &&
                (!last_before ||
                 std::pair(e->ts, e->seq) > std::pair(last_before->ts, last_before->seq))) {
                last_before = e;
            }
        }
        for (const auto* e : evs) {
            if (e->ts < plan::second_cutoff && e != last_before && e != evs.back()) {
                h.dropped.insert(e->seq);
            }
        }
    }
    return h;
}

// ret.r.N: roughly rising ts; retain by age, then by count: the longer prefix goes.
topic_history fill_retained(store& s, const std::string& topic, std::mt19937_64& rng) {
    topic_history h;
    for (int i = 0; i < 1500; ++i) {
        std::string key = rng() % 10 == 0 ? "" : "r" + std::to_string(rng() % 20);
        const std::int64_t t = 1'000'000 + i * 650 + static_cast<std::int64_t>(rng() % 6000) - 3000;
        auto payload = payload_for(rng, i);
        const seq_t seq = append(s, topic, key, t, payload);
        h.events.push_back({key, ts_ms{t}, seq, std::move(payload)});
        if (!key.empty()) h.keys.insert(key);
    }
    std::size_t aged = 0;
    while (aged < h.events.size() && h.events[aged].ts < plan::age_cutoff) ++aged;
    const std::size_t prefix =
        std::max(aged, h.events.size() - static_cast<std::size_t>(plan::keep_count));
    for (std::size_t i = 0; i < prefix; ++i) h.dropped.insert(h.events[i].seq);
    return h;
}

struct erased_history {
    std::map<std::string, int> events, dead_letters;  // per key, as appended
};

erased_history fill_erased(store& s, const std::string& topic) {
    erased_history h;
    std::vector<std::string> keys = plan::erased_keys();
    for (int i = 0; i < 3; ++i) keys.push_back("f" + std::to_string(i));  // never erased
    for (int n = 0; n < 20; ++n) {
        for (const auto& key : keys) {
            append(s, topic, key, 1'000'000 + n,
                   json::object{{"secret", "S-" + key + "-" + std::to_string(n)}});
            ++h.events[key];
        }
    }
    for (const auto& key : keys) {
        if (key == "f2") continue;
        for (int i = 0; i < 3; ++i) {
            append(s, topic + ".dlq", key, 1'000'100 + i, json::object{{"dead", "S-" + key}});
            ++h.dead_letters[key];
        }
    }
    return h;
}

class retention_crash : public testing::TestWithParam<test::backend> {
  protected:
    // A killed child's lease would hold its topic until it expires: the test, knowing the
    // child is dead, revokes it the way an operator would.
    static void clear_leases(store& s) {
        auto leases = s.list_leases("prom.retention/");
        ASSERT_TRUE(leases);
        for (const auto& l : *leases) {
            ASSERT_TRUE(s.seize_lease(l.name, "crash-test", std::chrono::milliseconds(1)));
            ASSERT_TRUE(s.release_lease(l.name, "crash-test"));
        }
    }

    static void verify_topic(store& s, const std::string& topic, const topic_history& h, bool final,
                             std::mt19937_64& rng, const std::string& when) {
        auto scanned = s.scan({.topic = topic});
        ASSERT_TRUE(scanned) << when;
        std::map<seq_t, const event*> alive;
        for (const auto& e : *scanned) alive[e.seq] = &e;
        std::map<std::string, std::optional<key_horizon>> records;
        for (const auto& key : h.keys) {
            auto r = s.find_key_horizon(topic, key);
            ASSERT_TRUE(r) << when;
            records[key] = *r;
        }
        ASSERT_LE(alive.size(), h.events.size()) << when;
        for (const auto& e : h.events) {
            auto it = alive.find(e.seq);
            if (it != alive.end()) {
                ASSERT_EQ(it->second->key, e.key) << when << " seq " << e.seq;
                ASSERT_EQ(it->second->ts, e.ts) << when << " seq " << e.seq;
                ASSERT_EQ(canonical_json(it->second->payload), canonical_json(e.payload)) << when;
                ASSERT_FALSE(final && h.dropped.contains(e.seq))
                    << when << ": seq " << e.seq << " survived the completed run";
                continue;
            }
            // Missing: the policies drop it, and its key's record covers it.
            ASSERT_TRUE(h.dropped.contains(e.seq))
                << when << ": " << topic << " seq " << e.seq << " lost, the policies keep it";
            if (e.key.empty()) continue;
            const auto& rec = records[e.key];
            ASSERT_TRUE(rec) << when << ": " << topic << "/" << e.key << " lost seq " << e.seq
                             << " without a record (half dropped)";
            ASSERT_LE(rec->gone_from, e.ts) << when << " " << e.key;
            ASSERT_LE(std::pair(e.ts, e.seq), std::pair(rec->base_ts, rec->base_seq))
                << when << " " << e.key;
        }
        ASSERT_EQ(alive.size(), scanned->size()) << when;

        // Time travel against the full history, at each record's edges and at random.
        time_machine tm(s);
        for (const auto& key : h.keys) {
            const auto& rec = records[key];
            std::vector<ts_ms> ts{ts_ms::max()};
            if (rec) {
                ts.insert(ts.end(),
                          {rec->gone_from - 1, rec->gone_from, rec->base_ts - 1, rec->base_ts});
            }
            for (int i = 0; i < 3; ++i) ts.push_back(h.events[rng() % h.events.size()].ts);
            for (ts_ms t : ts) {
                for (const auto& r : {replace_reducer(), merge_reducer()}) {
                    ASSERT_TRUE(
                        test::honest_answer(tm.at(topic, key, t, r), h.events, key, t, r, rec))
                        << when << ": " << topic << "/" << key << " at " << t << " (" << r.name
                        << ")";
                }
            }
        }
    }

    static void verify_erased(store& s, const std::string& topic, const erased_history& h,
                              bool final, const std::string& when) {
        const std::set<std::string> erasable = [] {
            auto k = plan::erased_keys();
            return std::set<std::string>(k.begin(), k.end());
        }();
        for (const auto& [key, count] : h.events) {
            auto evs = s.scan({.topic = topic, .key = key});
            auto dead = s.scan({.topic = topic + ".dlq", .key = key});
            ASSERT_TRUE(evs && dead) << when;
            int originals = 0, markers = 0;
            for (const auto& e : *evs) {
                if (e.headers.contains("prom-erased")) {
                    ++markers;
                    EXPECT_TRUE(e.payload.is_null()) << when << " " << key;
                } else {
                    ++originals;
                }
            }
            const int dead_count = static_cast<int>(dead->size());
            const int dead_want = h.dead_letters.contains(key) ? h.dead_letters.at(key) : 0;
            const bool whole = originals == count && dead_count == dead_want && markers == 0;
            const bool erased = originals == 0 && dead_count == 0 && markers == 1;
            if (!erasable.contains(key)) {
                ASSERT_TRUE(whole) << when << ": untouched key " << key << " changed";
            } else if (final) {
                ASSERT_TRUE(erased)
                    << when << ": " << key << " not erased: " << originals << " events, "
                    << dead_count << " dead letters, " << markers << " markers";
            } else {
                ASSERT_TRUE(whole || erased)
                    << when << ": " << key << " half erased: " << originals << " events, "
                    << dead_count << " dead letters, " << markers << " markers";
            }
        }
    }

    static void verify_all(const std::string& url, int round, const topic_history& compacted,
                           const topic_history& retained, const erased_history& erased, bool final,
                           std::mt19937_64& rng, const std::string& when) {
        auto s = test::open_or_die(url, {.durable = false});
        ASSERT_NE(s, nullptr);
        verify_topic(*s, plan::compacted_topic(round), compacted, final, rng, when);
        verify_topic(*s, plan::retained_topic(round), retained, final, rng, when);
        verify_erased(*s, plan::erased_topic(round), erased, final, when);
    }
};

TEST_P(retention_crash, passes_and_erasures_killed_at_random_points_lose_nothing_they_keep) {
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    const std::uint64_t seed = 20261202;
    std::mt19937_64 rng(seed);
    const int runs = run_count();
    int killed = 0, completed = 0, round = -1;
    std::size_t dropped = 0;
    topic_history compacted, retained;
    erased_history erased;
    const auto fill = [&] {
        ++round;
        auto s = test::open_or_die(url, {.durable = false});
        ASSERT_NE(s, nullptr);
        compacted = fill_compacted(*s, plan::compacted_topic(round), rng);
        retained = fill_retained(*s, plan::retained_topic(round), rng);
        erased = fill_erased(*s, plan::erased_topic(round));
        dropped += compacted.dropped.size() + retained.dropped.size();
    };
    fill();
    for (int run = 0; run < runs; ++run) {
        const std::string when = "round " + std::to_string(round) + ", after run " +
                                 std::to_string(run) + " (seed " + std::to_string(seed) + ")";
        pid_t child = test::spawn({PROM_RETENTION_CHILD, url, std::to_string(round)},
                                  /*quiet=*/true);
        ASSERT_GT(child, 0);
        const auto life = std::chrono::milliseconds(30 + rng() % 450);
        std::this_thread::sleep_for(life * test::sanitizer::slowdown);
        int status = 0;
        bool done = false;
        if (::waitpid(child, &status, WNOHANG) == child) {
            ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << when;
            ++completed;
            done = true;
        } else {
            ::kill(child, SIGKILL);
            const int exit = test::wait_exit(child);
            if (exit == 0) {
                // It finished between the check above and the kill (seen under ASan).
                ++completed;
                done = true;
            } else {
                ASSERT_EQ(exit, -SIGKILL) << when;
                ++killed;
            }
        }
        {
            auto s = test::open_or_die(url, {.durable = false});
            clear_leases(*s);
        }
        verify_all(url, round, compacted, retained, erased, done, rng, when);
        if (HasFatalFailure()) return;
        if (done) fill();  // the next round, on fresh topics
        if (HasFatalFailure()) return;
    }
    // The last round, resumed by a run that is not killed.
    pid_t last = test::spawn({PROM_RETENTION_CHILD, url, std::to_string(round)}, /*quiet=*/true);
    ASSERT_EQ(test::wait_exit(last), 0) << "the last, uninterrupted run failed";
    verify_all(url, round, compacted, retained, erased, true, rng, "after the completed run");
    EXPECT_GT(killed, runs / 4) << "too few runs were killed mid-way to test anything";
    std::printf(
        "[ crash ] %s: %d runs (%d killed, %d completed), %d rounds, %zu events dropped "
        "by the policies\n",
        GetParam().name.c_str(), runs, killed, completed, round + 1, dropped);
}

INSTANTIATE_TEST_SUITE_P(backends, retention_crash, testing::ValuesIn(test::durable_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
