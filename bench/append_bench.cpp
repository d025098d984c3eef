// Durable append throughput on SQLite with synchronous=FULL (every commit is fsynced):
// (a) one event per transaction, (b) group commit with 1/8/64 concurrent appenders,
// (c) batches of 1000, and (d) the floor for (c): the same rows inserted by hand into a table
// with only a primary key (bare_insert.hpp). Ratios are against (a), and (c) against (d),
// measured in the same run; (c) and (d) run in ROUNDS interleaved rounds (median reported, with
// every round and the CPU time per event, which the shared machine's noise moves less).
//   append_bench [seconds per scenario, default 3] [ROUNDS of (c) and (d), default 1] [cd]
// ("cd": only (c) and (d), for comparing builds of the append path).
#include <algorithm>
#include <atomic>
#include <string_view>
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
    int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
    scratch_dir dir;
    struct row {
        std::string name;
        measured m;
    };
    bool only_cd = argc > 3 && std::string_view(argv[3]) == "cd";
    std::vector<row> rows;
    if (!only_cd)
        rows.push_back({"(a) one event per transaction", only_cd ? measured{} : in_child([&] {
                            return concurrent_appenders(dir.db("a.db"), 1, secs);
                        })});
    for (int n : only_cd ? std::vector<int>{} : std::vector<int>{1, 8, 64}) {
        rows.push_back({"(b) group commit, " + std::to_string(n) + " appenders", in_child([&] {
                            return concurrent_appenders(dir.db("b" + std::to_string(n) + ".db"), n,
                                                        secs);
                        })});
    }
    // (c) and (d) alternate, so that both see the same load on the shared machine.
    std::vector<measured> c_rounds, d_rounds;
    for (int r = 0; r < rounds; ++r) {
        auto tag = std::to_string(r);
        c_rounds.push_back(
            in_child([&] { return batches_of(dir.db("c" + tag + ".db"), 1000, secs); }));
        d_rounds.push_back(in_child([&] {
            return bare_insert_batches((dir.path / ("d" + tag + ".db")).string(), 1000, secs);
        }));
    }
    auto median_of = [](const std::vector<measured>& ms) {
        std::vector<double> rates;
        rates.reserve(ms.size());
        for (const auto& m : ms) rates.push_back(m.rate());
        double mid = median(rates);
        for (auto& m : ms) {
            if (m.rate() == mid) return m;
        }
        return ms.front();
    };
    rows.push_back({"(c) batches of 1000", median_of(c_rounds)});
    rows.push_back({"(d) bare INSERT of the same rows, batches of 1000, primary key only",
                    median_of(d_rounds)});
    double base = only_cd ? 0.0 : rows[0].m.rate();
    std::printf(
        "| scenario (SQLite, synchronous=FULL) | events/s | vs (a) | CPU us/event "
        "| peak RSS MiB |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    for (auto& r : rows) {
        std::printf("| %s | %.0f | %.1fx | %.1f | %.1f |\n", r.name.c_str(), r.m.rate(),
                    base > 0 ? r.m.rate() / base : 0.0, r.m.cpu_us_per_event(),
                    static_cast<double>(r.m.peak_rss_kb) / 1024.0);
    }
    std::vector<double> ratios, cpu_ratios;
    std::printf("\nrounds of (c) and (d), interleaved (events/s, CPU us/event):\n");
    for (int r = 0; r < rounds; ++r) {
        auto& c = c_rounds[static_cast<std::size_t>(r)];
        auto& d = d_rounds[static_cast<std::size_t>(r)];
        double ratio = d.rate() > 0 ? c.rate() / d.rate() : 0.0;
        ratios.push_back(ratio);
        cpu_ratios.push_back(c.cpu_us_per_event() > 0 ? d.cpu_us_per_event() / c.cpu_us_per_event()
                                                      : 0.0);
        std::printf("  round %d: (c) %.0f/s %.1f us, (d) %.0f/s %.1f us, (c)/(d) %.2fx\n", r + 1,
                    c.rate(), c.cpu_us_per_event(), d.rate(), d.cpu_us_per_event(), ratio);
    }
    std::printf(
        "\n(c) / (d): %.2fx, median of %d rounds (batches of 1000 against the bare INSERT)\n",
        median(ratios), rounds);
    std::printf("(d) / (c) in CPU per event: %.2fx, median\n", median(cpu_ratios));
    if (!only_cd) std::printf("(b) 64 / (a): %.1fx\n", base > 0 ? rows[3].m.rate() / base : 0.0);
    return 0;
}
