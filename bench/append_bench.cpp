// Durable append throughput on SQLite with synchronous=FULL (every commit is fsynced):
// (a) one event per transaction, (b) group commit with 1/8/64 concurrent appenders,
// (c) batches of 1000. Ratios are against (a), measured in the same run.
//   append_bench [seconds per scenario, default 3]
#include <atomic>
#include <thread>
#include <vector>

#include "append_scenarios.hpp"
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
        rows.push_back({"(b) group commit, " + std::to_string(n) + " appenders",
                        in_child([&] {
                            return concurrent_appenders(dir.db("b" + std::to_string(n) + ".db"), n, secs);
                        })});
    }
    rows.push_back({"(c) batches of 1000",
                    in_child([&] { return batches_of(dir.db("c.db"), 1000, secs); })});
    double base = rows[0].m.rate();
    std::printf("| scenario (SQLite, synchronous=FULL) | events/s | vs (a) | peak RSS MiB |\n");
    std::printf("|---|---:|---:|---:|\n");
    for (auto& r : rows) {
        std::printf("| %s | %.0f | %.1fx | %.1f |\n", r.name.c_str(), r.m.rate(),
                    base > 0 ? r.m.rate() / base : 0.0, r.m.peak_rss_kb / 1024.0);
    }
    return 0;
}
