// The listener and the network threads of the HTTP server.
#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/thread_name.hpp"
#include "http/server_context.hpp"

namespace prom::http {

using tcp = net::ip::tcp;

namespace {

// Completion of a detached coroutine: an escaped exception is a bug, logged, never fatal.
struct log_exception {
    const char* what;
    void operator()(std::exception_ptr p) const {
        if (!p) return;
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& e) {
            spdlog::error("http: {} failed: {}", what, e.what());
        }
    }
};

// How often a worker checks deadlines: often enough that a timeout is honoured within a
// quarter of itself, rarely enough to cost nothing.
std::chrono::milliseconds sweep_period(std::chrono::milliseconds timeout) {
    return std::clamp(timeout / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

net::awaitable<void> sweep_loop(io_worker* worker, server_context* ctx) {
    const auto period = sweep_period(ctx->options.read_timeout);
    while (!ctx->stopping.load()) {
        worker->sweeper.expires_after(period);
        auto [ec] = co_await worker->sweeper.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        sweep_connections(*worker, false);
    }
}

// Accepted sockets go round-robin to the workers; each connection then stays on its worker.
net::awaitable<void> accept_loop(tcp::acceptor* acceptor, server_context* ctx,
                                 std::vector<std::unique_ptr<io_worker>>* workers) {
    std::size_t next = 0;
    for (;;) {
        io_worker* w = (*workers)[next++ % workers->size()].get();
        auto [ec, socket] =
            co_await acceptor->async_accept(w->ioc, net::as_tuple(net::use_awaitable));
        if (ec) {
            if (ctx->stopping.load() || ec == net::error::operation_aborted) co_return;
            spdlog::error("http: accept failed: {}", ec.message());
            // Out of descriptors and the like: back off instead of spinning.
            net::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        net::co_spawn(w->ioc, serve_connection(std::move(socket), ctx, w),
                      log_exception{"connection"});
    }
}

struct close_acceptor {
    tcp::acceptor* acceptor;
    void operator()() const {
        boost::system::error_code ignored;
        acceptor->close(ignored);
    }
};

struct close_idle {
    io_worker* worker;
    void operator()() const {
        worker->sweeper.cancel();
        sweep_connections(*worker, true);
    }
};

void run_worker(io_worker* w) {
    name_this_thread("prom-net");
    for (;;) {
        try {
            w->ioc.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("http: network thread caught: {}", e.what());
        }
    }
}

}  // namespace

struct http_server::impl {
    impl(api& handlers, server_options o) : ctx(handlers, std::move(o)) {
        unsigned n =
            ctx.options.threads ? ctx.options.threads : std::thread::hardware_concurrency();
        for (unsigned i = 0; i < std::max(n, 1u); ++i)
            workers.push_back(std::make_unique<io_worker>());
        acceptor.emplace(workers[0]->ioc);
    }

    // Declared first so that it outlives the workers: destroying their pending coroutine
    // frames unregisters connections here.
    server_context ctx;
    std::vector<std::unique_ptr<io_worker>> workers;
    std::optional<tcp::acceptor> acceptor;  // on worker 0
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    std::uint16_t port = 0;
    bool stopped = false;
};

http_server::http_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

http_server::~http_server() {
    try {
        stop(std::chrono::milliseconds(0));
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing is left to tell at destruction
    }
}

namespace {

// Opens, binds and listens `acceptor` on host:port: the server's listener and the probe of
// check_listen alike, so that the probe refuses exactly what the start would.
status listen_on(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec) return fail(errc::invalid_argument, "bad listen address '" + host + "'");
    const tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    // Listening too: a bind alone succeeds beside another listener with SO_REUSEADDR.
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        return fail(errc::unavailable,
                    "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
    }
    return {};
}

}  // namespace

status http_server::check_listen(const std::string& host, std::uint16_t port) {
    net::io_context ioc;
    tcp::acceptor probe(ioc);
    if (port == 0) {  // any free port: only the address can be wrong
        boost::system::error_code ec;
        (void)net::ip::make_address(host, ec);
        if (ec) return fail(errc::invalid_argument, "bad listen address '" + host + "'");
        return {};
    }
    return listen_on(probe, host, port);
}

result<std::unique_ptr<http_server>> http_server::start(
    api& handlers, server_options options, const std::function<void(server_context&)>& configure) {
    auto i = std::make_unique<impl>(handlers, std::move(options));
    auto& acceptor = *i->acceptor;
    if (auto ok = listen_on(acceptor, i->ctx.options.host, i->ctx.options.port); !ok) {
        return std::unexpected(ok.error());
    }
    i->port = acceptor.local_endpoint().port();
    if (configure) configure(i->ctx);
    net::co_spawn(i->workers[0]->ioc, accept_loop(&acceptor, &i->ctx, &i->workers),
                  log_exception{"accept loop"});
    for (auto& w : i->workers) {
        i->guards.push_back(net::make_work_guard(w->ioc));
        net::co_spawn(w->ioc, sweep_loop(w.get(), &i->ctx), log_exception{"sweeper"});
        w->thread = std::thread(run_worker, w.get());
    }
    return std::unique_ptr<http_server>(new http_server(std::move(i)));
}

std::uint16_t http_server::port() const { return impl_->port; }

void http_server::stop(std::chrono::milliseconds deadline) {
    auto& i = *impl_;
    if (i.stopped) return;
    i.stopped = true;
    i.ctx.stopping.store(true);
    net::post(i.workers[0]->ioc, close_acceptor{&*i.acceptor});
    for (auto& w : i.workers) net::post(w->ioc, close_idle{w.get()});
    {
        std::unique_lock lock(i.ctx.open_mu);
        i.ctx.open_cv.wait_for(lock, deadline, [&] { return i.ctx.open == 0; });
        if (i.ctx.open != 0) {
            spdlog::warn("http: {} connections still open at the shutdown deadline; cutting them",
                         i.ctx.open);
        }
    }
    i.guards.clear();
    for (auto& w : i.workers) w->ioc.stop();
    for (auto& w : i.workers) {
        if (w->thread.joinable()) w->thread.join();
    }
    {
        // The store's writer still holds callbacks that post to the workers: they must be
        // done with them before the workers go. (The store outlives the server, and its
        // writer answers every request it took, so this wait ends.)
        std::unique_lock lock(i.ctx.open_mu);
        i.ctx.open_cv.wait(lock, [&] { return i.ctx.publishes_in_flight == 0; });
    }
    i.ctx.blocking.join();
}

}  // namespace prom::http
