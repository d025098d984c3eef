#include "server/node_metrics.hpp"

#include <array>
#include <cstdio>

#include "ops/groups.hpp"
#include "ops/slo.hpp"
#include "retention/runner.hpp"

namespace prom::server {

namespace {

void line(std::string& out, std::string_view name, const projector_options& o, std::int64_t v) {
    out += name;
    out += "{topic=\"";
    out += o.topic;
    out += "\",group=\"";
    out += o.group;
    out += "\"} ";
    out += std::to_string(v);
    out += '\n';
}

// Topic and group names may hold any printable character: a label value escapes \, " and
// newline (the Prometheus text format).
void append_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_seconds(std::string& out, double v) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.3f", v);
    out.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

void node_metrics::append_group_metrics(std::string& out) {
    // Every group, from the durable cursors: the same on every node, right after a restart
    // too (docs/operations.md).
    auto groups = ops::list_groups(store_, clock_ ? clock_() : now_ms());
    if (!groups) {
        http::append_metric_header(out, "prom_consumer_groups_up", "gauge",
                                   "1 when the group metrics could be read.");
        out += "prom_consumer_groups_up 0\n";
        return;
    }
    auto labels = [](std::string& out, const ops::group_info& g) {
        out += "{topic=\"";
        append_label_value(out, g.topic);
        out += "\",group=\"";
        append_label_value(out, g.group);
        out += "\"} ";
    };
    http::append_metric_header(out, "prom_consumer_lag_events", "gauge",
                               "Events in the topic after the group's acknowledged cursor.");
    for (const auto& g : *groups) {
        out += "prom_consumer_lag_events";
        labels(out, g);
        out += std::to_string(g.lag_events);
        out += '\n';
    }
    http::append_metric_header(
        out, "prom_consumer_lag_seconds", "gauge",
        "Now minus the ts of the group's oldest unacknowledged event; 0 when caught up.");
    for (const auto& g : *groups) {
        out += "prom_consumer_lag_seconds";
        labels(out, g);
        append_seconds(out, g.lag_seconds);
        out += '\n';
    }
    http::append_metric_header(out, "prom_consumer_cursor", "gauge",
                               "The group's acknowledged seq.");
    for (const auto& g : *groups) {
        out += "prom_consumer_cursor";
        labels(out, g);
        out += to_string(g.cursor);
        out += '\n';
    }
    http::append_metric_header(out, "prom_consumer_active", "gauge",
                               "1 when a consumer of the group holds its lease.");
    for (const auto& g : *groups) {
        out += "prom_consumer_active";
        labels(out, g);
        out += g.holder ? '1' : '0';
        out += '\n';
    }
    http::append_metric_header(out, "prom_consumer_lag", "gauge",
                               "Deprecated name of prom_consumer_lag_events.");
    for (const auto& g : *groups) {
        out += "prom_consumer_lag";
        labels(out, g);
        out += std::to_string(g.lag_events);
        out += '\n';
    }
}

void node_metrics::append_retention_metrics(std::string& out) {
    if (!retention_) return;
    auto st = retention_->stats();
    http::append_metric_header(out, "prom_retention_passes_total", "counter",
                               "Retention and compaction passes run on this node.");
    out += "prom_retention_passes_total ";
    out += std::to_string(st.passes);
    out += '\n';
    http::append_metric_header(out, "prom_retention_dropped_events_total", "counter",
                               "Events dropped by retention and compaction passes.");
    for (const auto& [topic, n] : st.dropped) {
        out += "prom_retention_dropped_events_total{topic=\"";
        append_label_value(out, topic);
        out += "\"} ";
        out += std::to_string(n);
        out += '\n';
    }
    http::append_metric_header(
        out, "prom_retention_unseen_dropped_total", "counter",
        "Dropped events that a consumer group had not acknowledged (behind: skip).");
    for (const auto& [tg, n] : st.unseen) {
        out += "prom_retention_unseen_dropped_total{topic=\"";
        append_label_value(out, tg.first);
        out += "\",group=\"";
        append_label_value(out, tg.second);
        out += "\"} ";
        out += std::to_string(n);
        out += '\n';
    }
    http::append_metric_header(out, "prom_retention_last_pass_timestamp_seconds", "gauge",
                               "When the last pass ended (Unix time); 0 before the first.");
    out += "prom_retention_last_pass_timestamp_seconds ";
    append_seconds(out, st.last_pass ? static_cast<double>(st.last_pass->value) / 1000.0 : 0.0);
    out += '\n';
}

void node_metrics::append_gateway_metrics(std::string& out) {
    if (!gateway_) return;
    auto counter = [&](std::string_view name, std::string_view type, std::string_view text,
                       std::uint64_t v) {
        http::append_metric_header(out, name, type, text);
        out += name;
        out += ' ';
        out += std::to_string(v);
        out += '\n';
    };
    counter("prom_ws_sessions_open", "gauge", "WebSocket connections open now.",
            gateway_->sessions_open);
    counter("prom_ws_sessions_total", "counter", "WebSocket connections accepted.",
            gateway_->sessions_total);
    counter("prom_ws_events_sent_total", "counter", "Events written to WebSocket subscribers.",
            gateway_->events_sent);
    counter("prom_ws_published_total", "counter", "Events published over the gateway.",
            gateway_->published);
    counter("prom_ws_slow_consumers_dropped_total", "counter",
            "Connections dropped because they did not read in time.",
            gateway_->slow_consumers_dropped);
    counter("prom_ws_auth_refused_total", "counter", "Upgrades refused for a missing or bad token.",
            gateway_->auth_refused);
}

void node_metrics::append_metrics(std::string& out) {
    append_gateway_metrics(out);
    append_group_metrics(out);
    append_retention_metrics(out);
    if (slo_) slo_->append_metrics(out);
    if (user_projectors_) user_projectors_->append_metrics(out);
    if (!projectors_) return;
    std::array<const projector*, 2> ps{&projectors_->heartbeat_projector(),
                                       &projectors_->txn_projector()};
    http::append_metric_header(out, "prom_projector_applied_total", "counter",
                               "Events applied by the projector.");
    for (const projector* p : ps) {
        line(out, "prom_projector_applied_total", p->options(),
             static_cast<std::int64_t>(p->metrics().applied.load()));
    }
    http::append_metric_header(out, "prom_projector_batches_total", "counter",
                               "Batches committed by the projector.");
    for (const projector* p : ps) {
        line(out, "prom_projector_batches_total", p->options(),
             static_cast<std::int64_t>(p->metrics().batches.load()));
    }
    http::append_metric_header(out, "prom_projector_retries_total", "counter",
                               "Batch retries after a failure.");
    for (const projector* p : ps) {
        line(out, "prom_projector_retries_total", p->options(),
             static_cast<std::int64_t>(p->metrics().retries.load()));
    }
    http::append_metric_header(out, "prom_projector_dead_lettered_total", "counter",
                               "Poison events sent to <topic>.dlq.");
    for (const projector* p : ps) {
        line(out, "prom_projector_dead_lettered_total", p->options(),
             static_cast<std::int64_t>(p->metrics().dead_lettered.load()));
    }
    http::append_metric_header(out, "prom_projector_errors_total", "counter",
                               "Failed attempts (handler or storage) of the projector.");
    for (const projector* p : ps) {
        line(out, "prom_projector_errors_total", p->options(),
             static_cast<std::int64_t>(p->metrics().errors.load()));
    }
    http::append_metric_header(out, "prom_projector_apply_duration_seconds", "histogram",
                               "Time to apply and commit one batch.");
    for (const projector* p : ps) {
        p->metrics().apply_latency.render(
            out, "prom_projector_apply_duration_seconds",
            "topic=\"" + p->options().topic + "\",group=\"" + p->options().group + "\"");
    }
    http::append_metric_header(out, "prom_projector_stopped", "gauge",
                               "1 when the projector stopped on a poison event.");
    for (const projector* p : ps) {
        line(out, "prom_projector_stopped", p->options(),
             p->metrics().stopped_on_poison.load() ? 1 : 0);
    }
    http::append_metric_header(
        out, "prom_process_stale_emitted_total", "counter",
        "process.state events with status stale emitted by the stale detector.");
    out += "prom_process_stale_emitted_total ";
    out += std::to_string(projectors_->stale_emitted());
    out += '\n';
}

}  // namespace prom::server
