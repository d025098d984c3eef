// One running `prom serve`: the store, the built-in process projectors, the snapshot cache
// and the HTTP server, started together and stopped together.
//
// stop() (or destruction) stops the HTTP server within the configured deadline, then the
// demo and the projectors, then closes the store. Thread-safe to stop from any thread once.
#pragma once

#include <cstdint>
#include <memory>
#include <stop_token>

#include "prom/store.hpp"
#include "server/serve_config.hpp"

namespace prom::server {

class node {
  public:
    // Opens the store and starts everything; errors (bad db URL, port in use) as values.
    // While the database is unavailable it waits up to config.db_wait; a stop request on
    // `stop` (SIGINT/SIGTERM in prom serve) ends that wait at once with errc::cancelled.
    static result<std::unique_ptr<node>> start(serve_config config, std::stop_token stop = {});
    virtual ~node() = default;

    virtual std::uint16_t port() const = 0;  // the bound port (config port 0: the chosen one)
    virtual store& storage() = 0;
    virtual const serve_config& config() const = 0;
    virtual void stop() = 0;
};

}  // namespace prom::server
