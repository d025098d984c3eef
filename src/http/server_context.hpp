// What the listener, the network threads and every connection coroutine share. Internal to
// src/http (and to the WebSocket module, which installs `upgrade`); includes Asio/Beast, so
// keep it out of anything that does not do network I/O.
//
// Threading: one io_context per network thread (no strands, no cross-thread wake-ups on the
// hot path, except one wake-up per worker per group commit for publishes). A connection
// lives on one worker for its whole life; its `busy` flag, its
// deadline and its worker's connection set are only touched on that worker's thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "http/api.hpp"
#include "http/http_server.hpp"

namespace prom::http {

namespace net = boost::asio;
namespace beast = boost::beast;

using steady_time = std::chrono::steady_clock::time_point;

// One accepted connection, owned by its coroutine's frame.
struct connection {
    net::ip::tcp::socket socket;
    bool busy = false;       // a request is being read (its header came) or answered
    steady_time deadline{};  // the worker's sweeper closes the socket once this has passed
};

// A network thread: its io_context, its connections and the sweeper that enforces their
// deadlines. One timer per worker instead of one per connection operation: re-arming a
// per-connection timer on every read and write cost a timerfd syscall per request.
//
// Publishes answered by the store's writer thread come back through `completions`: the
// writer queues each finished request there and posts one drain only when none is pending,
// so a commit that answers many of this worker's requests wakes it once, not per request.
struct io_worker {
    // First, so that it outlives the io_context: destroying pending coroutine frames at
    // shutdown unregisters their connections from it.
    std::unordered_set<connection*> connections;
    net::io_context ioc{1};
    struct completion_inbox {
        std::mutex mu;
        std::vector<std::move_only_function<void()>> ready;    // guarded by mu
        bool drain_posted = false;                             // guarded by mu
        std::vector<std::move_only_function<void()>> running;  // the worker's thread only
    } completions;  // after ioc: what is left in it is destroyed while ioc still exists
    net::steady_timer sweeper{ioc};
    std::thread thread;
};

// Any thread: runs `f` on the worker's thread, batched with the other completions that
// arrive before the worker gets to them (one wake-up for all of them).
void post_completion(io_worker& worker, std::move_only_function<void()> f);

// Takes over a connection whose request is a WebSocket upgrade on GET /ws: the stream, the
// bytes already read after the request, and the request itself. Runs on the connection's
// worker, whose single thread serializes it like a strand; the HTTP session ends when it is
// handed off (and no longer enforces deadlines: the stream's own timeouts take over).
// `answered` is called once with the handshake's status (101, or the refusal's) when it has
// been written, for the request metrics.
using upgrade_handler =
    std::function<net::awaitable<void>(beast::tcp_stream stream, beast::flat_buffer buffer,
                                       beast::http::request<beast::http::string_body> request,
                                       std::function<void(unsigned status)> answered)>;

struct server_context {
    server_context(api& h, server_options o)
        : handlers(h), options(std::move(o)), blocking(options.blocking_threads) {}

    api& handlers;
    server_options options;
    net::thread_pool blocking;
    std::atomic<bool> stopping{false};
    // Null until the WebSocket module sets it (before traffic starts): GET /ws upgrades are
    // answered 501 meanwhile.
    upgrade_handler upgrade;

    // Open connections over all workers, for the shutdown wait; publishes handed to the
    // store and not yet posted back to their worker (guarded by open_mu too: stop() waits
    // for them before the workers go away).
    std::mutex open_mu;
    std::condition_variable open_cv;
    std::size_t open = 0;
    std::size_t publishes_in_flight = 0;
};

// The HTTP/1.1 session of one accepted socket (http_session.cpp).
net::awaitable<void> serve_connection(net::ip::tcp::socket socket, server_context* ctx,
                                      io_worker* worker);

// On the worker's thread: closes connections past their deadline; with `idle_too`, also
// every connection that is not answering a request (shutdown).
void sweep_connections(io_worker& worker, bool idle_too);

}  // namespace prom::http
