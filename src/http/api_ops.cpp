// GET /healthz and GET /metrics.
#include "core/text.hpp"
#include "http/api.hpp"
#include "ops/slo.hpp"

namespace prom::http {

namespace {

// One cheap read (a primary-key lookup of a topic that need not exist): it answers only
// when the database does. Shared by /healthz and the prom_db_up gauge.
status probe_database(store& s) {
    auto t = s.topic("prom.healthz");
    if (!t) return std::unexpected(t.error());
    return {};
}

}  // namespace

response api::healthz(const request&) {
    auto up = probe_database(store_);
    if (up) {
        // Firing SLO alarms degrade the node's status but not its answer: it still serves,
        // so a load balancer must keep sending it traffic (docs/operations.md).
        auto alarms = options_.slo ? options_.slo->active() : std::vector<ops::alarm>{};
        if (alarms.empty()) {
            return json_response(200, R"({"db":"up","status":"ok"})", route_id::healthz);
        }
        json::array items;
        for (const auto& a : alarms) {
            items.push_back(json::object{{"rule", a.rule},
                                         {"episode", a.episode},
                                         {"reason", valid_utf8(a.reason)},
                                         {"since", a.since.value}});
        }
        json::object o{{"alarms", std::move(items)}, {"db", "up"}, {"status", "degraded"}};
        return json_response(200, canonical_json(o), route_id::healthz);
    }
    // Like an error body, with the database's state: the store's message may quote anything,
    // hence valid_utf8.
    json::object o{{"db", "down"},
                   {"error", "unavailable"},
                   {"message", valid_utf8("the database is unreachable: " + up.error().message)},
                   {"status", "unavailable"}};
    return json_response(503, canonical_json(o), route_id::healthz);
}

response api::metrics_page(const request&) {
    std::string body;
    body.reserve(std::size_t{16} * 1024);
    metrics_.render(body);
    body +=
        "# HELP prom_snapshot_cache_hits_total Snapshot requests answered from memory.\n"
        "# TYPE prom_snapshot_cache_hits_total counter\nprom_snapshot_cache_hits_total ";
    body += std::to_string(cache_.hits());
    body +=
        "\n# HELP prom_snapshot_cache_misses_total Snapshot requests that read the store.\n"
        "# TYPE prom_snapshot_cache_misses_total counter\nprom_snapshot_cache_misses_total ";
    body += std::to_string(cache_.misses());
    body +=
        "\n# HELP prom_snapshot_cache_entries Documents held in the snapshot cache.\n"
        "# TYPE prom_snapshot_cache_entries gauge\nprom_snapshot_cache_entries ";
    body += std::to_string(cache_.size());
    body +=
        "\n# HELP prom_snapshot_cache_bytes Memory held by the snapshot cache's entries.\n"
        "# TYPE prom_snapshot_cache_bytes gauge\nprom_snapshot_cache_bytes ";
    body += std::to_string(cache_.bytes());
    body +=
        "\n# HELP prom_db_up 1 when the database answers a query, 0 when it does not.\n"
        "# TYPE prom_db_up gauge\nprom_db_up ";
    body += probe_database(store_) ? '1' : '0';
    body += '\n';
    if (const auto* commits = store_.commit_stats()) {
        append_metric_header(body, "prom_log_commit_duration_seconds", "histogram",
                             "Time of one commit of the log's writer (its transaction, commit "
                             "and fsync), whatever number of appends it groups.");
        commits->duration.render(body, "prom_log_commit_duration_seconds", "");
        append_metric_header(body, "prom_log_commit_events_total", "counter",
                             "Events written by the writer's commits; over "
                             "prom_log_commit_duration_seconds_count, the mean group size.");
        body += "prom_log_commit_events_total ";
        body += std::to_string(commits->events.load(std::memory_order_relaxed));
        body += '\n';
    }
    if (options_.waiters) {
        body +=
            "# HELP prom_http_cursor_waiters Requests waiting for projectors (after, wait_for).\n"
            "# TYPE prom_http_cursor_waiters gauge\nprom_http_cursor_waiters ";
        body += std::to_string(options_.waiters->active());
        body += '\n';
    }
    if (options_.changes) {
        body +=
            "# HELP prom_http_change_waiters Blocking reads waiting for a change (Prefer: wait).\n"
            "# TYPE prom_http_change_waiters gauge\nprom_http_change_waiters ";
        body += std::to_string(options_.changes->active());
        body += '\n';
    }
    if (options_.feed) {
        body +=
            "# HELP prom_watchers Open watches (SSE and WebSocket) of collections' changes.\n"
            "# TYPE prom_watchers gauge\nprom_watchers ";
        body += std::to_string(options_.feed->active());
        body +=
            "\n# HELP prom_watch_changes_total Changes handed to watchers.\n"
            "# TYPE prom_watch_changes_total counter\nprom_watch_changes_total ";
        body += std::to_string(options_.feed->delivered());
        body += '\n';
    }
    if (extra_) extra_->append_metrics(body);
    response out;
    out.status = 200;
    out.route = route_id::metrics;
    out.head =
        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nCache-Control: "
        "no-store\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n";
    out.body = std::move(body);
    return out;
}

}  // namespace prom::http
