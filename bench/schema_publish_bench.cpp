// Publish throughput with a JSON Schema on the topic against without one, in the same run
// (docs/benchmarks.md, "Topic schemas"): the library's append path (what HTTP, the gateway
// and the CLI call), 4 threads, one event per append, a small and a 10 kB payload.
//
//   schema_publish_bench [SECONDS_PER_ROUND=2] [ROUNDS=3] [DB_URL…]
//
// Default databases: memory: (validation against an append that costs almost nothing, the
// worst case for the ratio), a non-durable SQLite file, and a durable one (synchronous=FULL,
// what `POST /publish` uses): name a URL `durable:sqlite:PATH` to open it durable. Rounds
// alternate the two topics, the order swapped every round, so both see the same machine
// load; the best and the median round of each are reported, with the process CPU time per
// event (robust to the load of a shared machine: it does not count time spent waiting for
// a core). Each database runs in a child process, which reports its own peak RSS.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "prom/store.hpp"
#include "schema/json_schema.hpp"
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

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct round_result {
    double rate = 0;    // events/s
    double cpu_us = 0;  // process CPU time per event, all threads (the writer's too)
};

round_result run_round(store& s, const std::string& topic, const json::value& payload,
                       double seconds) {
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::vector<std::thread> ts;
    ts.reserve(threads);
    auto start = std::chrono::steady_clock::now();
    double cpu0 = cpu_seconds();
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
    auto events = static_cast<double>(done.load());
    return {events / elapsed, events > 0 ? (cpu_seconds() - cpu0) / events * 1e6 : 0};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct series {
    std::vector<double> rates, cpu_us;
    void add(const round_result& r) {
        rates.push_back(r.rate);
        cpu_us.push_back(r.cpu_us);
    }
    double best() const { return *std::max_element(rates.begin(), rates.end()); }
};

// The check alone, on one thread, against copying the payload (what every publish does
// anyway): CPU time per payload, so that the table's ratios can be read against the cost
// of valijson itself.
void check_alone(const char* name, std::string_view schema_doc, const json::value& payload) {
    auto doc = parse_json(schema_doc);
    auto compiled = schema::compiled_schema::compile(doc->get_object().at("schema"));
    if (!compiled) {
        std::fprintf(stderr, "schema: %s\n", compiled.error().message.c_str());
        std::exit(1);
    }
    auto per_payload_us = [](auto&& once) {
        long n = 0;
        double cpu0 = cpu_seconds(), spent = 0;
        while (spent < 0.5) {
            for (int i = 0; i < 50; ++i) once();
            n += 50;
            spent = cpu_seconds() - cpu0;
        }
        return spent / static_cast<double>(n) * 1e6;
    };
    bool valid = true;
    double check_us =
        per_payload_us([&] { valid = valid && !(*compiled)->first_violation(payload); });
    double copy_us = per_payload_us([&] {
        // The copy is what is timed (every publish makes one: parsing, or the caller's).
        json::value copy = payload;  // NOLINT(performance-unnecessary-copy-initialization)
        valid = valid && !copy.is_null();
    });
    if (!valid) {
        std::fprintf(stderr, "the %s payload does not match its schema\n", name);
        std::exit(1);
    }
    std::printf("check alone, one thread, %-5s: %8.1f us CPU per payload (copying it: %.1f us)\n",
                name, check_us, copy_us);
}

// One database: every payload case, its lines printed as they are measured.
bool run_db(const std::string& label, const std::string& url, bool durable, double seconds,
            int rounds) {
    auto s = open_store(url, {.durable = durable});
    if (!s) {
        std::fprintf(stderr, "%s: %s\n", url.c_str(), s.error().message.c_str());
        return false;
    }
    struct payload_case {
        const char* name;
        json::value payload;
        std::string_view schema;
    };
    payload_case cases[] = {{"small", small_payload(), small_schema},
                            {"10kB", large_payload(), large_schema}};
    for (auto& c : cases) {
        std::string plain = std::string("plain.") + c.name, typed = std::string("typed.") + c.name;
        auto put = schema::put_schema(**s, typed, *parse_json(c.schema));
        if (!put) {
            std::fprintf(stderr, "schema: %s\n", put.error().err.message.c_str());
            return false;
        }
        series p, t;
        for (int r = 0; r < rounds; ++r) {
            if (r % 2 == 0) {
                p.add(run_round(**s, plain, c.payload, seconds));
                t.add(run_round(**s, typed, c.payload, seconds));
            } else {
                t.add(run_round(**s, typed, c.payload, seconds));
                p.add(run_round(**s, plain, c.payload, seconds));
            }
        }
        std::printf("%-14s %-6s %9.0f %9.0f %9.0f %9.0f %6.2fx %6.2fx %9.1f %9.1f\n", label.c_str(),
                    c.name, p.best(), median(p.rates), t.best(), median(t.rates),
                    t.best() / p.best(), median(t.rates) / median(p.rates), median(p.cpu_us),
                    median(t.cpu_us));
        std::fflush(stdout);
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = argc > 1 ? std::stod(argv[1]) : 2.0;
    int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
    if (!(seconds > 0) || rounds < 1) {
        std::fprintf(stderr,
                     "usage: schema_publish_bench [SECONDS_PER_ROUND>0] [ROUNDS>=1] "
                     "[DB_URL…]\n");
        return 2;
    }
    std::vector<std::string> urls;
    for (int i = 3; i < argc; ++i) urls.emplace_back(argv[i]);
    bench::scratch_dir dir;
    check_alone("small", small_schema, small_payload());
    check_alone("10kB", large_schema, large_payload());

    if (urls.empty()) urls = {"memory:", dir.db("bench.db"), "durable:" + dir.db("durable.db")};

    std::printf("%-14s %-6s %9s %9s %9s %9s %7s %7s %9s %9s\n", "", "", "no schema", "", "schema",
                "", "ratio", "ratio", "cpu us/ev", "cpu us/ev");
    std::printf("%-14s %-6s %9s %9s %9s %9s %7s %7s %9s %9s\n", "db", "payload", "best", "median",
                "best", "median", "best", "median", "no schema", "schema");
    constexpr std::string_view durable_prefix = "durable:";
    for (const auto& u : urls) {
        bool durable = u.starts_with(durable_prefix);
        std::string url = durable ? u.substr(durable_prefix.size()) : u;
        std::string label = url.substr(0, url.find(':')) + (durable ? " durable" : "");
        auto m = bench::in_child([&] {
            bool ok = run_db(label, url, durable, seconds, rounds);
            std::fflush(stdout);
            return bench::measured{ok ? 1.0 : 0.0, ok ? 1.0 : -1.0, 0};
        });
        if (m.seconds < 0) return 1;
        std::printf("%-14s peak RSS %.1f MB\n", label.c_str(),
                    static_cast<double>(m.peak_rss_kb) / 1024.0);
    }
    return 0;
}
