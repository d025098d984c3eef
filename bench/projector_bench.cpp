// Exactly-once projection of process.state into processes + host_stats on SQLite
// (synchronous=FULL): prom's batched projector (effects + cursor in one transaction per
// batch) against the seed's design (one transaction per event, cursor written after it),
// measured in the same run; and against the floor, a hand-written batched upsert of the
// same documents (bench/projector_bench.cpp: hand_written_upserts).
//   projector_bench [events, default 20000] [seed-design events, default 1000] [rounds, default 1]
#include <sqlite3.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "process_state_load.hpp"
#include "projector/process_handlers.hpp"
#include "prom/projector.hpp"

using namespace prom;
using namespace prom::bench;

namespace {

measured batched(const std::string& url, int n) {
    auto s = open_store(url);
    if (!s || !load_process_states(**s, n)) return {0, -1, 0};
    instructions_from_here();
    auto t0 = std::chrono::steady_clock::now();
    double cpu0 = cpu_seconds();
    auto p = start_transactional_projector(**s, {.topic = "process.state",
                                                 .group = "bench",
                                                 .handler = process::project_process_state,
                                                 .batch_size = 500});
    if (!p->wait_until(seq_t{n}, std::chrono::minutes(10))) return {0, -1, 0};
    instructions_until_here("prom", n);
    return {static_cast<double>(n), seconds_since(t0), 0, cpu_seconds() - cpu0};
}

// The seed: subscribe → per event withTransaction(handler) → then the bus acks (a second write).
measured seed_design(const std::string& url, int n) {
    auto s = open_store(url);
    if (!s || !load_process_states(**s, n)) return {0, -1, 0};
    auto t0 = std::chrono::steady_clock::now();
    auto events = (*s)->scan({.topic = "process.state"});
    if (!events) return {0, -1, 0};
    for (auto& e : *events) {
        auto txn = (*s)->begin();
        if (!txn || !process::project_process_state(e, **txn) || !(*txn)->commit())
            return {0, -1, 0};
        if (!(*s)->set_cursor("process.state", "seed", e.seq)) return {0, -1, 0};
    }
    return {static_cast<double>(n), seconds_since(t0), 0};
}

// The floor: what an application that wrote these read models by hand would do. Reads the
// events with prom's scan (as the projector does), then per batch of 500, in one transaction:
// one prepared upsert of the process document (its payload's canonical JSON) and one of
// the host's counter (`seen = seen + 1` in SQL: no read, no JSON), and the cursor; SQLite
// synchronous=FULL in WAL mode. No ETags, no `_key`/`_ts`, no update operators.
measured hand_written_upserts(const std::string& url, const std::string& path, int n) {
    auto s = open_store(url);
    if (!s || !load_process_states(**s, n)) return {0, -1, 0};
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return {0, -1, 0};
    sqlite3_exec(
        db,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
        "CREATE TABLE processes(key TEXT PRIMARY KEY, ts INTEGER, body TEXT) WITHOUT ROWID;"
        "CREATE TABLE host_stats(host TEXT PRIMARY KEY, seen INTEGER, last_ts INTEGER) WITHOUT "
        "ROWID;"
        "CREATE TABLE cursors(grp TEXT PRIMARY KEY, seq INTEGER) WITHOUT ROWID;",
        nullptr, nullptr, nullptr);
    sqlite3_stmt *doc = nullptr, *stats = nullptr, *cursor = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO processes VALUES(?1, ?2, ?3) ON CONFLICT(key) DO UPDATE "
                       "SET ts = excluded.ts, body = excluded.body",
                       -1, &doc, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO host_stats VALUES(?1, 1, ?2) ON CONFLICT(host) DO UPDATE "
                       "SET seen = seen + 1, last_ts = excluded.last_ts",
                       -1, &stats, nullptr);
    sqlite3_prepare_v2(db,
                       "INSERT INTO cursors VALUES('bench', ?1) ON CONFLICT(grp) DO UPDATE "
                       "SET seq = excluded.seq",
                       -1, &cursor, nullptr);
    instructions_from_here();
    auto t0 = std::chrono::steady_clock::now();
    double cpu0 = cpu_seconds();
    auto events = (*s)->scan({.topic = "process.state"});
    if (!events) return {0, -1, 0};
    for (std::size_t at = 0; at < events->size(); at += 500) {
        sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        std::size_t end = std::min(events->size(), at + 500);
        for (std::size_t i = at; i < end; ++i) {
            const event& e = (*events)[i];
            const auto& p = e.payload.get_object();
            std::string body = canonical_json(e.payload);
            auto id = p.at("processId").get_string();
            auto host = p.at("host").get_string();
            sqlite3_bind_text(doc, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
            sqlite3_bind_int64(doc, 2, e.ts.value);
            sqlite3_bind_text(doc, 3, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
            if (sqlite3_step(doc) != SQLITE_DONE) return {0, -1, 0};
            sqlite3_reset(doc);
            sqlite3_bind_text(stats, 1, host.data(), static_cast<int>(host.size()), SQLITE_STATIC);
            sqlite3_bind_int64(stats, 2, e.ts.value);
            if (sqlite3_step(stats) != SQLITE_DONE) return {0, -1, 0};
            sqlite3_reset(stats);
        }
        sqlite3_bind_int64(cursor, 1, (*events)[end - 1].seq.value);
        if (sqlite3_step(cursor) != SQLITE_DONE) return {0, -1, 0};
        sqlite3_reset(cursor);
        if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return {0, -1, 0};
    }
    double secs = seconds_since(t0);
    double cpu = cpu_seconds() - cpu0;
    instructions_until_here("floor", n);
    sqlite3_finalize(doc);
    sqlite3_finalize(stats);
    sqlite3_finalize(cursor);
    sqlite3_close(db);
    return {static_cast<double>(n), secs, 0, cpu};
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 20000;
    int seed_n = argc > 2 ? std::atoi(argv[2]) : 1000;
    int rounds = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
    // prom, the seed and the floor alternate, so that all three see the same load and the
    // same fsync speed; the median round of each ratio is reported.
    std::vector<double> vs_seed, vs_floor, ours_rates, seed_rates, floor_rates;
    measured ours, seed, floor;
    for (int r = 0; r < rounds; ++r) {
        scratch_dir dir;
        ours = in_child([&] { return batched(dir.db("ours.db"), n); });
        seed = in_child([&] { return seed_design(dir.db("seed.db"), seed_n); });
        floor = in_child([&] {
            return hand_written_upserts(dir.db("hand-src.db"), (dir.path / "hand.db").string(), n);
        });
        ours_rates.push_back(ours.rate());
        seed_rates.push_back(seed.rate());
        floor_rates.push_back(floor.rate());
        vs_seed.push_back(seed.rate() > 0 ? ours.rate() / seed.rate() : 0.0);
        vs_floor.push_back(floor.rate() > 0 ? ours.rate() / floor.rate() : 0.0);
        if (rounds > 1) {
            std::printf(
                "round %d: prom %.0f/s, seed %.0f/s, floor %.0f/s: %.1fx the seed, %.2fx "
                "the floor; CPU us/event prom %.1f, floor %.1f\n",
                r + 1, ours.rate(), seed.rate(), floor.rate(), vs_seed.back(), vs_floor.back(),
                ours.cpu_us_per_event(), floor.cpu_us_per_event());
        }
    }
    std::printf(
        "| design (SQLite, synchronous=FULL) | events | events/s | ratio | peak RSS MiB |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    std::printf("| prom: batch of 500 + cursor in one transaction | %d | %.0f | %.1fx | %.1f |\n",
                n, median(ours_rates), median(vs_seed),
                static_cast<double>(ours.peak_rss_kb) / 1024.0);
    std::printf("| seed: one transaction per event, cursor after | %d | %.0f | 1.0x | %.1f |\n",
                seed_n, median(seed_rates), static_cast<double>(seed.peak_rss_kb) / 1024.0);
    std::printf("| hand-written batched upserts (floor) | %d | %.0f | %.1fx | %.1f |\n", n,
                median(floor_rates),
                median(seed_rates) > 0 ? median(floor_rates) / median(seed_rates) : 0.0,
                static_cast<double>(floor.peak_rss_kb) / 1024.0);
    std::printf(
        "\nprom / seed: %.1fx; prom / hand-written upserts: %.2fx (medians of %d "
        "interleaved rounds)\n",
        median(vs_seed), median(vs_floor), rounds);
    return 0;
}
