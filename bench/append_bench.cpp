// Durable append throughput on SQLite with synchronous=FULL (every commit is fsynced):
// (a) one event per transaction, (b) group commit with 1/8/64 concurrent appenders,
// (c) batches of 1000, and (d) the floor for (c): the same rows inserted by hand into a table
// with only a primary key (bare_insert.hpp). Ratios are against (a), and (c) against (d),
// measured in the same run.
//   append_bench [seconds per scenario, default 3]
#include <atomic>
#include <thread>
#include <vector>

#include "append_scenarios.hpp"
#include "bare_insert.hpp"
#include "bench_util.hpp"
#include "prom/store.hpp"

using namespace prom;
using namespace prom::bench;

int main(int argc, char** argv) {
    double secs = argc > 1 ? std::atof(argv[1]) : 3.0;
    scratch_dir dir;
    struct row {
        std::string name;
        measured m;
    };
    std::vector<row> rows;
    rows.push_back({"(a) one event per transaction",
                    in_child([&] { return concurrent_appenders(dir.db("a.db"), 1, secs); })});
    for (int n : {1, 8, 64}) {
        rows.push_back({"(b) group commit, " + std::to_string(n) + " appenders", in_child([&] {
                            return concurrent_appenders(dir.db("b" + std::to_string(n) + ".db"), n,
                                                        secs);
                        })});
    }
    rows.push_back(
        {"(c) batches of 1000", in_child([&] { return batches_of(dir.db("c.db"), 1000, secs); })});
    rows.push_back(
        {"(d) bare INSERT of the same rows, batches of 1000, primary key only",
         in_child([&] { return bare_insert_batches((dir.path / "d.db").string(), 1000, secs); })});
    double base = rows[0].m.rate();
    std::printf("| scenario (SQLite, synchronous=FULL) | events/s | vs (a) | peak RSS MiB |\n");
    std::printf("|---|---:|---:|---:|\n");
    for (auto& r : rows) {
        std::printf("| %s | %.0f | %.1fx | %.1f |\n", r.name.c_str(), r.m.rate(),
                    base > 0 ? r.m.rate() / base : 0.0, r.m.peak_rss_kb / 1024.0);
    }
    double c = rows[rows.size() - 2].m.rate(), d = rows.back().m.rate();
    std::printf("\n(c) / (d): %.2fx (batches of 1000 against the bare INSERT)\n",
                d > 0 ? c / d : 0.0);
    std::printf("(b) 64 / (a): %.1fx\n", base > 0 ? rows[3].m.rate() / base : 0.0);
    return 0;
}
