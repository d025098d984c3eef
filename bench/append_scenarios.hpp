// The append scenarios the SQLite and PostgreSQL benchmarks share: N threads appending one
// event per call (group commit), and one caller appending batches.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "prom/store.hpp"

namespace prom::bench {

inline event_input one_event(long i) {
    event_input e;
    e.topic = "bench";
    e.key = "k" + std::to_string(i % 1000);
    e.payload = json::object{{"i", i}, {"host", "alpha"}, {"cpu_pct", 12.5}};
    return e;
}

inline measured concurrent_appenders(const std::string& url, int threads, double secs) {
    auto s = open_store(url);
    if (!s) return {0, -1, 0};
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    std::vector<std::thread> ts;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; !stop; ++i) {
                std::vector<event_input> one;
                one.push_back(one_event(t * 1000000L + i));
                if ((*s)->append(std::move(one))) ++done;
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(secs));
    stop = true;
    for (auto& t : ts) t.join();
    return {static_cast<double>(done.load()), seconds_since(t0), 0};
}

inline measured batches_of(const std::string& url, int batch, double secs) {
    auto s = open_store(url);
    if (!s) return {0, -1, 0};
    instructions_from_here();
    long done = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (seconds_since(t0) < secs) {
        std::vector<event_input> b;
        b.reserve(static_cast<std::size_t>(batch));
        for (int i = 0; i < batch; ++i) b.push_back(one_event(done + i));
        if ((*s)->append(std::move(b))) done += batch;
    }
    instructions_until_here("prom", done);
    return {static_cast<double>(done), seconds_since(t0), 0};
}

}  // namespace prom::bench
