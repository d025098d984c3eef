// The HTTP listener of `prom serve`: one Asio io_context run by a few threads, one
// coroutine per connection (HTTP/1.1 keep-alive), and a pool for handlers that block on
// the store. Beast/Asio stay inside http_server.cpp and http_session.cpp.
//
// Owns its threads; the api must outlive the server. stop() (or destruction) is graceful:
// no new connections, requests in flight are answered, idle connections are closed, and
// whatever is left at the deadline is cut.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/api.hpp"
#include "prom/error.hpp"

namespace prom::http {

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8091;      // 0: any free port (see http_server::port)
    unsigned threads = 0;           // network threads; 0: one per hardware thread
    unsigned blocking_threads = 8;  // store reads (cache misses, lists); publishes hold none
    std::size_t body_limit = std::size_t{200} * 1024;
    std::size_t header_limit = std::size_t{16} * 1024;
    // A request (headers and body) must arrive within this, and an idle keep-alive
    // connection is closed after it: a client trickling bytes cannot hold a slot forever.
    std::chrono::milliseconds read_timeout{15000};
    // A watch stream (docs/watches.md) with nothing to send sends a comment this often, so
    // that proxies keep it open and a peer that went away is noticed.
    std::chrono::milliseconds watch_keepalive{15000};
};

struct server_context;  // server_context.hpp (Beast/Asio)

class http_server {
  public:
    // Binds and starts serving; errc::unavailable when the address cannot be bound.
    // `configure` runs after the bind and before the first connection is accepted: the
    // WebSocket module installs its upgrade hook there, which no network thread may read
    // while it is written.
    static result<std::unique_ptr<http_server>> start(
        api& handlers, server_options options,
        const std::function<void(server_context&)>& configure = {});
    // Whether `host:port` can be bound now (bound and released at once; port 0 always can):
    // `prom serve` asks before it opens or changes its database, so that a start refused for
    // its address leaves the database as it was. The same errors as start.
    static status check_listen(const std::string& host, std::uint16_t port);
    ~http_server();

    std::uint16_t port() const;  // the bound port (useful with port 0)
    void stop(std::chrono::milliseconds deadline);

    struct impl;

  private:
    explicit http_server(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace prom::http
