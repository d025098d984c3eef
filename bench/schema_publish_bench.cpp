// Publish throughput with a JSON Schema on the topic against without one, in the same run
// (docs/benchmarks.md, "Topic schemas"): the library's append path (what HTTP, the gateway
// and the CLI call), 4 threads, one event per append, a small and a 10 kB payload.
//
//   schema_publish_bench [SECONDS_PER_ROUND=2] [ROUNDS=3] [DB_URL…]
//
// Default databases: memory: (validation against an append that costs almost nothing, the
// worst case for the ratio) and a non-durable SQLite file. Rounds alternate the two topics
// so both see the same machine load; the best round of each is reported.
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "prom/store.hpp"
#include "schema/schema_registry.hpp"

namespace {

using namespace prom;

constexpr int threads = 4;

constexpr std::string_view small_schema = R"({"schema":{"type":"object",
  "properties":{"pid":{"type":["integer","string"]},"name":{"type":"string"},"host":{"type":"string"},
    "cpu_pct":{"type":"number","minimum":0,"maximum":100},"mem_mb":{"type":["number","null"]}},
  "required":["pid","name","host"]}})";

constexpr std::string_view large_schema = R"({"schema":{"type":"object",
  "properties":{"host":{"type":"string"},"note":{"type":"string","maxLength":20000},
    "samples":{"type":"array","items":{"type":"object",
      "properties":{"t":{"type":"integer"},"v":{"type":"number","minimum":0}},"required":["t","v"]}}},
  "required":["host","samples"]}})";

json::value small_payload() {
    return *parse_json(R"({"pid":4242,"name":"api","host":"web-1","cpu_pct":3.5,"mem_mb":120})");
}

json::value large_payload() {
    json::array samples;
    for (int i = 0; i < 340; ++i)
        samples.push_back(json::object{{"t", 1700000000000 + i}, {"v", i * 0.5}});
    json::object o{
        {"host", "web-1"}, {"note", std::string(200, 'x')}, {"samples", std::move(samples)}};
    return o;
}

double rate(store& s, const std::string& topic, const json::value& payload, double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::vector<std::thread> ts;
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&] {
            long n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                std::vector<event_input> one(1);
                one[0].topic = topic;
                one[0].payload = payload;
                if (!s.append(std::move(one))) {
                    std::fprintf(stderr, "append failed\n");
                    std::exit(1);
                }
                ++n;
            }
            done += n;
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : ts) t.join();
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return static_cast<double>(done.load()) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = argc > 1 ? std::stod(argv[1]) : 2.0;
    int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
    std::vector<std::string> urls;
    for (int i = 3; i < argc; ++i) urls.emplace_back(argv[i]);
    auto dir =
        std::filesystem::temp_directory_path() / ("schema_bench_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    if (urls.empty()) urls = {"memory:", "sqlite:" + (dir / "bench.db").string()};

    std::printf("%-10s %-8s %14s %14s %7s\n", "db", "payload", "no schema ev/s", "schema ev/s",
                "ratio");
    for (const auto& url : urls) {
        auto s = open_store(url, {.durable = false});
        if (!s) {
            std::fprintf(stderr, "%s: %s\n", url.c_str(), s.error().message.c_str());
            return 1;
        }
        struct payload_case {
            const char* name;
            json::value payload;
            std::string_view schema;
        };
        payload_case cases[] = {{"small", small_payload(), small_schema},
                                {"10kB", large_payload(), large_schema}};
        for (auto& c : cases) {
            std::string plain = std::string("plain.") + c.name,
                        typed = std::string("typed.") + c.name;
            auto put = schema::put_schema(**s, typed, *parse_json(c.schema));
            if (!put) {
                std::fprintf(stderr, "schema: %s\n", put.error().err.message.c_str());
                return 1;
            }
            double best_plain = 0, best_typed = 0;
            for (int r = 0; r < rounds; ++r) {
                best_plain = std::max(best_plain, rate(**s, plain, c.payload, seconds));
                best_typed = std::max(best_typed, rate(**s, typed, c.payload, seconds));
            }
            std::string db = url.substr(0, url.find(':'));
            std::printf("%-10s %-8s %14.0f %14.0f %6.2fx\n", db.c_str(), c.name, best_plain,
                        best_typed, best_typed / best_plain);
            std::fflush(stdout);
        }
    }
    std::filesystem::remove_all(dir);
    return 0;
}
