// The process the crash test kills: publishes heartbeats for several hosts while both
// process projectors and two user-defined ones (declarative and Lua, over process.state)
// run, on a durable database, until it is killed.
//   prom_crash_child DB_URL publish SEED   publish forever (until SIGKILL)
//   prom_crash_child DB_URL drain          run the projectors until caught up, then exit 0
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "prom/bus.hpp"
#include "prom/process_projectors.hpp"
#include "prom/user_projector.hpp"

using namespace std::chrono_literals;

namespace {

// Checked by projector_crash_test.cpp: u_hosts.seen and u_lua_hosts.seen per host, u_procs
// against a replay, one u.audit and one u.lua.audit event per process.state.
constexpr const char* declarative_definition = R"({
  "name": "crash-decl", "topic": "process.state",
  "writes": [
    {"collection": "u_hosts", "key": "{payload.host}", "update": {"$inc": {"seen": 1}, "$set": {"last": "$seq"}}},
    {"collection": "u_procs", "key": "{payload.processId}", "replace": "$payload"}
  ],
  "emit": [{"topic": "u.audit", "key": "{payload.host}", "payload": {"seq": "$seq"}}]
})";

// Read-modify-write on purpose: an event applied twice would show as a wrong count.
constexpr const char* lua_definition = R"({
  "name": "crash-lua", "topic": "process.state", "collections": ["u_lua_hosts"],
  "lua": "function handle(event, tx)\n local h = event.payload.host\n local cur = tx:get('u_lua_hosts', h)\n local n = (cur and cur.seen or 0) + 1\n tx:update('u_lua_hosts', h, {['$set'] = {seen = n, last = event.seq}})\n tx:emit('u.lua.audit', h, {seq = event.seq})\nend"
})";

std::unique_ptr<prom::projector> start_user(prom::store& st, const char* text) {
    auto d = prom::parse_projector_definition(*prom::parse_json(text));
    if (!d) {
        std::fprintf(stderr, "definition: %s at %s\n", d.error().message.c_str(), d.error().pointer.c_str());
        std::exit(1);
    }
    auto def = std::make_shared<const prom::projector_definition>(std::move(*d));
    return prom::start_transactional_projector(
        st, {.topic = def->topic, .group = def->name, .handler = prom::make_user_handler(def), .batch_size = 64});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    auto s = prom::open_store(argv[1]);
    if (!s) {
        std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
        return 1;
    }
    prom::store& st = **s;
    auto procs = prom::start_process_projectors(st, {.stale_after = 3600s, .batch_size = 64});
    auto declarative = start_user(st, declarative_definition);
    auto lua = start_user(st, lua_definition);
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
            if (!declarative->wait_until(ps_last, 30s)) return 5;
            if (!lua->wait_until(ps_last, 30s)) return 6;
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
