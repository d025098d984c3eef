// /metrics lines of a node: every consumer group's lag in events and seconds and cursor (from
// the durable cursors), the projectors' applied, retried, dead-lettered counters and apply
// latency, the gateway's counters.
#pragma once

#include <functional>
#include <string>

#include "http/api.hpp"
#include "prom/process_projectors.hpp"
#include "userproj_runtime/supervisor.hpp"
#include "ws/gateway.hpp"

namespace prom::ops {
class slo_monitor;
}
namespace prom::retention {
class runner;
}

namespace prom::server {

class node_metrics final : public http::metrics_source {
  public:
    // `projectors` may be null (none running); both must outlive this.
    node_metrics(store& s, process_projectors* projectors) : store_(s), projectors_(projectors) {}
    void append_metrics(std::string& out) override;
    // The gateway's counters; set once before traffic, must outlive this.
    void set_gateway(const ws::gateway_metrics* g) { gateway_ = g; }
    // The user-defined projectors' counters; set once before traffic, must outlive this.
    void set_user_projectors(const userproj::supervisor* s) { user_projectors_ = s; }
    // SLO alarms (prom_slo_alarm); null: no rules. Set once before traffic, must outlive this.
    void set_slo(const ops::slo_monitor* slo) { slo_ = slo; }
    // The retention runner's counters (prom_retention_*); null: none. Set once before
    // traffic, must outlive this.
    void set_retention(const retention::runner* r) { retention_ = r; }
    // The clock lag in seconds is measured on (epoch ms); the system clock when unset.
    void set_clock(std::function<ts_ms()> clock) { clock_ = std::move(clock); }

  private:
    void append_gateway_metrics(std::string& out);
    void append_group_metrics(std::string& out);
    void append_retention_metrics(std::string& out);
    const retention::runner* retention_ = nullptr;
    std::function<ts_ms()> clock_;
    const ops::slo_monitor* slo_ = nullptr;
    const ws::gateway_metrics* gateway_ = nullptr;
    const userproj::supervisor* user_projectors_ = nullptr;
    store& store_;
    process_projectors* projectors_;
};

}  // namespace prom::server
