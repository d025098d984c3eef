// The process the crash test kills: publishes heartbeats for several hosts while both
// process projectors run, on a durable database, until it is killed.
//   prom_crash_child DB_URL publish SEED   publish forever (until SIGKILL)
//   prom_crash_child DB_URL drain          run the projectors until caught up, then exit 0
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "prom/bus.hpp"
#include "prom/process_projectors.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    auto s = prom::open_store(argv[1]);
    if (!s) {
        std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
        return 1;
    }
    prom::store& st = **s;
    auto procs = prom::start_process_projectors(st, {.stale_after = 3600s, .batch_size = 64});
    std::string mode = argv[2];
    if (mode == "drain") {
        for (;;) {
            auto hb = st.topic("heartbeat.received");
            auto ps = st.topic("process.state");
            if (!hb || !ps) return 1;
            prom::seq_t hb_last = *hb ? (*hb)->last_seq : 0;
            if (!procs->heartbeat_projector().wait_until(hb_last, 30s)) return 3;
            ps = st.topic("process.state");
            prom::seq_t ps_last = *ps ? (*ps)->last_seq : 0;
            if (!procs->txn_projector().wait_until(ps_last, 30s)) return 4;
            auto hb2 = st.topic("process.state");
            if (*hb2 && (*hb2)->last_seq == ps_last) return 0;
        }
    }
    std::mt19937 rng(static_cast<unsigned>(std::stoul(argc > 3 ? argv[3] : "1")));
    prom::bus b(st);
    const char* hosts[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0;; ++i) {
        // Bursts make the projectors work in multi-event batches, so kills land inside them.
        std::vector<prom::event_input> burst(1 + rng() % 40);
        for (auto& e : burst) {
            int h = static_cast<int>(rng() % 4);
            int pid = static_cast<int>(rng() % 5);
            e.topic = "heartbeat.received";
            e.payload = prom::json::object{{"pid", pid},
                                           {"name", "svc" + std::to_string(pid)},
                                           {"host", hosts[h]},
                                           {"cpu_pct", static_cast<int>(rng() % 100)},
                                           {"mem_mb", static_cast<int>(rng() % 1000)}};
        }
        if (!b.publish_batch(std::move(burst))) return 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 3));
    }
}
