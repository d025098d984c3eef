// The dev harness: an in-memory store and bus, the HTTP publisher,
// the snapshot API, the WebSocket gateway and both process projectors, in this process, on
// an ephemeral port, for end-to-end tests. Harnesses share nothing, so tests run in
// parallel.
//
// stop() (or destruction) frees the port, the threads and the memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "prom/bus.hpp"
#include "prom/store.hpp"

namespace prom {

struct harness_options {
    std::string db = "memory:";  // any store URL; the in-memory one by default
    bool process_projectors = true;
    std::string config_json;  // extra `prom serve` config (e.g. {"auth":{...}}); empty: none
};

class harness {
  public:
    static result<std::unique_ptr<harness>> start(harness_options options = {});
    virtual ~harness() = default;

    virtual std::uint16_t port() const = 0;  // HTTP and WebSocket, on 127.0.0.1
    std::string http_url() const { return "http://127.0.0.1:" + std::to_string(port()); }
    std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port()) + "/ws"; }

    virtual store& storage() = 0;
    virtual prom::bus& bus() = 0;
    virtual void stop() = 0;
};

}  // namespace prom
