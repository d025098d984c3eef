// Durable append throughput on SQLite with synchronous=FULL (every commit is fsynced):
// (a) one event per transaction, (b) group commit with 1/8/64 concurrent appenders,
// (c) batches of 1000. Ratios are against (a), measured in the same run.
//   append_bench [seconds per scenario, default 3]
#include <atomic>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "prom/store.hpp"

using namespace prom;
using namespace prom::bench;

namespace {

event_input one_event(int i) {
    event_input e;
    e.topic = "bench";
    e.key = "k" + std::to_string(i % 1000);
    e.payload = json::object{{"i", i}, {"host", "alpha"}, {"cpu_pct", 12.5}};
    return e;
}

measured concurrent_appenders(const std::string& url, int threads, double secs) {
    auto s = open_store(url);
    if (!s) return {0, -1, 0};
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::vector<std::thread> ts;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; !stop; ++i) {
                std::vector<event_input> one;
                one.push_back(one_event(t * 1000000 + i));
                if ((*s)->append(std::move(one))) ++done;
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(secs));
    stop = true;
    for (auto& t : ts) t.join();
    return {static_cast<double>(done.load()), seconds_since(t0), 0};
}

measured batches_of(const std::string& url, int batch, double secs) {
    auto s = open_store(url);
    if (!s) return {0, -1, 0};
    long done = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (seconds_since(t0) < secs) {
        std::vector<event_input> b;
        b.reserve(static_cast<std::size_t>(batch));
        for (int i = 0; i < batch; ++i) b.push_back(one_event(static_cast<int>(done) + i));
        if ((*s)->append(std::move(b))) done += batch;
    }
    return {static_cast<double>(done), seconds_since(t0), 0};
}

}  // namespace

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
