// Exactly-once projection of process.state into processes + host_stats on SQLite
// (synchronous=FULL): prom's batched projector (effects + cursor in one transaction per
// batch) against the seed's design (one transaction per event, cursor written after it),
// measured in the same run.
//   projector_bench [events, default 20000] [seed-design events, default 1000]
#include <thread>

#include "bench_util.hpp"
#include "prom/projector.hpp"
#include "projector/process_handlers.hpp"

using namespace prom;
using namespace prom::bench;

namespace {

status load(store& s, int n) {
    const char* hosts[] = {"alpha", "beta", "gamma", "delta"};
    for (int done = 0; done < n;) {
        std::vector<event_input> b;
        for (int i = 0; i < 1000 && done < n; ++i, ++done) {
            std::string pid = std::to_string(done % 500);
            std::string host = hosts[done % 4];
            event_input e;
            e.topic = "process.state";
            e.key = host + ":svc:" + pid;
            e.payload = json::object{{"processId", e.key}, {"pid", done % 500}, {"name", "svc"},
                                     {"host", host}, {"cpu_pct", done % 100}, {"mem_mb", 64},
                                     {"status", "alive"}, {"last_seen", done}};
            b.push_back(std::move(e));
        }
        if (auto r = s.append(std::move(b)); !r) return std::unexpected(r.error());
    }
    return {};
}

measured batched(const std::string& url, int n) {
    auto s = open_store(url);
    if (!s || !load(**s, n)) return {0, -1, 0};
    auto t0 = std::chrono::steady_clock::now();
    auto p = start_transactional_projector(**s, {.topic = "process.state", .group = "bench",
                                                 .handler = process::project_process_state,
                                                 .batch_size = 500});
    if (!p->wait_until(n, std::chrono::minutes(10))) return {0, -1, 0};
    return {static_cast<double>(n), seconds_since(t0), 0};
}

// The seed: subscribe → per event withTransaction(handler) → then the bus acks (a second write).
measured seed_design(const std::string& url, int n) {
    auto s = open_store(url);
    if (!s || !load(**s, n)) return {0, -1, 0};
    auto t0 = std::chrono::steady_clock::now();
    auto events = (*s)->scan({.topic = "process.state"});
    if (!events) return {0, -1, 0};
    for (auto& e : *events) {
        auto txn = (*s)->begin();
        if (!txn || !process::project_process_state(e, **txn) || !(*txn)->commit()) return {0, -1, 0};
        if (!(*s)->set_cursor("process.state", "seed", e.seq)) return {0, -1, 0};
    }
    return {static_cast<double>(n), seconds_since(t0), 0};
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 20000;
    int seed_n = argc > 2 ? std::atoi(argv[2]) : 1000;
    scratch_dir dir;
    auto ours = in_child([&] { return batched(dir.db("ours.db"), n); });
    auto seed = in_child([&] { return seed_design(dir.db("seed.db"), seed_n); });
    std::printf("| design (SQLite, synchronous=FULL) | events | events/s | ratio | peak RSS MiB |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    std::printf("| prom: batch of 500 + cursor in one transaction | %d | %.0f | %.1fx | %.1f |\n", n,
                ours.rate(), seed.rate() > 0 ? ours.rate() / seed.rate() : 0.0, ours.peak_rss_kb / 1024.0);
    std::printf("| seed: one transaction per event, cursor after | %d | %.0f | 1.0x | %.1f |\n", seed_n,
                seed.rate(), seed.peak_rss_kb / 1024.0);
    return 0;
}
