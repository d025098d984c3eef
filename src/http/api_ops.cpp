// GET /healthz and GET /metrics.
#include "http/api.hpp"

namespace prom::http {

response api::healthz(const request& r) {
    auto out = json_response(200, "{\"status\":\"ok\"}", route_id::healthz);
    out.head_only = r.verb == method::head;
    return out;
}

response api::metrics_page(const request& r) {
    std::string body;
    body.reserve(16 * 1024);
    metrics_.render(body);
    body += "# HELP prom_snapshot_cache_hits_total Snapshot requests answered from memory.\n"
            "# TYPE prom_snapshot_cache_hits_total counter\nprom_snapshot_cache_hits_total ";
    body += std::to_string(cache_.hits());
    body += "\n# HELP prom_snapshot_cache_misses_total Snapshot requests that read the store.\n"
            "# TYPE prom_snapshot_cache_misses_total counter\nprom_snapshot_cache_misses_total ";
    body += std::to_string(cache_.misses());
    body += "\n# HELP prom_snapshot_cache_entries Documents held in the snapshot cache.\n"
            "# TYPE prom_snapshot_cache_entries gauge\nprom_snapshot_cache_entries ";
    body += std::to_string(cache_.size());
    body += '\n';
    if (extra_) extra_->append_metrics(body);
    response out;
    out.status = 200;
    out.route = route_id::metrics;
    out.head = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nCache-Control: "
               "no-store\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n";
    out.body = std::move(body);
    out.head_only = r.verb == method::head;
    return out;
}

}  // namespace prom::http
