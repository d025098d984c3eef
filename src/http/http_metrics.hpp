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
#include "prom/latency_histogram.hpp"

namespace prom::http {

using prom::latency_histogram;

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
