#include "http/http_metrics.hpp"

#include <cstdio>

namespace prom::http {

namespace {

void append_u64(std::string& out, std::uint64_t v) { out += std::to_string(v); }

}  // namespace

void append_metric_header(std::string& out, std::string_view name, std::string_view type,
                          std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

std::size_t http_metrics::status_slot(unsigned status) noexcept {
    for (std::size_t i = 0; i < known_statuses.size(); ++i) {
        if (known_statuses[i].code == status) return i;
    }
    return known_statuses.size();
}

void http_metrics::record_request(route_id route, unsigned status,
                                  std::chrono::nanoseconds latency) noexcept {
    auto r = static_cast<std::size_t>(route);
    requests_[r][status_slot(status)].fetch_add(1, std::memory_order_relaxed);
    latency_[r].record(latency);
}

void http_metrics::record_publish(std::size_t events, std::size_t duplicates,
                                  std::chrono::nanoseconds latency) noexcept {
    publish_requests_.fetch_add(1, std::memory_order_relaxed);
    publish_events_.fetch_add(events, std::memory_order_relaxed);
    publish_duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
    publish_latency_.record(latency);
}

void http_metrics::render(std::string& out) const {
    append_metric_header(out, "prom_http_requests_total", "counter",
                         "HTTP requests by route and status.");
    for (std::size_t r = 0; r < route_count; ++r) {
        for (std::size_t s = 0; s <= known_statuses.size(); ++s) {
            auto n = requests_[r][s].load(std::memory_order_relaxed);
            if (n == 0) continue;
            out += "prom_http_requests_total{route=\"";
            out += route_label(static_cast<route_id>(r));
            out += "\",status=\"";
            out += s < known_statuses.size() ? std::to_string(known_statuses[s].code)
                                             : std::string("other");
            out += "\"} ";
            append_u64(out, n);
            out += '\n';
        }
    }
    append_metric_header(out, "prom_http_request_duration_seconds", "histogram",
                         "Time from a parsed request to its answer, by route.");
    for (std::size_t r = 0; r < route_count; ++r) {
        std::string labels = "route=\"" + std::string(route_label(static_cast<route_id>(r))) + "\"";
        latency_[r].render(out, "prom_http_request_duration_seconds", labels);
    }
    append_metric_header(out, "prom_http_open_connections", "gauge", "Open HTTP connections.");
    out += "prom_http_open_connections ";
    out += std::to_string(connections_.load(std::memory_order_relaxed));
    out += '\n';
    append_metric_header(out, "prom_publish_requests_total", "counter",
                         "Successful POST /publish requests.");
    out += "prom_publish_requests_total ";
    append_u64(out, publish_requests_.load(std::memory_order_relaxed));
    out += '\n';
    append_metric_header(out, "prom_publish_failures_total", "counter",
                         "POST /publish requests that failed.");
    out += "prom_publish_failures_total ";
    append_u64(out, publish_failures_.load(std::memory_order_relaxed));
    out += '\n';
    append_metric_header(out, "prom_published_events_total", "counter",
                         "Events acknowledged by POST /publish (duplicates included).");
    out += "prom_published_events_total ";
    append_u64(out, publish_events_.load(std::memory_order_relaxed));
    out += '\n';
    append_metric_header(out, "prom_published_duplicates_total", "counter",
                         "Published events whose id already existed in the topic.");
    out += "prom_published_duplicates_total ";
    append_u64(out, publish_duplicates_.load(std::memory_order_relaxed));
    out += '\n';
    append_metric_header(out, "prom_publish_duration_seconds", "histogram",
                         "Time from a parsed publish body to its durable commit.");
    publish_latency_.render(out, "prom_publish_duration_seconds", "");
}

}  // namespace prom::http
