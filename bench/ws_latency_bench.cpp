// Publish → deliver latency through the WebSocket gateway for one subscriber at a fixed
// publish rate (default 10,000 events/s), on loopback, over the in-memory store and over
// SQLite with synchronous=FULL. Each payload carries its publish time; the subscriber (a
// raw WebSocket client) measures when the event arrives.
//   ws_latency_bench [events/s, default 10000] [seconds, default 5]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "bench_util.hpp"
#include "prom/harness.hpp"
#include "support/ws_client.hpp"

using namespace prom;
using namespace std::chrono;

namespace {

std::int64_t now_ns() {
    return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

struct result_row {
    std::string backend;
    std::size_t events = 0;
    double median_ms = 0, p99_ms = 0, max_ms = 0, rate = 0;
};

result_row run(const std::string& backend, const std::string& db, double rate, double secs) {
    result_row row{backend};
    auto h = harness::start({.db = db, .process_projectors = false});
    if (!h) return row;
    test::raw_ws::handshake hs;
    auto ws = test::raw_ws::connect((*h)->port(), hs);
    if (!ws || hs.status != 101) return row;
    ws->send_text(
        R"({"op":"subscribe","topic":"lat","group":"bench","from":"latest","batchSize":1000})");
    ws->read_text();                                 // subscribed
    std::this_thread::sleep_for(milliseconds(200));  // the group is active

    const auto total = static_cast<std::size_t>(rate * secs);
    std::vector<double> latencies;
    latencies.reserve(total);
    std::thread reader([&] {
        while (latencies.size() < total) {
            auto text = ws->read_text(seconds(10));
            if (!text) break;
            auto now = now_ns();
            auto v = parse_json(*text);
            if (!v || !v->is_object() || v->at("op") != "events") continue;
            for (const auto& e : v->at("events").as_array()) {
                latencies.push_back(static_cast<double>(now - e.at("payload").at("t").as_int64()) /
                                    1e6);
            }
        }
    });
    // Four paced publishers: with a durable store a single one would be bound by one commit
    // per event; four let group commit share the fsyncs, as concurrent services would.
    bus& b = (*h)->bus();
    constexpr int publishers = 4;
    auto start = steady_clock::now();
    auto interval = duration<double>(publishers / rate);
    std::vector<std::thread> pubs;
    for (int p = 0; p < publishers; ++p) {
        pubs.emplace_back([&, p] {
            auto first = start + duration_cast<steady_clock::duration>(duration<double>(p / rate));
            for (std::size_t i = static_cast<std::size_t>(p); i < total; i += publishers) {
                std::this_thread::sleep_until(first +
                                              duration_cast<steady_clock::duration>(
                                                  interval * static_cast<double>(i / publishers)));
                (void)b.publish({.topic = "lat", .payload = json::object{{"t", now_ns()}}});
            }
        });
    }
    for (auto& t : pubs) t.join();
    row.rate = static_cast<double>(total) / duration<double>(steady_clock::now() - start).count();
    reader.join();
    std::sort(latencies.begin(), latencies.end());
    row.events = latencies.size();
    if (!latencies.empty()) {
        row.median_ms = latencies[latencies.size() / 2];
        row.p99_ms = latencies[latencies.size() * 99 / 100];
        row.max_ms = latencies.back();
    }
    return row;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    double rate = argc > 1 ? std::atof(argv[1]) : 10000;
    double secs = argc > 2 ? std::atof(argv[2]) : 5;
    bench::scratch_dir dir;
    std::printf(
        "| store | publish rate (ev/s) | delivered | median ms | p99 ms | max ms | peak RSS MiB "
        "|\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (auto [name, db] :
         {std::pair<std::string, std::string>{"memory", "memory:"}, {"sqlite", dir.db("lat.db")}}) {
        auto m = bench::in_child([&] {
            auto r = run(name, db, rate, secs);
            std::printf("| %s | %.0f | %zu | %.3f | %.3f | %.3f |", r.backend.c_str(), r.rate,
                        r.events, r.median_ms, r.p99_ms, r.max_ms);
            std::fflush(stdout);
            return bench::measured{static_cast<double>(r.events), 1, 0};
        });
        std::printf(" %.1f |\n", m.peak_rss_kb / 1024.0);
    }
    return 0;
}
