// Retention benchmarks (docs/retention.md, results in docs/benchmarks.md):
//
// 1. Compaction throughput: one pass (compact, horizon 1 day) over a topic of N events with
//    K keys, all older than the horizon, so that all but the latest event of each key go;
//    events examined per second, against a plain scan of the same topic in the same run
//    (the baseline: reading every event once).
// 2. Publish latency while the pass runs against without one, interleaved in the same run:
//    one publisher appends single events to another topic at a steady rate for the whole
//    pass, and the pass works in alternate windows (--window, 2 s: it waits between two
//    transactions while a window is "off"), so both halves see the same disk, WAL and
//    neighbours. Each append counts for the window it started in, except those that start
//    in the first 100 ms after a switch (what is in flight then belongs to neither); p50/p99
//    of each half, and the ratio of the p99s (target <= 2x).
// 3. The database before and after: the topic's bytes (store::topic_sizes) and, on SQLite,
//    the file's size after store::reclaim_space.
//
// The topic is filled in a child process, so the peak RSS printed is the pass's and the
// publisher's, not the fill's.
//
//   retention_bench [--db URL] [--events N] [--keys K] [--rate PER_SECOND] [--durable 0|1]
//                   [--batch EVENTS_PER_TRANSACTION] [--pause MICROSECONDS] [--window MS]
//   (default: a scratch SQLite file, 1,000,000 events, 10,000 keys, 500 publishes/s, durable,
//   the backend's events per transaction and pause between them: retention::default_pacing)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "prom/store.hpp"
#include "retention/retention.hpp"

using namespace prom;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t day_ms = 86'400'000;

struct args {
    std::string db;
    std::int64_t events = 1'000'000;
    std::int64_t keys = 10'000;
    int rate = 500;
    bool durable = true;
    // Events per transaction and the pause between them; unset, the backend's
    // (retention::default_pacing).
    std::optional<std::size_t> batch;
    std::optional<std::chrono::microseconds> pause;
    std::chrono::milliseconds window{2000};  // the pass works in every other window
};

// Alternate windows from `start`: even ones with the pass working, odd ones without.
struct windows {
    std::chrono::steady_clock::time_point start;
    std::chrono::milliseconds length;
    static constexpr auto settle = std::chrono::milliseconds(100);

    std::int64_t index(std::chrono::steady_clock::time_point t) const {
        return (t - start) / length;
    }
    bool pass_on(std::chrono::steady_clock::time_point t) const { return index(t) % 2 == 0; }
    bool settling(std::chrono::steady_clock::time_point t) const {
        return (t - start) % length < settle;
    }
    std::chrono::steady_clock::time_point next_on(std::chrono::steady_clock::time_point t) const {
        return start + (index(t) + 1) * length;
    }
};

void fill(store& s, const std::string& topic, std::int64_t n, std::int64_t keys) {
    // Thirty days ago and older: every event is behind a one-day horizon.
    const std::int64_t base = now_ms().value - 30 * day_ms - n;
    std::vector<event_input> batch;
    for (std::int64_t i = 1; i <= n; ++i) {
        batch.push_back({.topic = topic,
                         .key = "key-" + std::to_string(i % keys),
                         .ts = ts_ms{base + i},
                         .payload = json::object{{"n", i},
                                                 {"status", i % 3 == 0 ? "open" : "closed"},
                                                 {"pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}});
        if (batch.size() == 5000) {
            if (!s.append(std::move(batch))) std::abort();
            batch.clear();
        }
    }
    if (!batch.empty() && !s.append(std::move(batch))) std::abort();
}

std::int64_t file_bytes(const std::string& url) {
    if (!url.starts_with("sqlite:")) return -1;
    std::string path = url.substr(7);
    std::int64_t total = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ec;
        auto n = std::filesystem::file_size(path + suffix, ec);
        if (!ec) total += static_cast<std::int64_t>(n);
    }
    return total;
}

std::int64_t topic_bytes(store& s, const std::string& topic) {
    auto sizes = s.topic_sizes();
    if (!sizes) std::abort();
    for (const auto& z : *sizes) {
        if (z.topic == topic) return z.bytes;
    }
    return 0;
}

struct latencies {
    std::vector<double> ms;
    double pct(double p) {
        if (ms.empty()) return 0;
        std::sort(ms.begin(), ms.end());
        return ms[std::min(ms.size() - 1,
                           static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
    }
};

// Appends one event at a time at `rate` per second until `stop`, timing each append; each
// counts for the window it started in (`on`: the pass's, `off`: the other).
void publish_until(store& s, const std::string& topic, int rate, const std::atomic<bool>& stop,
                   const windows& w, latencies& on, latencies& off) {
    const auto period = std::chrono::microseconds(1'000'000 / std::max(rate, 1));
    auto next = std::chrono::steady_clock::now();
    std::int64_t i = 0;
    while (!stop.load()) {
        std::this_thread::sleep_until(next);
        next += period;
        auto t0 = std::chrono::steady_clock::now();
        auto r = s.append({{.topic = topic,
                            .key = "live-" + std::to_string(++i % 100),
                            .payload = json::object{{"i", i}}}});
        if (!r) {
            std::fprintf(stderr, "publish: %s\n", r.error().message.c_str());
            std::abort();
        }
        const double ms = bench::seconds_since(t0) * 1000;
        if (t0 < w.start || w.settling(t0)) continue;  // warming up, or in between
        (w.pass_on(t0) ? on : off).ms.push_back(ms);
    }
}

}  // namespace

int main(int argc, char** argv) {
    args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--db")) a.db = argv[i + 1];
        if (!std::strcmp(argv[i], "--events")) a.events = std::atoll(argv[i + 1]);
        if (!std::strcmp(argv[i], "--keys")) a.keys = std::atoll(argv[i + 1]);
        if (!std::strcmp(argv[i], "--rate")) a.rate = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--durable")) a.durable = std::atoi(argv[i + 1]) != 0;
        if (!std::strcmp(argv[i], "--batch")) a.batch = std::strtoull(argv[i + 1], nullptr, 10);
        if (!std::strcmp(argv[i], "--window")) {
            a.window = std::chrono::milliseconds(std::max(200LL, std::atoll(argv[i + 1])));
        }
        if (!std::strcmp(argv[i], "--pause")) {
            a.pause = std::chrono::microseconds(std::atoll(argv[i + 1]));
        }
    }
    if (a.events < 1 || a.keys < 1 || a.keys > a.events) {
        std::fprintf(stderr, "--events >= --keys >= 1\n");
        return 2;
    }
    bench::scratch_dir scratch;
    if (a.db.empty()) a.db = "sqlite:" + (scratch.path / "retention.db").string();
    const auto backend = retention::default_pacing(a.db);
    const std::size_t batch = a.batch.value_or(backend.batch_events);
    const std::chrono::microseconds pause = a.pause.value_or(backend.pause);
    const std::string tag = to_string(now_ms());
    const std::string topic = "bench.retention." + tag;
    const std::string live = "bench.live." + tag;

    auto t_fill = std::chrono::steady_clock::now();
    auto filled = bench::in_child([&] {
        auto s = open_store(a.db, {.durable = false});
        if (!s) std::abort();
        fill(**s, topic, a.events, a.keys);
        if (!(*s)->reclaim_space()) std::abort();
        return bench::measured{static_cast<double>(a.events), 0};
    });
    if (filled.seconds < 0) {
        std::fprintf(stderr, "the fill failed\n");
        return 1;
    }
    const double fill_s = bench::seconds_since(t_fill);

    auto opened = open_store(a.db, {.durable = a.durable});
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.error().message.c_str());
        return 1;
    }
    store& s = **opened;
    std::printf(
        "backend %s (%s), %lld events, %lld keys, %zu deletes per transaction, pause %lld us, "
        "filled in %.1f s\n",
        a.db.substr(0, a.db.find(':')).c_str(), a.durable ? "durable" : "not durable",
        static_cast<long long>(a.events), static_cast<long long>(a.keys), batch,
        static_cast<long long>(pause.count()), fill_s);

    const std::int64_t bytes_before = topic_bytes(s, topic);
    const std::int64_t file_before = file_bytes(a.db);

    // Baseline of the pass: read every event of the topic once.
    auto t_scan = std::chrono::steady_clock::now();
    std::int64_t scanned = 0;
    for (scan_query q{.topic = topic, .limit = 10000};;) {
        auto page = s.scan(q);
        if (!page) std::abort();
        scanned += static_cast<std::int64_t>(page->size());
        if (page->size() < *q.limit) break;
        q.from_seq = page->back().seq + 1;
    }
    const double scan_s = bench::seconds_since(t_scan);

    auto policy = retention::parse_policy(topic, *parse_json(R"({"compact":{"horizon":"1d"}})"));
    if (!policy) std::abort();

    // A dry run plans without writing.
    auto t_dry = std::chrono::steady_clock::now();
    auto dry = retention::run_pass(s, topic, *policy, {.now = now_ms(), .dry_run = true});
    if (!dry) {
        std::fprintf(stderr, "dry run: %s\n", dry.error().message.c_str());
        return 1;
    }
    const double dry_s = bench::seconds_since(t_dry);

    // The pass in alternate windows, the publisher running throughout.
    std::atomic<bool> stop{false};
    latencies busy, quiet;
    const windows w{std::chrono::steady_clock::now() + 200ms, a.window};
    std::thread pub([&] { publish_until(s, live, a.rate, stop, w, busy, quiet); });
    std::this_thread::sleep_until(w.start);  // the publisher is in its stride
    retention::pass_options o{.now = now_ms(), .batch_events = batch, .pause = pause};
    o.on_progress = [&](const retention::pass_progress&) {
        // Between two transactions: an "off" window waits for the next "on" one.
        auto now = std::chrono::steady_clock::now();
        if (!w.pass_on(now)) std::this_thread::sleep_until(w.next_on(now));
    };
    auto t_pass = std::chrono::steady_clock::now();
    auto pass = retention::run_pass(s, topic, *policy, o);
    const double pass_s = bench::seconds_since(t_pass);
    stop = true;
    pub.join();
    if (!pass) {
        std::fprintf(stderr, "pass: %s\n", pass.error().message.c_str());
        return 1;
    }
    // The pass's own time: its "on" windows, the last one cut where the pass ended.
    const auto pass_windows = w.index(std::chrono::steady_clock::now());
    const double window_s = std::chrono::duration<double>(a.window).count();
    const std::int64_t whole_on_windows = pass_windows / 2;  // windows 0, 2, … before the last
    const double pass_work_s = std::min(
        pass_s, static_cast<double>(whole_on_windows) * window_s +
                    (pass_windows % 2 == 0 ? pass_s - static_cast<double>(pass_windows) * window_s
                                           : window_s));

    auto t_reclaim = std::chrono::steady_clock::now();
    if (auto ok = s.reclaim_space(); !ok) {
        std::fprintf(stderr, "reclaim_space: %s\n", ok.error().message.c_str());
        return 1;
    }
    const double reclaim_s = bench::seconds_since(t_reclaim);
    const std::int64_t bytes_after = topic_bytes(s, topic);
    const std::int64_t file_after = file_bytes(a.db);

    std::printf("scan of the topic (baseline): %10.0f events/s (%lld events, %.2f s)\n",
                static_cast<double>(scanned) / scan_s, static_cast<long long>(scanned), scan_s);
    std::printf("dry run:                      %10.0f events/s (%.2f s)\n",
                static_cast<double>(dry->examined) / dry_s, dry_s);
    std::printf(
        "compaction pass:              %10.0f events examined/s (%lld examined, %lld "
        "dropped, %lld keys, %.2f s working in %.2f s)\n",
        static_cast<double>(pass->examined) / pass_work_s, static_cast<long long>(pass->examined),
        static_cast<long long>(pass->compacted) + static_cast<long long>(pass->retained_out),
        static_cast<long long>(pass->keys), pass_work_s, pass_s);
    std::printf("ratio pass / scan:            %.2fx the scan's time\n", pass_work_s / scan_s);
    const double q99 = quiet.pct(0.99), b99 = busy.pct(0.99);
    std::printf(
        "publish latency, no pass:     p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu publishes at "
        "%d/s, windows of %lld ms)\n",
        quiet.pct(0.5), q99, quiet.pct(1.0), quiet.ms.size(), a.rate,
        static_cast<long long>(a.window.count()));
    std::printf("publish latency, during pass: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu)\n",
                busy.pct(0.5), b99, busy.pct(1.0), busy.ms.size());
    std::printf("ratio p99 during / without:   %.2fx (target <= 2x)\n", q99 > 0 ? b99 / q99 : 0);
    std::printf("topic bytes:                  %lld before, %lld after (%.1f%%)\n",
                static_cast<long long>(bytes_before), static_cast<long long>(bytes_after),
                bytes_before > 0
                    ? 100.0 * static_cast<double>(bytes_after) / static_cast<double>(bytes_before)
                    : 0.0);
    if (file_before >= 0) {
        std::printf(
            "database file:                %.1f MB before, %.1f MB after reclaim_space "
            "(%.2f s)\n",
            static_cast<double>(file_before) / 1e6, static_cast<double>(file_after) / 1e6,
            reclaim_s);
    }
    std::printf("peak RSS (pass and publisher; the fill ran in a child): %.1f MB\n",
                static_cast<double>(bench::peak_rss_kb()) / 1024);
    return 0;
}
