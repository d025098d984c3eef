#include "server/node_metrics.hpp"

#include <array>

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

}  // namespace

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
    if (user_projectors_) user_projectors_->append_metrics(out);
    if (!projectors_) return;
    std::array<const projector*, 2> ps{&projectors_->heartbeat_projector(),
                                       &projectors_->txn_projector()};
    http::append_metric_header(out, "prom_consumer_lag", "gauge",
                               "Events in the topic after the group's acknowledged cursor.");
    for (const projector* p : ps) {
        const auto& o = p->options();
        auto t = store_.topic(o.topic);
        std::int64_t last = t && *t ? (*t)->last_seq.value : 0;
        std::int64_t cursor = p->metrics().cursor.load();
        line(out, "prom_consumer_lag", o, last > cursor ? last - cursor : 0);
    }
    http::append_metric_header(out, "prom_consumer_cursor", "gauge",
                               "The group's acknowledged seq.");
    for (const projector* p : ps)
        line(out, "prom_consumer_cursor", p->options(), p->metrics().cursor.load());
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
