// The process the crash tests kill: publishes heartbeats for several hosts while both
// process projectors and two user-defined ones (declarative and Lua, over process.state)
// run, on a durable database, until it is killed.
//   prom_crash_child DB_URL publish SEED [ACKED]  publish through the bus forever (until
//                                                 SIGKILL) while a second thread reads the
//                                                 heartbeats back in time, writing snapshots
//   prom_crash_child DB_URL gateway SEED [ACKED]  serve (projectors, gateway) on a free
//                                                 loopback port and publish through its own
//                                                 WebSocket gateway forever
//   prom_crash_child DB_URL drain                 run the projectors until caught up, exit 0
// ACKED: a file to which the id of every event whose publish was acknowledged is appended
// (one line each, written after the acknowledgement): the test checks that none is lost.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "prom/bus.hpp"
#include "prom/process_projectors.hpp"
#include "prom/timetravel.hpp"
#include "prom/user_projector.hpp"
#include "server/node.hpp"
#include "support/sanitizer.hpp"
#include "support/ws_client.hpp"

using namespace std::chrono_literals;

namespace {

// Every wait of a child is a bound on "no progress", stretched in a sanitizer build.
constexpr auto no_progress_limit = 30s * prom::test::sanitizer::slowdown;

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
        std::fprintf(stderr, "definition: %s at %s\n", d.error().message.c_str(),
                     d.error().pointer.c_str());
        std::exit(1);
    }
    auto def = std::make_shared<const prom::projector_definition>(std::move(*d));
    return prom::start_transactional_projector(st, {.topic = def->topic,
                                                    .group = def->name,
                                                    .handler = prom::make_user_handler(def),
                                                    .batch_size = 64});
}

const char* hosts[] = {"alpha", "beta", "gamma", "delta"};

// A burst of heartbeats: bursts make the projectors work in multi-event batches, so kills
// land inside them. Keyed host:pid, so that time travel has keys to fold.
std::vector<prom::event_input> heartbeat_burst(std::mt19937& rng) {
    std::vector<prom::event_input> burst(1 + rng() % 40);
    for (auto& e : burst) {
        int h = static_cast<int>(rng() % 4);
        int pid = static_cast<int>(rng() % 5);
        e.topic = "heartbeat.received";
        e.id = prom::new_event_id();
        e.key = std::string(hosts[h]) + ":" + std::to_string(pid);
        e.payload = prom::json::object{{"pid", pid},
                                       {"name", "svc" + std::to_string(pid)},
                                       {"host", hosts[h]},
                                       {"cpu_pct", static_cast<int>(rng() % 100)},
                                       {"mem_mb", static_cast<int>(rng() % 1000)}};
    }
    return burst;
}

// Appends acknowledged ids, one write() per batch. A kill can still cut a write short (the
// kernel stops a long write between pages on a fatal signal), so every id ends with ';' and
// every batch starts on a new line: the next child's batch cannot glue itself to a cut id,
// and the reader counts only lines that end with ';' (projector_crash_test.cpp, lines_of).
class acked_log {
  public:
    explicit acked_log(const char* path)
        : fd_(path ? ::open(path, O_WRONLY | O_APPEND | O_CREAT, 0644) : -1) {}
    ~acked_log() {
        if (fd_ >= 0) ::close(fd_);
    }
    void record(const std::vector<std::string>& ids) {
        if (fd_ < 0 || ids.empty()) return;
        std::string text = "\n";
        for (const auto& id : ids) text += id + ";\n";
        (void)::write(fd_, text.data(), text.size());
    }

  private:
    int fd_;
};

// Reads heartbeat keys back in time with a small snapshot interval, so that kills also land
// inside snapshot writes (the test compares with a fold that uses no snapshot).
void time_travel_reads(prom::store& st, unsigned seed) {
    std::mt19937 rng(seed);
    prom::time_machine tm(st, {.snapshot_every = 4});
    auto merge = prom::merge_reducer();
    for (;;) {
        std::string key = std::string(hosts[rng() % 4]) + ":" + std::to_string(rng() % 5);
        (void)tm.at("heartbeat.received", key, prom::now_ms(), merge);
        std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 5));
    }
}

[[noreturn]] void publish_through_bus(prom::store& st, unsigned seed, acked_log& acked) {
    auto procs = prom::start_process_projectors(st, {.stale_after = 3600s, .batch_size = 64});
    auto declarative = start_user(st, declarative_definition);
    auto lua = start_user(st, lua_definition);
    // They project until the kill; read here so that none of them is a dead store.
    if (!procs || !declarative || !lua) std::_Exit(1);
    std::thread reader(time_travel_reads, std::ref(st), seed + 1);
    reader.detach();  // runs until the kill
    std::mt19937 rng(seed);
    prom::bus b(st);
    for (;;) {
        auto r = b.publish_batch(heartbeat_burst(rng));
        if (!r) std::_Exit(1);  // not `return`: the reader thread still uses the store
        std::vector<std::string> ids;
        for (const auto& a : *r) ids.push_back(a.id);
        acked.record(ids);
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 3));
    }
}

int publish_through_gateway(const std::string& db, unsigned seed, acked_log& acked) {
    prom::server::serve_config config;
    config.db = db;
    config.port = 0;
    config.threads = 1;
    config.blocking_threads = 4;
    config.stale_after = 3600s;
    auto node = prom::server::node::start(config);
    if (!node) return 1;
    prom::test::raw_ws::handshake hs;
    auto ws = prom::test::raw_ws::connect((*node)->port(), hs);
    if (!ws || hs.status != 101) return 1;
    std::mt19937 rng(seed);
    for (int i = 0;; ++i) {
        prom::json::array events;
        for (auto& e : heartbeat_burst(rng)) {
            events.push_back(prom::json::object{
                {"topic", e.topic}, {"id", *e.id}, {"key", e.key}, {"payload", e.payload}});
        }
        prom::json::object request{
            {"op", "publish"}, {"id", std::to_string(i)}, {"events", events}};
        if (!ws->send_text(prom::canonical_json(request))) return 1;
        auto reply = ws->read_text(no_progress_limit);
        if (!reply) return 1;
        auto v = prom::parse_json(*reply);
        if (!v || !v->is_object() || v->at("op") != "published") {
            std::fprintf(stderr, "gateway: %s\n", reply->c_str());
            return 1;
        }
        std::vector<std::string> ids;
        for (const auto& r : v->at("results").as_array()) {
            ids.emplace_back(r.at("id").as_string());
        }
        acked.record(ids);
    }
}

// Waits until `p` reaches `seq`. A long soak leaves a long backlog, and a loaded machine
// projects it slowly: only a projector that stops making progress for 30 s (times the
// sanitizer's slowdown) is a failure.
bool caught_up(prom::projector& p, prom::seq_t seq) {
    for (;;) {
        const auto before = p.metrics().cursor.load();
        if (p.wait_until(seq, no_progress_limit)) return true;
        if (p.metrics().cursor.load() == before) return false;
    }
}

int drain(prom::store& st) {
    auto procs = prom::start_process_projectors(st, {.stale_after = 3600s, .batch_size = 64});
    auto declarative = start_user(st, declarative_definition);
    auto lua = start_user(st, lua_definition);
    for (;;) {
        auto hb = st.topic("heartbeat.received");
        auto ps = st.topic("process.state");
        if (!hb || !ps) return 1;
        prom::seq_t hb_last = *hb ? (*hb)->last_seq : prom::seq_t{};
        if (!caught_up(procs->heartbeat_projector(), hb_last)) return 3;
        ps = st.topic("process.state");
        prom::seq_t ps_last = *ps ? (*ps)->last_seq : prom::seq_t{};
        if (!caught_up(procs->txn_projector(), ps_last)) return 4;
        if (!caught_up(*declarative, ps_last)) return 5;
        if (!caught_up(*lua, ps_last)) return 6;
        auto hb2 = st.topic("process.state");
        if (*hb2 && (*hb2)->last_seq == ps_last) return 0;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    const std::string db = argv[1];
    const std::string mode = argv[2];
    const unsigned seed = static_cast<unsigned>(std::stoul(argc > 3 ? argv[3] : "1"));
    acked_log acked(argc > 4 ? argv[4] : nullptr);
    if (mode == "gateway") return publish_through_gateway(db, seed, acked);

    auto s = prom::open_store(db);
    if (!s) {
        std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
        return 1;
    }
    if (mode == "drain") return drain(**s);
    if (mode == "publish") publish_through_bus(**s, seed, acked);
    return 2;
}
