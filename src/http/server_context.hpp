// What the listener and every connection coroutine share. Internal to src/http (and to the
// WebSocket module, which installs `upgrade`); includes Beast, so keep it out of anything
// that does not do network I/O.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <unordered_set>

#include "http/api.hpp"
#include "http/http_server.hpp"

namespace prom::http {

namespace net = boost::asio;
namespace beast = boost::beast;

// One accepted connection, owned by its coroutine's frame. `busy` is true while a parsed
// request is being answered; shutdown closes the connections that are not busy.
struct connection {
    beast::tcp_stream stream;
    bool busy = false;
};

// Takes over a connection whose request is a WebSocket upgrade on GET /ws: the stream, the
// bytes already read after the request, and the request itself. Runs on the connection's
// strand; the HTTP session ends when it is handed off.
using upgrade_handler = std::function<net::awaitable<void>(
    beast::tcp_stream stream, beast::flat_buffer buffer,
    beast::http::request<beast::http::string_body> request)>;

struct server_context {
    server_context(api& h, server_options o)
        : handlers(h), options(std::move(o)), blocking(options.blocking_threads) {}

    api& handlers;
    server_options options;
    net::thread_pool blocking;
    std::atomic<bool> stopping{false};
    // Null until the WebSocket module sets it (before start of traffic): GET /ws upgrades
    // are answered 501 meanwhile.
    upgrade_handler upgrade;

    std::mutex connections_mu;
    std::condition_variable connections_cv;
    std::unordered_set<connection*> connections;
};

// The HTTP/1.1 session of one accepted socket (http_session.cpp).
net::awaitable<void> serve_connection(net::ip::tcp::socket socket, server_context* ctx);

// Closes `c` when it is idle (posted to its strand during shutdown).
void close_if_idle(server_context* ctx, connection* c);

}  // namespace prom::http
