// What idle WebSocket subscribers cost, and the latency of the active ones beside them:
// 10,000 idle subscriptions (each on a topic of its own that nobody publishes to) and
// 1,000 active ones (a topic each), publishing 10,000 events/s spread over the active
// topics. Reports the process's threads and RSS before and after subscribing, per
// subscription, and publish → deliver latency. The server runs in this process (harness),
// so the RSS figure includes the client's side of each connection too: an upper bound.
//   ws_idle_bench [idle, default 10000] [active, default 1000] [events/s, default 10000]
//                 [seconds, default 5] [subscriptions per connection, default 10]
//                 [store URL, default memory:] [publishers, default 4]
// A durable publish waits for its commit, so on SQLite the publishers bound the rate (each
// waits one fsync per event): give it enough of them (e.g. 64) to reach 10,000 events/s.
#include <dirent.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <mutex>
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

std::size_t thread_count() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
        ::closedir(d);
    }
    return n;
}

double rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6);
    }
    return 0;
}

// Opens connections carrying `count` subscriptions, `per` each, to topics prefix.N.
std::vector<std::unique_ptr<test::raw_ws>> subscribe_all(std::uint16_t port,
                                                         const std::string& prefix,
                                                         std::size_t count, std::size_t per) {
    std::vector<std::unique_ptr<test::raw_ws>> conns;
    for (std::size_t i = 0; i < count; i += per) {
        test::raw_ws::handshake hs;
        auto ws = test::raw_ws::connect(port, hs);
        if (!ws || hs.status != 101) {
            std::fprintf(stderr, "connect failed after %zu connections\n", conns.size());
            std::exit(1);
        }
        const std::size_t n = std::min(per, count - i);
        for (std::size_t j = 0; j < n; ++j) {
            ws->send_text(R"({"op":"subscribe","topic":")" + prefix + "." + std::to_string(i + j) +
                          R"(","from":"latest","batchSize":1000})");
        }
        for (std::size_t j = 0; j < n; ++j) ws->read_text();  // subscribed
        conns.push_back(std::move(ws));
    }
    return conns;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    const std::size_t idle = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    const std::size_t active = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
    const double rate = argc > 3 ? std::atof(argv[3]) : 10000;
    const double secs = argc > 4 ? std::atof(argv[4]) : 5;
    const std::size_t per = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 10;
    const std::string db = argc > 6 ? argv[6] : "memory:";
    const std::size_t publishers = argc > 7 ? std::strtoul(argv[7], nullptr, 10) : 4;

    auto h = harness::start({.db = db, .process_projectors = false});
    if (!h) return 1;
    std::this_thread::sleep_for(milliseconds(300));
    const auto threads0 = thread_count();
    const auto rss0 = rss_kib();
    auto idle_conns = subscribe_all((*h)->port(), "idle", idle, per);
    auto active_conns = subscribe_all((*h)->port(), "act", active, per);
    std::this_thread::sleep_for(milliseconds(500));  // every consumer has started and gone idle
    const auto threads1 = thread_count();
    const auto rss1 = rss_kib();
    const double subs = static_cast<double>(idle + active);
    std::printf("store: %s, %zu publishers\n", db.c_str(), publishers);
    std::printf("subscriptions: %zu idle + %zu active on %zu connections (%zu per connection)\n",
                idle, active, idle_conns.size() + active_conns.size(), per);
    std::printf("threads: %zu before, %zu after (+%zd)\n", threads0, threads1,
                static_cast<std::ptrdiff_t>(threads1) - static_cast<std::ptrdiff_t>(threads0));
    std::printf(
        "RSS: %.1f MiB before, %.1f MiB after: %.2f KiB per subscription (server and client)\n",
        rss0 / 1024, rss1 / 1024, (rss1 - rss0) / subs);

    // One reader thread per active connection (the client's, not the server's).
    const auto total = static_cast<std::size_t>(rate * secs);
    std::mutex mu;
    std::vector<double> latencies;
    latencies.reserve(total);
    std::atomic<std::size_t> received{0};
    std::vector<std::thread> readers;
    for (auto& ws : active_conns) {
        readers.emplace_back([&, c = ws.get()] {
            std::vector<double> mine;
            while (received.load() < total) {
                auto text = c->read_text(seconds(3));
                if (!text) break;
                auto now = now_ns();
                auto v = parse_json(*text);
                if (!v || !v->is_object() || v->at("op") != "events") continue;
                for (const auto& e : v->at("events").as_array()) {
                    mine.push_back(static_cast<double>(now - e.at("payload").at("t").as_int64()) /
                                   1e6);
                }
                received += v->at("events").as_array().size();
            }
            std::lock_guard lock(mu);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    bus& b = (*h)->bus();
    auto start = steady_clock::now();
    auto interval = duration<double>(static_cast<double>(publishers) / rate);
    std::vector<std::thread> pubs;
    for (std::size_t p = 0; p < publishers; ++p) {
        pubs.emplace_back([&, p] {
            auto first = start + duration_cast<steady_clock::duration>(
                                     duration<double>(static_cast<double>(p) / rate));
            for (std::size_t i = p; i < total; i += publishers) {
                std::this_thread::sleep_until(first +
                                              duration_cast<steady_clock::duration>(
                                                  interval * static_cast<double>(i / publishers)));
                (void)b.publish({.topic = "act." + std::to_string(i % active),
                                 .payload = json::object{{"t", now_ns()}}});
            }
        });
    }
    for (auto& t : pubs) t.join();
    const double achieved =
        static_cast<double>(total) / duration<double>(steady_clock::now() - start).count();
    for (auto& t : readers) t.join();
    std::sort(latencies.begin(), latencies.end());
    std::printf("publish %.0f events/s over %zu topics: delivered %zu of %zu", achieved, active,
                latencies.size(), total);
    if (!latencies.empty()) {
        std::printf(", median %.3f ms, p99 %.3f ms, max %.3f ms", latencies[latencies.size() / 2],
                    latencies[latencies.size() * 99 / 100], latencies.back());
    }
    std::printf("\npeak RSS: %.1f MiB\n", rss_kib() / 1024);
    return 0;
}
