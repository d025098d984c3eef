// Time travel at scale (docs/benchmarks.md, "Time travel"): `at` latency on SQLite against a
// fold over the whole history (no snapshots).
//
// Loads N events over K keys (default 1,000,000 over 10,000; out-of-order timestamps, 1%
// late by up to an hour) with store::append batches of 1000, builds snapshots, then times
// random (key, T) queries three ways in one run:
//   - prom: time_machine::at (nearest snapshot at or before T + the key's events after it);
//   - prom without snapshots: the key's events from its first one (index seek, no topic scan);
//   - seed: reconstructAt from the seed document with no snapshot: scan the topic in seq
//     order and filter by key in memory. Its Mongo scan returns up to 1,000,000 events at
//     once; here it pages 10,000 at a time (kinder to it) and, unlike the seed, sorts the
//     matches by (ts, seq) so that its answers are right and can be compared with ours.
// Prints a markdown table (docs/benchmarks.md keeps the results). Not part of ctest.
//
//   timetravel_bench [--db PATH] [--events N] [--keys K] [--queries Q] [--seed-queries S]
//                    [--every N] [--reducer merge|replace] [--reuse]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "prom/store.hpp"
#include "prom/timetravel.hpp"

namespace {

using namespace prom;
using clock_type = std::chrono::steady_clock;

struct config {
    std::string db = "/tmp/prom-timetravel-bench/prom.db";
    std::int64_t events = 1'000'000;
    std::int64_t keys = 10'000;
    int queries = 10'000;
    int seed_queries = 20;
    std::int64_t every = 64;
    std::string reducer = "merge";
    bool reuse = false;
};

constexpr std::string_view topic = "bench.state";
constexpr ts_ms t0{1'790'000'000'000};  // 2026-09

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

long peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;  // Linux reports KiB
}

[[noreturn]] void die(const std::string& what, const error& e) {
    std::fprintf(stderr, "timetravel_bench: %s: %s\n", what.c_str(), e.message.c_str());
    std::exit(1);
}

std::string key_name(std::int64_t k) { return "host-" + std::to_string(k); }

// Heartbeat-like merge patches: a few fields each, sometimes a status change or a removal.
json::value payload_for(std::int64_t i, std::mt19937_64& rng) {
    json::object o;
    o["n"] = i;
    if (rng() % 2) o["cpu_pct"] = static_cast<double>(rng() % 10000) / 100.0;
    if (rng() % 2) o["mem_mb"] = static_cast<std::int64_t>(rng() % 16384);
    if (rng() % 10 == 0) o["status"] = rng() % 4 == 0 ? "stale" : "alive";
    if (rng() % 50 == 0)
        o["note"] = nullptr;
    else if (rng() % 50 == 0)
        o["note"] = "restarted";
    return o;
}

void load(store& s, const config& c) {
    std::mt19937_64 rng(42);
    auto start = clock_type::now();
    constexpr std::int64_t batch_size = 1000;
    for (std::int64_t first = 0; first < c.events; first += batch_size) {
        std::vector<event_input> batch;
        for (std::int64_t i = first; i < std::min(first + batch_size, c.events); ++i) {
            event_input in;
            in.topic = std::string(topic);
            in.key =
                key_name(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(c.keys)));
            // 10 ms apart with +-2 s of jitter (out of order, some equal); 1% up to an hour late.
            std::int64_t jitter = static_cast<std::int64_t>(rng() % 4001) - 2000;
            if (rng() % 100 == 0) jitter = -static_cast<std::int64_t>(rng() % 3'600'000);
            in.ts = t0 + i * 10 + jitter;
            in.id = "e" + std::to_string(i);
            in.payload = payload_for(i, rng);
            batch.push_back(std::move(in));
        }
        if (auto r = s.append(std::move(batch)); !r) die("append", r.error());
    }
    std::printf("loaded %lld events over %lld keys in %.1f s\n", static_cast<long long>(c.events),
                static_cast<long long>(c.keys), seconds_since(start));
}

// The seed's reconstructAt without a snapshot: every event of the topic, filtered by key.
std::optional<state_at> seed_at(store& s, std::string_view key, ts_ms t, const reducer& r) {
    std::vector<event> mine;
    scan_query q{.topic = std::string(topic), .limit = 10'000};
    for (;;) {
        auto page = s.scan(q);
        if (!page) die("scan", page.error());
        for (auto& e : *page) {
            if (e.key == key && e.ts <= t) mine.push_back(std::move(e));
        }
        if (page->size() < *q.limit) break;
        q.from_seq = page->back().seq + 1;
    }
    if (mine.empty()) return std::nullopt;
    std::sort(mine.begin(), mine.end(),
              [](auto& a, auto& b) { return std::pair(a.ts, a.seq) < std::pair(b.ts, b.seq); });
    json::value state;
    for (const auto& e : mine) state = *r.apply(std::move(state), e);
    return state_at{std::move(state), mine.back().ts, mine.back().seq};
}

struct query {
    std::string key;
    ts_ms t;
};

struct stats {
    double median_us, p99_us, mean_us;
};

stats summarize(std::vector<double> us) {
    if (us.empty()) return {0, 0, 0};
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (double v : us) sum += v;
    auto at = [&](double q) {
        return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))];
    };
    return {at(0.5), at(0.99), sum / static_cast<double>(us.size())};
}

template <class F>
stats time_queries(const std::vector<query>& qs, F&& run) {
    std::vector<double> us;
    us.reserve(qs.size());
    for (const auto& q : qs) {
        auto start = clock_type::now();
        run(q);
        us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
    }
    return summarize(std::move(us));
}

config parse_args(int argc, char** argv) {
    config c;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "timetravel_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--db")
            c.db = next();
        else if (a == "--events")
            c.events = std::stoll(next());
        else if (a == "--keys")
            c.keys = std::stoll(next());
        else if (a == "--queries")
            c.queries = std::stoi(next());
        else if (a == "--seed-queries")
            c.seed_queries = std::stoi(next());
        else if (a == "--every")
            c.every = std::stoll(next());
        else if (a == "--reducer")
            c.reducer = next();
        else if (a == "--reuse")
            c.reuse = true;
        else {
            std::fprintf(stderr, "timetravel_bench: unknown argument %s\n", a.c_str());
            std::exit(2);
        }
    }
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    config c = parse_args(argc, argv);
    auto r = builtin_reducer(c.reducer);
    if (!r) die("reducer", r.error());

    bool fresh = !c.reuse || !std::filesystem::exists(c.db);
    if (fresh) {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(c.db + suffix, ec);
    }
    auto opened = open_store("sqlite:" + c.db, {.durable = false});  // synchronous=NORMAL
    if (!opened) die("open", opened.error());
    store& s = **opened;
    if (fresh) load(s, c);
    auto info = s.topic(topic);
    if (!info || !*info) die("topic", info ? error{errc::not_found, "no events"} : info.error());
    std::printf("topic %s: %lld events; database %.0f MB\n", std::string(topic).c_str(),
                static_cast<long long>((*info)->count),
                static_cast<double>(std::filesystem::file_size(c.db)) / 1e6);

    time_machine tm(s, {.snapshot_every = c.every});
    {
        auto start = clock_type::now();
        auto n = tm.build_snapshots(topic, *r);
        if (!n) die("build snapshots", n.error());
        std::printf("snapshots (every %lld events, reducer %s) built for %zu keys in %.1f s\n",
                    static_cast<long long>(c.every), r->name.c_str(), *n, seconds_since(start));
    }

    // Random (key, T): T uniform over the history, from just before its start to its end.
    std::mt19937_64 rng(7);
    ts_ms lo = t0 - 2000, hi = t0 + c.events * 10 + 2000;
    std::vector<query> qs(static_cast<std::size_t>(c.queries));
    for (auto& q : qs) {
        q.key = key_name(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(c.keys)));
        q.t = lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo));
    }

    std::size_t with_state = 0;
    auto ours = time_queries(qs, [&](const query& q) {
        auto a = tm.at(topic, q.key, q.t, *r);
        if (!a) die("at", a.error());
        with_state += *a ? 1 : 0;
    });
    time_machine plain(s, {.use_snapshots = false});
    auto no_snaps = time_queries(qs, [&](const query& q) {
        if (auto a = plain.at(topic, q.key, q.t, *r); !a) die("at", a.error());
    });
    long rss_ours = peak_rss_mb();

    std::vector<query> sample(
        qs.begin(),
        qs.begin() + std::min<std::size_t>(qs.size(), static_cast<std::size_t>(c.seed_queries)));
    int agree = 0;
    auto seed = time_queries(sample, [&](const query& q) {
        auto want = seed_at(s, q.key, q.t, *r);
        auto got = tm.at(topic, q.key, q.t, *r);  // not part of the timing that matters (µs)
        auto text = [](const std::optional<state_at>& x) {
            return x ? canonical_json(json::value(to_json(*x))) : std::string("none");
        };
        agree += got && text(*got) == text(want) ? 1 : 0;
    });
    long rss_all = peak_rss_mb();

    std::printf("\n%d queries (%zu with a state), reducer %s; seed algorithm on the first %zu\n\n",
                c.queries, with_state, r->name.c_str(), sample.size());
    std::printf("| algorithm | queries | median | p99 | mean |\n|---|---:|---:|---:|---:|\n");
    auto row = [](const char* name, std::size_t n, const stats& st) {
        std::printf("| %s | %zu | %.1f µs | %.1f µs | %.1f µs |\n", name, n, st.median_us,
                    st.p99_us, st.mean_us);
    };
    row("prom `at` (snapshot + events after it)", qs.size(), ours);
    row("prom `at`, snapshots off (key index only)", qs.size(), no_snaps);
    row("seed `reconstructAt` (full topic scan)", sample.size(), seed);
    std::printf("\nspeed-up, median: %.0fx over the seed, %.1fx over no snapshots\n",
                seed.median_us / ours.median_us, no_snaps.median_us / ours.median_us);
    std::printf("seed answers equal to prom's: %d/%zu\n", agree, sample.size());
    std::printf("peak RSS: %ld MB after prom's queries, %ld MB after the seed's\n", rss_ours,
                rss_all);
    return agree == static_cast<int>(sample.size()) ? 0 : 1;
}
