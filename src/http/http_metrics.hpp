// Counters and latency histograms of `prom serve`, rendered in the Prometheus text format.
//
// Recording is a few relaxed atomic increments, safe from any thread; rendering reads them
// without stopping writers (a scrape may see a request counted but not yet its latency).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/route.hpp"
#include "http/status_table.hpp"

namespace prom::http {

// A fixed-bucket latency histogram (seconds).
class latency_histogram {
  public:
    static constexpr std::array<double, 15> bounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                   0.0025,  0.005,  0.01,    0.025,  0.05,
                                                   0.1,     0.25,   0.5,     1.0,    2.5};
    void record(std::chrono::nanoseconds d) noexcept;
    // `name_bucket{labels,le="…"}`, `name_sum{labels}`, `name_count{labels}` lines.
    void render(std::string& out, std::string_view name, std::string_view labels) const;

  private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> sum_ns_{0};
    std::atomic<std::uint64_t> count_{0};
};

class http_metrics {
  public:
    void record_request(route_id route, unsigned status, std::chrono::nanoseconds latency) noexcept;
    void record_publish(std::size_t events, std::size_t duplicates,
                        std::chrono::nanoseconds latency) noexcept;
    void record_publish_failure() noexcept {
        publish_failures_.fetch_add(1, std::memory_order_relaxed);
    }
    void connection_opened() noexcept { connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() noexcept { connections_.fetch_sub(1, std::memory_order_relaxed); }
    std::int64_t open_connections() const noexcept { return connections_.load(); }

    void render(std::string& out) const;

  private:
    // One counter per status of known_statuses (status_table.hpp); anything else lands in
    // the last slot.
    static std::size_t status_slot(unsigned status) noexcept;

    std::array<std::array<std::atomic<std::uint64_t>, known_statuses.size() + 1>, route_count>
        requests_{};
    std::array<latency_histogram, route_count> latency_{};
    std::atomic<std::uint64_t> publish_requests_{0};
    std::atomic<std::uint64_t> publish_events_{0};
    std::atomic<std::uint64_t> publish_duplicates_{0};
    std::atomic<std::uint64_t> publish_failures_{0};
    latency_histogram publish_latency_;
    std::atomic<std::int64_t> connections_{0};
};

// "# HELP name text" and "# TYPE name type" lines of the Prometheus text format.
void append_metric_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help);

}  // namespace prom::http
