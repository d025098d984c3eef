// /metrics lines about the projectors of a node: consumer lag per group, applied, retried,
// dead-lettered.
#pragma once

#include <string>

#include "http/api.hpp"
#include "prom/process_projectors.hpp"
#include "userproj_runtime/supervisor.hpp"
#include "ws/gateway.hpp"

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

  private:
    void append_gateway_metrics(std::string& out);
    const ws::gateway_metrics* gateway_ = nullptr;
    const userproj::supervisor* user_projectors_ = nullptr;
    store& store_;
    process_projectors* projectors_;
};

}  // namespace prom::server
