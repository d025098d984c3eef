// A fixed-bucket latency histogram (seconds) in the Prometheus text format: HTTP routes,
// publish→commit, projector batches (docs/operations.md lists them).
//
// Recording is a few relaxed atomic increments, safe from any thread; rendering reads them
// without stopping writers (a scrape may see a count without its sum yet).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace prom {

class latency_histogram {
  public:
    static constexpr std::array<double, 15> bounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                   0.0025,  0.005,  0.01,    0.025,  0.05,
                                                   0.1,     0.25,   0.5,     1.0,    2.5};
    void record(std::chrono::nanoseconds d) noexcept;
    // Adds what `other` recorded (a stopped recorder's counts kept under the same labels).
    void add(const latency_histogram& other) noexcept;
    // `name_bucket{labels,le="…"}`, `name_sum{labels}`, `name_count{labels}` lines.
    void render(std::string& out, std::string_view name, std::string_view labels) const;
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

  private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> sum_ns_{0};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace prom
