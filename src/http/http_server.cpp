// The listener and the threads of the HTTP server.
#include "http/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <thread>

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

net::awaitable<void> accept_loop(tcp::acceptor* acceptor, server_context* ctx,
                                 net::io_context* ioc) {
    for (;;) {
        auto [ec, socket] =
            co_await acceptor->async_accept(net::make_strand(*ioc), net::as_tuple(net::use_awaitable));
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
        auto ex = socket.get_executor();
        net::co_spawn(ex, serve_connection(std::move(socket), ctx), log_exception{"connection"});
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
    server_context* ctx;
    connection* conn;
    void operator()() const { close_if_idle(ctx, conn); }
};

}  // namespace

struct http_server::impl {
    impl(api& handlers, server_options o)
        : ctx(handlers, std::move(o)),
          ioc(static_cast<int>(thread_count())),
          acceptor(net::make_strand(ioc)),
          guard(net::make_work_guard(ioc)) {}

    unsigned thread_count() const {
        unsigned n = ctx.options.threads ? ctx.options.threads : std::thread::hardware_concurrency();
        return n ? n : 1;
    }

    // Declared first so that it outlives the io_context: destroying pending coroutine frames
    // unregisters their connections here.
    server_context ctx;
    net::io_context ioc;
    tcp::acceptor acceptor;
    net::executor_work_guard<net::io_context::executor_type> guard;
    std::vector<std::thread> threads;
    std::uint16_t port = 0;
    bool stopped = false;
};

http_server::http_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

http_server::~http_server() { stop(std::chrono::milliseconds(0)); }

result<std::unique_ptr<http_server>> http_server::start(api& handlers, server_options options) {
    auto i = std::make_unique<impl>(handlers, std::move(options));
    boost::system::error_code ec;
    auto address = net::ip::make_address(i->ctx.options.host, ec);
    if (ec) return fail(errc::invalid_argument, "bad listen address '" + i->ctx.options.host + "'");
    tcp::endpoint endpoint(address, i->ctx.options.port);
    i->acceptor.open(endpoint.protocol(), ec);
    if (!ec) i->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) i->acceptor.bind(endpoint, ec);
    if (!ec) i->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        return fail(errc::unavailable, "cannot listen on " + i->ctx.options.host + ":" +
                                           std::to_string(i->ctx.options.port) + ": " + ec.message());
    }
    i->port = i->acceptor.local_endpoint().port();
    net::co_spawn(i->acceptor.get_executor(), accept_loop(&i->acceptor, &i->ctx, &i->ioc),
                  log_exception{"accept loop"});
    unsigned n = i->thread_count();
    for (unsigned t = 0; t < n; ++t) {
        i->threads.emplace_back([ioc = &i->ioc] {
            for (;;) {
                try {
                    ioc->run();
                    return;
                } catch (const std::exception& e) {
                    spdlog::error("http: network thread caught: {}", e.what());
                }
            }
        });
    }
    return std::unique_ptr<http_server>(new http_server(std::move(i)));
}

std::uint16_t http_server::port() const { return impl_->port; }

server_context& http_server::context() { return impl_->ctx; }

void http_server::stop(std::chrono::milliseconds deadline) {
    auto& i = *impl_;
    if (i.stopped) return;
    i.stopped = true;
    i.ctx.stopping.store(true);
    net::post(i.acceptor.get_executor(), close_acceptor{&i.acceptor});
    {
        std::unique_lock lock(i.ctx.connections_mu);
        for (connection* c : i.ctx.connections) {
            net::post(c->stream.get_executor(), close_idle{&i.ctx, c});
        }
        i.ctx.connections_cv.wait_for(lock, deadline, [&] { return i.ctx.connections.empty(); });
        if (!i.ctx.connections.empty()) {
            spdlog::warn("http: {} connections still open at the shutdown deadline; cutting them",
                         i.ctx.connections.size());
        }
    }
    i.guard.reset();
    i.ioc.stop();
    for (auto& t : i.threads) t.join();
    i.threads.clear();
    i.ctx.blocking.join();
}

}  // namespace prom::http
