// The process.txn projection (process.state -> processes + host_stats) three ways in one
// run: the built-in C++ handler, the same as a declarative definition
// (examples/projectors/process.txn.json) and as a Lua handler, each through the
// transactional projector, on memory and on SQLite (synchronous=FULL). Ratios are against
// the built-in handler on the same backend; each scenario runs in its own process, so the
// peak RSS is its own. The designs take turns for `rounds` rounds and each reports its best
// round: on a shared machine, other load only ever slows a run down.
//   user_projector_bench [events, default 20000] [rounds, default 3]
#include <fstream>
#include <sstream>

#include "bench_util.hpp"
#include "process_state_load.hpp"
#include "projector/process_handlers.hpp"
#include "prom/projector.hpp"
#include "prom/user_projector.hpp"

using namespace prom;
using namespace prom::bench;

namespace {

constexpr const char* lua_process_txn = R"({
  "name": "process.txn.lua", "topic": "process.state", "collections": ["processes", "host_stats"],
  "lua": "function handle(event, tx)\n local p = event.payload\n if type(p.processId) ~= 'string' or p.processId == '' or type(p.host) ~= 'string' then\n  error('process.state needs string processId and host')\n end\n p._ts = event.ts\n tx:update('processes', p.processId, p)\n tx:update('host_stats', p.host, {['$inc'] = {seen = 1}, ['$set'] = {last_ts = event.ts, _ts = event.ts}})\nend"
})";

std::shared_ptr<const projector_definition> definition(const std::string& text) {
    auto body = parse_json(text);
    if (!body) return nullptr;
    auto d = parse_projector_definition(*body);
    if (!d) {
        std::fprintf(stderr, "definition: %s at %s\n", d.error().message.c_str(),
                     d.error().pointer.c_str());
        return nullptr;
    }
    return std::make_shared<const projector_definition>(std::move(*d));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

measured project(const std::string& url, int n, const std::function<projector_handler()>& make,
                 bool evaluated) {
    auto s = open_store(url);
    if (!s || !load_process_states(**s, n)) return {0, -1, 0};
    projector_handler handler = make();
    auto t0 = std::chrono::steady_clock::now();
    auto p = start_transactional_projector(**s, {.topic = "process.state",
                                                 .group = "bench",
                                                 .handler = std::move(handler),
                                                 .evaluate_before_writing = evaluated,
                                                 .batch_size = 500});
    if (!p->wait_until(seq_t{n}, std::chrono::minutes(10))) return {0, -1, 0};
    if (p->metrics().dead_lettered.load() != 0) return {0, -1, 0};
    return {static_cast<double>(n), seconds_since(t0), 0};
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 20000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    scratch_dir dir;
    std::string declarative_text =
        read_file(std::string(PROM_SOURCE_DIR) + "/examples/projectors/process.txn.json");
    if (!definition(declarative_text) || !definition(lua_process_txn)) return 1;
    struct design {
        const char* name;
        std::function<projector_handler()> make;
        bool evaluated = false;  // before the write transaction, as prom serve runs user code
    };
    const design designs[] = {
        {"built-in C++ (process::project_process_state)",
         [] { return projector_handler(process::project_process_state); }},
        {"declarative (examples/projectors/process.txn.json)",
         [&] { return make_user_handler(definition(declarative_text)); }},
        {"Lua (handle(event, tx) with tx:update)",
         [] { return make_user_handler(definition(lua_process_txn)); }},
        {"declarative, evaluated before the write transaction (as prom serve runs it)",
         [&] { return make_user_handler(definition(declarative_text)); }, true},
        {"Lua, evaluated before the write transaction (as prom serve runs it)",
         [] { return make_user_handler(definition(lua_process_txn)); }, true},
    };
    std::printf(
        "| backend | projector | events | best events/s of %d | ratio to built-in | peak RSS MiB "
        "|\n",
        rounds);
    std::printf("|---|---|---:|---:|---:|---:|\n");
    for (std::string backend : {"memory", "sqlite"}) {
        std::vector<measured> best(std::size(designs));
        for (int r = 0; r < rounds; ++r) {
            for (std::size_t i = 0; i < std::size(designs); ++i) {
                std::string url =
                    backend == "memory"
                        ? "memory:"
                        : dir.db("r" + std::to_string(r) + "d" + std::to_string(i) + ".db");
                auto m = in_child(
                    [&] { return project(url, n, designs[i].make, designs[i].evaluated); });
                if (m.seconds < 0) {
                    std::fprintf(stderr, "%s / %s failed\n", backend.c_str(), designs[i].name);
                    return 1;
                }
                if (m.rate() > best[i].rate()) best[i] = m;
            }
        }
        for (std::size_t i = 0; i < std::size(designs); ++i) {
            std::printf("| %s | %s | %d | %.0f | %.2fx | %.1f |\n", backend.c_str(),
                        designs[i].name, n, best[i].rate(),
                        best[0].rate() > 0 ? best[i].rate() / best[0].rate() : 0.0,
                        static_cast<double>(best[i].peak_rss_kb) / 1024.0);
        }
    }
    return 0;
}
