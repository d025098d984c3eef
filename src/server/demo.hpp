// `prom serve --demo`: a few synthetic processes that publish heartbeats every second; one
// of them goes silent after a while so that it turns `stale`.
#pragma once

#include <memory>
#include <string>

#include "prom/store.hpp"

namespace prom::server {

class demo_publisher {
  public:
    virtual ~demo_publisher() = default;  // stops
    virtual void stop() = 0;
};

// Publishes through `s` on its own thread until stopped; `s` must outlive it.
std::unique_ptr<demo_publisher> start_demo(store& s);

// The text printed at start: URLs and curl lines to try against `base_url`, and CLI lines
// that run `prom_binary` against the server's database `db_url` (so that they read the
// demo's data, wherever the user's shell is).
std::string demo_instructions(const std::string& base_url, std::chrono::milliseconds stale_after,
                              const std::string& prom_binary, const std::string& db_url);

}  // namespace prom::server
