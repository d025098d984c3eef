// Operations benchmarks (docs/operations.md, results in docs/benchmarks.md):
//
// 1. The bulk replayer against what an operator would do without it: `prom scan SRC` piped
//    into batched appends of the same events (NDJSON out, parsed back, the same filter and
//    template, appends of 1,000 in one transaction each), in the same run, on the same store.
// 2. The cost of the lag metrics on /metrics with 1,000 groups (the node's group lines).
//
//   ops_bench [--db URL] [--events N] [--groups N]      (default: a scratch SQLite file)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "ops/replayer.hpp"
#include "prom/store.hpp"
#include "server/node_metrics.hpp"
#include "userproj/event_filter.hpp"
#include "userproj/value_template.hpp"

using namespace prom;

namespace {

constexpr const char* where_text = R"({"payload.keep": true})";
constexpr const char* map_text = R"({"n": "$payload.n", "from": "$id"})";

void fill(store& s, const std::string& topic, int n) {
    std::vector<event_input> batch;
    for (int i = 1; i <= n; ++i) {
        batch.push_back(
            {.topic = topic,
             .id = "e" + std::to_string(i),
             .key = "k" + std::to_string(i % 97),
             .ts = ts_ms{1'000'000 + i},
             .payload = json::object{{"n", i}, {"keep", i % 3 != 0}, {"pad", "xxxxxxxxxxxxxxxx"}}});
        if (batch.size() == 5000) {
            if (!s.append(std::move(batch))) std::abort();
            batch.clear();
        }
    }
    if (!batch.empty() && !s.append(std::move(batch))) std::abort();
}

double run_replayer(store& s, const std::string& src, const std::string& dst,
                    std::int64_t& copied) {
    ops::replay_spec spec{
        .src = src, .dst = dst, .where = *parse_json(where_text), .map = *parse_json(map_text)};
    auto c = ops::compile_replay(s, spec);
    if (!c) {
        std::fprintf(stderr, "%s\n", c.error().message.c_str());
        std::abort();
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = ops::run_replay(s, **c, {});
    if (!r) std::abort();
    copied = r->copied;
    return bench::seconds_since(t0);
}

// `prom scan SRC | batched appends`: pages of 1,000 as NDJSON text (what the pipe carries),
// parsed back, filtered and mapped the same way, appended 1,000 per transaction.
double run_scan_pipe(store& s, const std::string& src, const std::string& dst,
                     std::int64_t& copied) {
    auto filter = userproj::compile_filter(*parse_json(where_text), "/where");
    auto tmpl = userproj::compile_value(*parse_json(map_text), "/map");
    if (!filter || !tmpl) std::abort();
    auto t0 = std::chrono::steady_clock::now();
    scan_query q{.topic = src, .limit = 1000};
    std::vector<event_input> out;
    copied = 0;
    for (;;) {
        auto page = s.scan(q);
        if (!page) std::abort();
        std::string text;
        for (const auto& e : *page) {
            text += to_json_text(e);
            text += '\n';
        }
        std::size_t pos = 0;
        while (pos < text.size()) {
            auto nl = text.find('\n', pos);
            auto v = parse_json(std::string_view(text).substr(pos, nl - pos));
            pos = nl + 1;
            if (!v) std::abort();
            const auto& o = v->as_object();
            event e;
            e.id = o.at("id").as_string();
            e.topic = o.at("topic").as_string();
            e.key = o.at("key").as_string();
            e.ts = ts_ms{o.at("ts").as_int64()};
            e.seq = seq_t{o.at("seq").as_int64()};
            e.payload = o.at("payload");
            if (!userproj::matches(*filter, e)) continue;
            auto payload = userproj::expand(*tmpl, e);
            if (!payload) std::abort();
            out.push_back({.topic = dst,
                           .id = "copy:" + e.id,
                           .key = e.key,
                           .ts = e.ts,
                           .payload = std::move(*payload)});
            if (out.size() == 1000) {
                auto txn = s.begin();
                if (!txn || !(*txn)->append(std::move(out)) || !(*txn)->commit()) std::abort();
                copied += 1000;
                out.clear();
            }
        }
        if (page->size() < *q.limit) break;
        q.from_seq = page->back().seq + 1;
    }
    if (!out.empty()) {
        copied += static_cast<std::int64_t>(out.size());
        auto txn = s.begin();
        if (!txn || !(*txn)->append(std::move(out)) || !(*txn)->commit()) std::abort();
    }
    return bench::seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
    std::string db;
    int events = 100'000, groups = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--db")) db = argv[i + 1];
        if (!std::strcmp(argv[i], "--events")) events = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--groups")) groups = std::atoi(argv[i + 1]);
    }
    bench::scratch_dir scratch;
    if (db.empty()) db = "sqlite:" + (scratch.path / "ops.db").string();
    auto opened = open_store(db, {.durable = false});
    if (!opened) {
        std::fprintf(stderr, "%s\n", opened.error().message.c_str());
        return 1;
    }
    store& s = **opened;
    const std::string tag = to_string(now_ms());
    const std::string src = "bench.src." + tag;
    fill(s, src, events);

    std::printf("backend %s, %d source events (2 in 3 match)\n", db.substr(0, db.find(':')).c_str(),
                events);
    std::int64_t a = 0, b = 0;
    // Alternate the order, twice each, so that neither side always runs on a warmer cache.
    double replayer = 0, pipe = 0;
    for (int round = 0; round < 2; ++round) {
        const std::string r = std::to_string(round);
        if (round % 2 == 0) {
            replayer += run_replayer(s, src, "bench.replay." + tag + "." + r, a);
            pipe += run_scan_pipe(s, src, "bench.pipe." + tag + "." + r, b);
        } else {
            pipe += run_scan_pipe(s, src, "bench.pipe." + tag + "." + r, b);
            replayer += run_replayer(s, src, "bench.replay." + tag + "." + r, a);
        }
    }
    std::printf("replayer:              %8.0f events/s (%lld copies, exactly once)\n",
                2 * events / replayer, static_cast<long long>(a));
    std::printf("scan | batched appends: %8.0f events/s (%lld copies, no cursor)\n",
                2 * events / pipe, static_cast<long long>(b));
    std::printf("ratio replayer / pipe:  %.2fx\n", pipe / replayer);

    // /metrics with `groups` groups on the source topic, at various cursors.
    for (int g = 0; g < groups; ++g) {
        if (!s.set_cursor(src, "group-" + std::to_string(g), seq_t{(g * 97) % events}))
            std::abort();
    }
    server::node_metrics metrics(s, nullptr);
    std::vector<double> ms;
    std::size_t bytes = 0;
    for (int i = 0; i < 30; ++i) {
        std::string out;
        auto t0 = std::chrono::steady_clock::now();
        metrics.append_metrics(out);
        ms.push_back(bench::seconds_since(t0) * 1000);
        bytes = out.size();
    }
    std::sort(ms.begin(), ms.end());
    std::printf(
        "group metrics, %d groups (+%d replay groups): median %.2f ms, p90 %.2f ms, %zu bytes\n",
        groups, 4, ms[ms.size() / 2], ms[ms.size() * 9 / 10], bytes);
    return 0;
}
