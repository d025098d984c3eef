// One HTTP/1.1 connection: read a request, answer it, repeat while keep-alive.
//
// Requests are parsed by Beast (it rejects the smuggling shapes: Content-Length with
// Transfer-Encoding, repeated or malformed lengths); responses are written by hand as a
// gather of pre-rendered buffers, so a cached document goes out without a copy.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "auth/browser_guard.hpp"
#include "core/text.hpp"
#include "http/conditional.hpp"
#include "http/error_status.hpp"
#include "http/http_date.hpp"
#include "http/percent.hpp"
#include "http/server_context.hpp"
#include "http/transfer_coding.hpp"

namespace prom::http {

namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

std::string_view status_line(unsigned status) {
    static const auto lines = [] {
        std::array<std::string, 600> l;
        for (unsigned s = 100; s < l.size(); ++s) {
            l[s] = "HTTP/1.1 " + std::to_string(s) + " " + std::string(reason_of(s)) + "\r\n";
        }
        return l;
    }();
    if (status < 100 || status >= lines.size()) status = 500;
    return lines[status];
}

// "Date: …\r\n", formatted once a second per thread.
struct date_line {
    char text[48];
    std::size_t size = 0;
};

date_line current_date_line() {
    thread_local std::time_t cached_second = 0;
    thread_local date_line cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        std::string s = "Date: " + format_http_date(now) + "\r\n";
        std::memcpy(cached.text, s.data(), s.size());
        cached.size = s.size();
        cached_second = now;
    }
    return cached;
}

method method_of(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get:
            return method::get;
        case bhttp::verb::head:
            return method::head;
        case bhttp::verb::post:
            return method::post;
        case bhttp::verb::put:
            return method::put;
        case bhttp::verb::delete_:
            return method::delete_;
        case bhttp::verb::options:
            return method::options;
        default:
            return method::other;
    }
}

// ---- running a handler on the blocking pool and resuming on the connection's strand.
// Plain function objects rather than lambdas: nothing here is a capturing coroutine.

template <class Handler>
struct deliver_response {
    Handler handler;
    response r;
    void operator()() { std::move(handler)(std::move(r)); }
};

template <class Handler>
struct blocking_job {
    Handler handler;
    server_context* ctx;
    const request* req;

    void operator()() {
        response r;
        try {
            auto answered = ctx->handlers.handle(*req, true);
            r = answered ? std::move(*answered)
                         : error_response(500, "internal", "no answer", route_id::unknown);
        } catch (const std::exception& e) {
            spdlog::error("http: handler failed: {}", e.what());
            r = error_response(500, "internal", "the server failed", route_id::unknown);
        }
        auto ex = net::get_associated_executor(handler);
        net::dispatch(ex, deliver_response<Handler>{std::move(handler), std::move(r)});
    }
};

struct start_blocking_job {
    server_context* ctx;
    const request* req;

    template <class Handler>
    void operator()(Handler&& handler) {
        net::post(ctx->blocking,
                  blocking_job<std::decay_t<Handler>>{std::forward<Handler>(handler), ctx, req});
    }
};

net::awaitable<response> handle_blocking(server_context* ctx, const request* req) {
    return net::async_initiate<decltype(net::use_awaitable), void(response)>(
        start_blocking_job{ctx, req}, net::use_awaitable);
}

// ---- POST /publish without blocking a thread: the events go to the store's writer, whose
// callback posts the answer back to the connection's worker (batched per worker).

template <class Handler>
struct resume_publish {
    Handler handler;
    server_context* ctx;
    api::publish_start* begun;  // the session's, alive while it awaits this
    result<std::vector<append_result>> appended;
    void operator()() {
        if (appended && begun->wait_for)
            begun->conditions = api::publish_conditions(*begun, *appended);
        std::move(handler)(ctx->handlers.finish_publish(std::move(appended), begun->started));
    }
};

template <class Handler>
struct publish_done {
    Handler handler;
    server_context* ctx;
    io_worker* worker;
    api::publish_start* begun;
    void operator()(result<std::vector<append_result>> appended) {
        post_completion(
            *worker, resume_publish<Handler>{std::move(handler), ctx, begun, std::move(appended)});
        {
            std::lock_guard lock(ctx->open_mu);
            --ctx->publishes_in_flight;
            ctx->open_cv.notify_all();  // under the lock: the server may go right after
        }
    }
};

struct start_publish {
    server_context* ctx;
    io_worker* worker;
    api::publish_start* begun;

    template <class Handler>
    void operator()(Handler&& handler) {
        {
            std::lock_guard lock(ctx->open_mu);
            ++ctx->publishes_in_flight;
        }
        ctx->handlers.append_async(std::move(begun->events),
                                   publish_done<std::decay_t<Handler>>{
                                       std::forward<Handler>(handler), ctx, worker, begun});
    }
};

net::awaitable<response> publish_without_blocking(server_context* ctx, io_worker* worker,
                                                  api::publish_start* begun) {
    return net::async_initiate<decltype(net::use_awaitable), void(response)>(
        start_publish{ctx, worker, begun}, net::use_awaitable);
}

// ---- waiting for projectors' cursors (read-your-writes, publish?wait_for) without a
// thread: the waiter's callback posts the outcome back to the connection's worker. While it
// waits, the socket is watched for the peer closing it, which cancels the waiter at once.

// Only touched on the connection's worker thread.
struct cursor_wait_state {
    std::uint64_t id = 0;
    bool done = false;
};

template <class Handler>
struct resume_cursor_wait {
    Handler handler;
    std::shared_ptr<cursor_wait_state> state;
    connection* conn;  // alive: its coroutine is suspended until this runs
    consistency::cursor_wait_outcome outcome;
    void operator()() {
        state->done = true;
        boost::system::error_code ignored;
        conn->socket.cancel(ignored);  // ends the disconnect watch
        std::move(handler)(std::move(outcome));
    }
};

template <class Handler>
struct cursor_wait_done {
    Handler handler;
    server_context* ctx;
    io_worker* worker;
    std::shared_ptr<cursor_wait_state> state;
    connection* conn;
    void operator()(consistency::cursor_wait_outcome outcome) {
        post_completion(*worker, resume_cursor_wait<Handler>{std::move(handler), std::move(state),
                                                             conn, std::move(outcome)});
        std::lock_guard lock(ctx->open_mu);
        --ctx->publishes_in_flight;
        ctx->open_cv.notify_all();
    }
};

struct disconnect_watch {
    server_context* ctx;
    std::shared_ptr<cursor_wait_state> state;
    connection* conn;
    void operator()(boost::system::error_code ec) const {
        if (ec || state->done) return;  // cancelled after the wait ended: conn may be gone
        // Readable while we answer nothing: the peer closed (or reset), or it pipelined its
        // next request, which stays in the socket for the session to read later.
        char byte;
        auto n = ::recv(conn->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            ctx->handlers.waiters()->cancel(state->id);
        }
    }
};

struct start_cursor_wait {
    server_context* ctx;
    io_worker* worker;
    connection* conn;
    std::vector<consistency::cursor_condition>* conditions;
    steady_time deadline;

    template <class Handler>
    void operator()(Handler&& handler) {
        {
            std::lock_guard lock(ctx->open_mu);
            ++ctx->publishes_in_flight;  // stop() waits for the callback, as for publishes
        }
        auto state = std::make_shared<cursor_wait_state>();
        state->id = ctx->handlers.waiters()->wait(
            std::move(*conditions), deadline,
            cursor_wait_done<std::decay_t<Handler>>{std::forward<Handler>(handler), ctx, worker,
                                                    state, conn});
        if (state->id != 0) {
            conn->socket.async_wait(tcp::socket::wait_read, disconnect_watch{ctx, state, conn});
        }
    }
};

net::awaitable<consistency::cursor_wait_outcome> wait_for_cursors(
    server_context* ctx, io_worker* worker, connection* conn,
    std::vector<consistency::cursor_condition>* conditions, steady_time deadline) {
    return net::async_initiate<decltype(net::use_awaitable),
                               void(consistency::cursor_wait_outcome)>(
        start_cursor_wait{ctx, worker, conn, conditions, deadline}, net::use_awaitable);
}

// ---- blocking reads (If-None-Match + Prefer: wait=N): held until the watched document or
// collection changes, the deadline passes (a timer on the worker) or the peer goes away.

enum class change_wait { changed, timed_out, cancelled };

struct change_wait_state {
    std::uint64_t id = 0;
    bool done = false;
    std::optional<net::steady_timer> timer;
    std::move_only_function<void(change_wait)> resume;  // the coroutine's handler
    connection* conn = nullptr;

    // On the worker's thread; the first outcome wins.
    void finish(change_wait how) {
        if (done) return;
        done = true;
        boost::system::error_code ignored;
        if (timer) timer->cancel();
        conn->socket.cancel(ignored);  // ends the disconnect watch
        auto r = std::move(resume);
        r(how);
    }
};

struct change_wait_finish {
    std::shared_ptr<change_wait_state> state;
    change_wait how;
    void operator()() const { state->finish(how); }
};

struct change_wait_woken {  // the change waiter's callback: any thread
    server_context* ctx;
    io_worker* worker;
    std::shared_ptr<change_wait_state> state;
    void operator()(bool changed) {
        post_completion(
            *worker, change_wait_finish{std::move(state),
                                        changed ? change_wait::changed : change_wait::cancelled});
        std::lock_guard lock(ctx->open_mu);
        --ctx->publishes_in_flight;
        ctx->open_cv.notify_all();
    }
};

struct change_wait_deadline {
    server_context* ctx;
    std::shared_ptr<change_wait_state> state;
    void operator()(boost::system::error_code ec) const {
        if (ec || state->done) return;
        ctx->handlers.changes()->cancel(state->id);  // its callback finishes as cancelled…
        state->finish(change_wait::timed_out);       // …after this outcome has won
    }
};

struct change_wait_disconnect {
    server_context* ctx;
    std::shared_ptr<change_wait_state> state;
    void operator()(boost::system::error_code ec) const {
        if (ec || state->done) return;
        char byte;
        auto n = ::recv(state->conn->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            ctx->handlers.changes()->cancel(state->id);
            state->finish(change_wait::cancelled);
        }
    }
};

struct start_change_wait {
    server_context* ctx;
    io_worker* worker;
    connection* conn;
    const api::long_poll* poll;
    std::uint64_t generation;
    steady_time deadline;

    template <class Handler>
    void operator()(Handler&& handler) {
        auto state = std::make_shared<change_wait_state>();
        state->conn = conn;
        state->resume = std::forward<Handler>(handler);
        state->timer.emplace(worker->ioc, deadline);
        {
            std::lock_guard lock(ctx->open_mu);
            ++ctx->publishes_in_flight;  // stop() waits for the callback, as for publishes
        }
        state->id = ctx->handlers.changes()->wait(poll->collection, poll->key, generation,
                                                  change_wait_woken{ctx, worker, state});
        state->timer->async_wait(change_wait_deadline{ctx, state});
        conn->socket.async_wait(tcp::socket::wait_read, change_wait_disconnect{ctx, state});
    }
};

net::awaitable<change_wait> wait_for_change(server_context* ctx, io_worker* worker,
                                            connection* conn, const api::long_poll* poll,
                                            std::uint64_t generation, steady_time deadline) {
    return net::async_initiate<decltype(net::use_awaitable), void(change_wait)>(
        start_change_wait{ctx, worker, conn, poll, generation, deadline}, net::use_awaitable);
}

// ---- watches (GET /collections/{c}/watch, docs/watches.md): Server-Sent Events of the
// collection's change log. Where the stream starts is decided on the blocking pool (it
// reads the store); the feed thread hands changes over through the worker's completions.

template <class Handler>
struct deliver_watch_start {
    Handler handler;
    result<seq_t> start;
    void operator()() { std::move(handler)(std::move(start)); }
};

template <class Handler>
struct open_watch_job {
    Handler handler;
    server_context* ctx;
    const api::watch_start* w;
    void operator()() {
        result<seq_t> start = fail(errc::internal, "the server failed");
        try {
            start = ctx->handlers.open_watch(*w);
        } catch (const std::exception& e) {
            spdlog::error("http: opening a watch failed: {}", e.what());
        }
        auto ex = net::get_associated_executor(handler);
        net::dispatch(ex, deliver_watch_start<Handler>{std::move(handler), std::move(start)});
    }
};

struct start_open_watch {
    server_context* ctx;
    const api::watch_start* w;
    template <class Handler>
    void operator()(Handler&& handler) {
        net::post(ctx->blocking,
                  open_watch_job<std::decay_t<Handler>>{std::forward<Handler>(handler), ctx, w});
    }
};

net::awaitable<result<seq_t>> open_watch_blocking(server_context* ctx, const api::watch_start* w) {
    return net::async_initiate<decltype(net::use_awaitable), void(result<seq_t>)>(
        start_open_watch{ctx, w}, net::use_awaitable);
}

// Only touched on the connection's worker thread.
struct sse_state {
    explicit sse_state(net::io_context& ioc) : signal(ioc) {}
    net::steady_timer signal;  // cancelled to wake the stream's coroutine
    std::string pending;       // events not yet written
    bool gone = false;         // the peer closed
    bool finished = false;     // the stream's coroutine has ended
};

struct sse_append {
    std::shared_ptr<sse_state> state;
    consistency::watched_changes changes;
    void operator()() {
        auto& s = *state;
        if (s.finished || s.gone) return;
        for (const auto& c : changes) {
            s.pending += "id: ";
            s.pending += std::to_string(c->change.seq.value);
            s.pending += "\ndata: ";
            s.pending += c->json;
            s.pending += "\n\n";
        }
        s.signal.cancel();
    }
};

struct sse_deliver {  // the feed's callback: on the feed thread
    io_worker* worker;
    std::shared_ptr<sse_state> state;
    void operator()(std::uint64_t, consistency::watched_changes changes) {
        post_completion(*worker, sse_append{state, std::move(changes)});
    }
};

struct sse_disconnect {
    std::shared_ptr<sse_state> state;
    connection* conn;  // alive unless `finished`
    void operator()(boost::system::error_code ec) const {
        if (state->finished) return;
        if (ec) {  // the socket was closed (shutdown's sweep): end the stream now
            state->gone = true;
            state->signal.cancel();
            return;
        }
        char byte;
        auto n = ::recv(conn->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            state->gone = true;
            state->signal.cancel();
        }
        // Anything else a client sends on a watch is ignored; a later write notices a peer
        // that went away.
    }
};

// Unregisters the watcher however the stream's coroutine ends (also when its frame is
// destroyed at shutdown): after unwatch() returns, the feed never calls it again.
struct watch_registration {
    consistency::change_feed* feed;
    std::uint64_t id = 0;
    std::shared_ptr<sse_state> state;
    ~watch_registration() {
        if (id) feed->unwatch(id);
        state->finished = true;
    }
};

// Answers the request with the event stream, until the peer goes away, falls too far behind
// or the server stops. The connection is not reused afterwards (the body ends at close).
net::awaitable<void> serve_watch(server_context* ctx, io_worker* worker, connection* conn,
                                 api::watch_start* w, seq_t start) {
    auto state = std::make_shared<sse_state>(worker->ioc);
    date_line date = current_date_line();
    state->pending =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n";
    state->pending.append(date.text, date.size);
    state->pending += "Connection: close\r\n\r\n";
    // `id:` without data sets the client's Last-Event-ID without an event: a reconnect
    // before the first change still resumes from here and misses nothing.
    state->pending += ": watching changes after " + std::to_string(start.value) +
                      "\nretry: 1000\nid: " + std::to_string(start.value) + "\n\n";
    watch_registration reg{ctx->handlers.feed(), 0, state};
    reg.id = ctx->handlers.feed()->watch(w->collection, std::move(w->filter), start,
                                         sse_deliver{worker, state}, w->shown);
    if (reg.id == 0) co_return;  // stopping
    conn->socket.async_wait(tcp::socket::wait_read, sse_disconnect{state, conn});
    std::string writing;
    for (;;) {
        if (state->gone || ctx->stopping.load()) break;
        if (!state->pending.empty()) {
            writing.clear();
            writing.swap(state->pending);
            conn->busy = true;
            conn->deadline = std::chrono::steady_clock::now() + ctx->options.read_timeout;
            auto [ec, n] = co_await net::async_write(conn->socket, net::buffer(writing), use_tuple);
            if (ec) break;
            // Written: the feed may hand the next changes (change_feed.hpp, flow control). A
            // slow reader thus only falls behind in the log; its memory stays one page.
            ctx->handlers.feed()->ready(reg.id);
            continue;
        }
        conn->busy = false;  // shutdown's sweep closes it like an idle connection
        conn->deadline = steady_time::max();
        state->signal.expires_after(ctx->options.watch_keepalive);
        auto [ec] = co_await state->signal.async_wait(use_tuple);
        if (!ec && state->pending.empty()) state->pending = ": keep-alive\n\n";
    }
    boost::system::error_code ignored;
    conn->socket.cancel(ignored);  // ends the disconnect watch
}

struct drain_completions {
    io_worker* worker;
    void operator()() const {
        auto& in = worker->completions;
        {
            std::lock_guard lock(in.mu);
            in.running.swap(in.ready);
            in.drain_posted = false;
        }
        for (auto& f : in.running) f();
        in.running.clear();  // keeps its capacity for the next drain
    }
};

// ---- registration: the worker's set (for sweeps) and the server-wide count (for shutdown)

struct registration {
    server_context* ctx;
    io_worker* worker;
    connection* conn;
    bool active = true;

    registration(server_context* c, io_worker* w, connection* k) : ctx(c), worker(w), conn(k) {
        worker->connections.insert(conn);
        ctx->handlers.metrics().connection_opened();
        std::lock_guard lock(ctx->open_mu);
        ++ctx->open;
    }
    // An upgraded connection leaves the worker's sweeps (its new owner keeps its own
    // deadlines) but still counts as open, so that shutdown waits for it too.
    void leave_worker() { worker->connections.erase(conn); }
    void release() {
        if (!active) return;
        active = false;
        worker->connections.erase(conn);
        ctx->handlers.metrics().connection_closed();
        {
            std::lock_guard lock(ctx->open_mu);
            --ctx->open;
        }
        ctx->open_cv.notify_all();
    }
    ~registration() { release(); }
};

bool is_ws_target(std::string_view target) { return target == "/ws" || target.starts_with("/ws?"); }

// Without tokens, only requests to a loopback name: a page that rebinds a name of its own to
// 127.0.0.1 reads the answers as its own origin's (DNS rebinding) unless its Host is refused.
// A request without Host (HTTP/1.0) cannot come from a browser.
// `authority`: an absolute-form target's, which stands for Host (RFC 9112 3.2.2).
bool served_without_tokens(const bhttp::request<bhttp::string_body>& msg,
                           const std::optional<absolute_target>& absolute) {
    if (absolute) return auth::is_loopback_host(absolute->authority);
    auto host = msg.find(bhttp::field::host);
    return host == msg.end() || auth::is_loopback_host(host->value());
}

// Why the request's Host (or the authority of its absolute-form target) is refused, as
// for every request and every WebSocket upgrade; nothing when it is served.
std::optional<response> host_refusal(const bhttp::request<bhttp::string_body>& msg,
                                     const std::optional<absolute_target>& absolute,
                                     bool tokens_required) {
    auto host = msg.find(bhttp::field::host);
    if (msg.version() >= 11 && host == msg.end()) {
        return error_response(400, "bad_request", "an HTTP/1.1 request needs a Host header",
                              route_id::unknown);  // RFC 9112, 3.2
    }
    if (msg.count(bhttp::field::host) > 1 ||
        (host != msg.end() && !valid_host_field(host->value()))) {
        return error_response(400, "bad_request",
                              "the Host header is given twice or is not a host[:port]",
                              route_id::unknown);  // RFC 9112, 3.2
    }
    if (!tokens_required && !served_without_tokens(msg, absolute)) {
        return error_response(403, "forbidden",
                              "a server without tokens answers only requests to a loopback "
                              "name (Host: localhost, 127.0.0.1, [::1]); configure auth to "
                              "serve others",
                              route_id::unknown);
    }
    return std::nullopt;
}

// Feeds the parser what the buffer holds and reads the socket only when it needs more, until
// the header (`whole_message` false) or the whole message has been parsed: what Beast's
// async_read_header and async_read do, without their composed operations (a chain of
// handlers per read, and a trip through the scheduler when the buffer already holds the
// rest). The parser is Beast's, so its limits and its refusals of malformed or ambiguous
// framing are the same. Errors as Beast's reads give them: end_of_stream when the peer
// closed before a request began.
//
// parse_buffered is the part without the socket: true when what the buffer holds finishes
// the step (or is an error, in `ec`), so that the usual case, a body that arrived with its
// header, needs no coroutine frame for its read.
// Whether the bytes hold an LF that no CR precedes.
bool has_bare_lf(const beast::flat_buffer& buffer) {
    const auto data = buffer.cdata();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    for (auto lf = bytes.find('\n'); lf != std::string_view::npos; lf = bytes.find('\n', lf + 1)) {
        if (lf == 0 || bytes[lf - 1] != '\r') return true;
    }
    return false;
}

bool parse_buffered(beast::flat_buffer& buffer, bhttp::request_parser<bhttp::string_body>& parser,
                    bool whole_message, boost::system::error_code& ec) {
    parser.eager(whole_message);  // the header alone: Expect and Upgrade are looked at first
    ec = {};
    while (buffer.size() != 0) {
        std::size_t used = 0;
        try {
            used = parser.put(buffer.data(), ec);
        } catch (const std::length_error&) {
            // Beast stores a field's name and value lengths in 16 bits and throws for one of
            // 64 KiB or more (a header or a chunked trailer), whatever header_limit allows:
            // an oversized header, answered 431 like one over the limit (found from outside:
            // the connection was closed without an answer).
            ec = bhttp::error::header_limit;
            return true;
        }
        buffer.consume(used);
        // "HTTP/1.1" ended by a bare LF reads to Beast as a bad version, which is a 505;
        // the request is malformed instead (400).
        if (ec == bhttp::error::bad_version && has_bare_lf(buffer)) {
            ec = bhttp::error::bad_line_ending;
        }
        if (ec && ec != bhttp::error::need_more) return true;
        if (whole_message ? parser.is_done() : parser.is_header_done()) {
            ec = {};
            return true;
        }
        if (used == 0 && has_bare_lf(buffer)) {
            // Beast waits for a line's CRLF, and a line ended by a bare LF never gets one:
            // the request sat unanswered until the read timeout (found from outside, with a
            // chunked body's size lines). Nothing was taken, so the bytes are a line it waits
            // on (Beast takes a body's bytes as they come): a malformed request, answered 400.
            ec = bhttp::error::bad_line_ending;
            return true;
        }
        if (ec || used == 0) break;  // needs more than the buffer holds
    }
    ec = {};
    return false;
}

net::awaitable<boost::system::error_code> read_request(
    tcp::socket& socket, beast::flat_buffer& buffer,
    bhttp::request_parser<bhttp::string_body>& parser, bool whole_message) {
    boost::system::error_code ec;
    for (;;) {
        if (parse_buffered(buffer, parser, whole_message, ec)) co_return ec;
        net::mutable_buffer room;
        try {
            room = buffer.prepare(beast::read_size(buffer, 65536));
        } catch (const std::length_error&) {
            co_return bhttp::error::buffer_overflow;
        }
        auto [rec, n] = co_await socket.async_read_some(room, use_tuple);
        buffer.commit(n);
        if (rec == net::error::eof) {
            if (!parser.got_some()) co_return bhttp::error::end_of_stream;
            parser.put_eof(ec);
            co_return ec;
        }
        if (rec) co_return rec;
    }
}

// Where the values of list headers sent on several lines are joined (read_header_fields);
// the request's views point into it, so it lives as long as the request.
struct joined_lines {
    std::string if_none_match, if_modified_since, if_match, if_unmodified_since, prefer, prom_after;
};

// Several lines of a list header are one list, their values joined by commas (RFC 9110
// 5.3): the first line's value is used in place; a second one starts a joined copy in `store`.
void add_list_line(std::optional<std::string_view>& slot, std::string& store,
                   std::string_view value) {
    if (!slot) {
        slot = value;
        return;
    }
    if (slot->data() != store.data()) store.assign(*slot);
    store += ", ";
    store += value;
    slot = store;
}

// The header lines the routes read, in one pass over the fields (a lookup per name walked
// the fields' index seven times per request). If-None-Match, Prom-After, Prefer and
// If-Modified-Since lines are joined as lists (found from outside: a second Prefer line was
// dropped, and of two If-Modified-Since lines the first was used where RFC 9110 13.1.3 has
// the field ignored: joined, they are no date, which is ignored). Of other names the first
// line counts, as a lookup would find it. Returns the name of a field given twice that is
// not a list (RFC 9110 5.3), empty when none: Authorization (a proxy in front that read the
// other line would have checked another token than the one prom would use) and
// Content-Type (one that read the other line would have let through another type; found
// from outside: json then text/plain passed, text/plain then json was a 415).
std::string_view read_header_fields(const bhttp::fields& fields, request& req,
                                    joined_lines& joined) {
    auto first = [](std::optional<std::string_view>& slot, std::string_view value) {
        if (!slot) slot = value;
    };
    std::string_view repeated;
    for (const auto& f : fields) {
        switch (f.name()) {
            case bhttp::field::if_none_match:
                add_list_line(req.if_none_match, joined.if_none_match, f.value());
                break;
            case bhttp::field::if_modified_since:
                add_list_line(req.if_modified_since, joined.if_modified_since, f.value());
                break;
            case bhttp::field::if_match:
                add_list_line(req.if_match, joined.if_match, f.value());
                break;
            case bhttp::field::if_unmodified_since:
                add_list_line(req.if_unmodified_since, joined.if_unmodified_since, f.value());
                break;
            case bhttp::field::content_type:
                if (req.content_type && repeated.empty()) repeated = "Content-Type";
                first(req.content_type, f.value());
                break;
            case bhttp::field::authorization:
                if (req.authorization && repeated.empty()) repeated = "Authorization";
                first(req.authorization, f.value());
                break;
            case bhttp::field::prefer:
                add_list_line(req.prefer, joined.prefer, f.value());
                break;
            case bhttp::field::unknown:
                if (beast::iequals(f.name_string(), "Prom-After")) {
                    add_list_line(req.prom_after, joined.prom_after, f.value());
                } else if (beast::iequals(f.name_string(), "Last-Event-ID")) {
                    // Not a list: two resume points are refused, not one of them chosen.
                    if (req.last_event_id) req.last_event_id_repeated = true;
                    first(req.last_event_id, f.value());
                }
                break;
            default:
                break;
        }
    }
    return repeated;
}

// An answer as the socket takes it: status line, head, Date, Connection, the blank line,
// body. The buffers point into `r` and into `date`.
struct answer_buffers {
    date_line date = current_date_line();
    std::array<net::const_buffer, 6> parts;
    answer_buffers(const response& r, unsigned version, bool keep_alive) {
        std::string_view connection_line;
        if (!keep_alive) {
            connection_line = "Connection: close\r\n";
        } else if (version == 10) {
            connection_line = "Connection: keep-alive\r\n";
        }
        parts = {net::buffer(status_line(r.status)),
                 net::buffer(head_of(r)),
                 net::buffer(date.text, date.size),
                 net::buffer(connection_line),
                 net::buffer("\r\n", 2),
                 net::buffer(body_of(r))};
    }
    answer_buffers(const answer_buffers&) = delete;  // `parts` points into `date`
    answer_buffers& operator=(const answer_buffers&) = delete;
};

enum class first_write { whole, partial, failed };

// Most answers fit the socket's buffer: sent here, without a coroutine frame or a trip
// through the scheduler. The socket is non-blocking (serve_connection), so a full buffer
// gives `partial` (with `sent` bytes gone) and the rest goes out with write_rest.
first_write write_at_once(connection& conn, const answer_buffers& a, std::size_t& sent) {
    boost::system::error_code ec;
    sent = conn.socket.write_some(a.parts, ec);
    if (!ec && sent == net::buffer_size(a.parts)) return first_write::whole;
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
        return first_write::failed;
    }
    return first_write::partial;
}

net::awaitable<bool> write_rest(connection& conn, const answer_buffers& a, std::size_t sent) {
    beast::buffers_suffix<std::array<net::const_buffer, 6>> rest(a.parts);
    rest.consume(sent);
    auto [wec, n] = co_await net::async_write(conn.socket, rest, use_tuple);
    co_return !wec;
}

// `deadline`: when the sweeper may cut a write the peer does not read.
net::awaitable<bool> write_response(connection& conn, const response& r, unsigned version,
                                    bool keep_alive, steady_time deadline) {
    const answer_buffers a(r, version, keep_alive);
    conn.deadline = deadline;
    std::size_t sent = 0;
    switch (write_at_once(conn, a, sent)) {
        case first_write::whole:
            co_return true;
        case first_write::failed:
            co_return false;
        case first_write::partial:
            break;
    }
    co_return co_await write_rest(conn, a, sent);
}

// The request's Transfer-Encoding lines joined, and whether Beast reads the body chunked;
// http/transfer_coding.hpp decides.
std::optional<framing_refusal> refuse_framing(const bhttp::request_parser<bhttp::string_body>& p) {
    std::string joined;
    bool present = false;
    for (const auto& f : p.get().base()) {
        if (f.name() != bhttp::field::transfer_encoding) continue;
        if (present) joined += ',';
        present = true;
        joined.append(f.value().data(), f.value().size());
    }
    auto refused = refuse_transfer_coding(
        p.get().version(), present ? std::optional<std::string_view>(joined) : std::nullopt);
    if (!refused && present && !p.chunked()) {  // Beast's reading must agree
        return framing_refusal{400, "bad_request",
                               "malformed HTTP request: a Transfer-Encoding must end in chunked"};
    }
    return refused;
}

// The bytes of a request's header as sent, its whitespace around values aside: the request
// line, each field line and the blank line. Beast's own header_limit depends on how the
// bytes arrived (a request over the limit passed when it came in one segment and was refused
// when split; found from outside): this count is what `header_limit` compares.
std::size_t header_bytes(const bhttp::request<bhttp::string_body>& m) {
    std::size_t n = m.method_string().size() + 1 + m.target().size() + 1 + 8 + 2;  // HTTP/1.1
    for (const auto& f : m.base()) n += f.name_string().size() + 2 + f.value().size() + 2;
    return n + 2;
}

// The value of a response's ETag (a document's, a list page's), or empty.
std::string_view etag_in(const response& r) {
    if (r.doc) return r.doc->etag;
    const std::string_view head = head_of(r);
    constexpr std::string_view name = "ETag: ";
    const auto at = head.find(name);
    if (at == std::string_view::npos) return {};
    const auto end = head.find("\r\n", at);
    return head.substr(at + name.size(), end - at - name.size());
}

// The status for a request that did not parse; 0 when the peer just went away.
unsigned status_of_read_error(const boost::system::error_code& ec) {
    if (ec == bhttp::error::body_limit) return 413;
    if (ec == bhttp::error::header_limit) return 431;
    // Beast parses HTTP/1.0 and HTTP/1.1 only (found from outside: HTTP/2.0 was a 400).
    if (ec == bhttp::error::bad_version) return 505;
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
        if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return 0;
        return 400;
    }
    return 0;
}

}  // namespace

void post_completion(io_worker& worker, std::move_only_function<void()> f) {
    auto& in = worker.completions;
    bool post = false;
    {
        std::lock_guard lock(in.mu);
        in.ready.push_back(std::move(f));
        post = !in.drain_posted;
        in.drain_posted = true;
    }
    if (post) net::post(worker.ioc, drain_completions{&worker});
}

void sweep_connections(io_worker& worker, bool idle_too) {
    const auto now = std::chrono::steady_clock::now();
    for (connection* c : worker.connections) {
        if (c->deadline <= now || (idle_too && !c->busy)) {
            // Closing cancels the pending read or write; the session sees the error and ends.
            boost::system::error_code ignored;
            c->socket.shutdown(tcp::socket::shutdown_both, ignored);
            c->socket.close(ignored);
        }
    }
}

net::awaitable<void> serve_connection(tcp::socket socket, server_context* ctx, io_worker* worker) {
    connection conn{std::move(socket)};
    registration reg(ctx, worker, &conn);
    {
        boost::system::error_code ignored;
        conn.socket.non_blocking(true, ignored);  // for write_response's first try
    }
    beast::flat_buffer buffer;
    const auto& opts = ctx->options;
    // One clock reading per request and one per answer: the end of an answer is also the
    // start of the next read's deadline.
    steady_time last_answer = std::chrono::steady_clock::now();
    for (;;) {
        // `busy` and `deadline` are only touched on this worker's thread (the sweeper runs
        // there too), so they need no lock.
        conn.busy = false;
        if (ctx->stopping.load()) break;
        bhttp::request_parser<bhttp::string_body> parser;
        // Beast's bound with room to spare (it only bounds the memory a header takes);
        // header_bytes below is the limit.
        parser.header_limit(static_cast<std::uint32_t>(2 * opts.header_limit));
        parser.body_limit(opts.body_limit);
        conn.deadline = last_answer + opts.read_timeout;
        auto ec = co_await read_request(conn.socket, buffer, parser, false);
        if (!ec && header_bytes(parser.get()) > opts.header_limit) ec = bhttp::error::header_limit;
        if (!ec) {
            if (auto refused = refuse_framing(parser)) {
                auto r = error_response(refused->status, refused->code, refused->message,
                                        route_id::unknown);
                co_await write_response(conn, r, 11, false,
                                        std::chrono::steady_clock::now() + opts.read_timeout);
                ctx->handlers.metrics().record_request(r.route, r.status, {});
                break;
            }
        }
        if (!ec && !parser.is_done()) {
            // A request whose header came is in flight while its body arrives: a shutdown
            // lets it finish (until the deadline) instead of closing it as idle (found from
            // outside: a publish whose body was on its way was cut at SIGTERM). The read
            // deadline still holds.
            conn.busy = true;
            // curl and others wait (a second, for curl) for this before sending a body; an
            // HTTP/1.0 client does not know it (RFC 9110, 10.1.1: ignored).
            auto expect = parser.get().find(bhttp::field::expect);
            if (parser.get().version() >= 11 && expect != parser.get().end() &&
                beast::iequals(expect->value(), "100-continue")) {
                auto [wec, wn] = co_await net::async_write(
                    conn.socket, net::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25), use_tuple);
                ec = wec;
            }
            if (!ec && !parse_buffered(buffer, parser, true, ec)) {
                ec = co_await read_request(conn.socket, buffer, parser, true);
            }
        }
        conn.busy = true;
        conn.deadline = steady_time::max();  // a slow durable publish is not the client's fault
        auto started = std::chrono::steady_clock::now();
        if (ec) {
            unsigned status = status_of_read_error(ec);
            if (status == 0) break;  // closed, reset or timed out: nobody to answer
            auto r = error_response(status,
                                    status == 413   ? "too_large"
                                    : status == 505 ? "version_not_supported"
                                                    : "bad_request",
                                    status == 431   ? "the request headers are too large"
                                    : status == 413 ? "the request body is over the limit"
                                    : status == 505 ? "prom speaks HTTP/1.1 (and HTTP/1.0)"
                                                    : "malformed HTTP request: " + ec.message(),
                                    route_id::unknown);
            co_await write_response(conn, r, 11, false, started + opts.read_timeout);
            ctx->handlers.metrics().record_request(r.route, r.status,
                                                   std::chrono::steady_clock::now() - started);
            break;
        }
        auto& msg = parser.get();
        // An absolute-form target (a client that talks to prom as to a proxy) asks for its
        // origin-form; the rest of the server, the gateway too, only ever sees that.
        auto absolute = split_absolute_form(msg.target());
        const std::string_view target =
            absolute ? std::string_view(absolute->origin) : std::string_view(msg.target());
        if (parser.upgrade() && is_ws_target(target)) {
            if (auto no = host_refusal(msg, absolute, ctx->handlers.tokens_required())) {
                // A refused upgrade closes the connection (docs/ws-protocol.md), whatever
                // the client sent after it.
                co_await write_response(conn, *no, msg.version(), false,
                                        started + opts.read_timeout);
                ctx->handlers.metrics().record_request(route_id::ws, no->status,
                                                       std::chrono::steady_clock::now() - started);
                break;
            }
            if (absolute) {
                // The authority stands for Host (RFC 9112 3.2.2): the gateway checks that.
                msg.set(bhttp::field::host, std::string(absolute->authority));
                msg.target(absolute->origin);
            }
            if (ctx->upgrade) {
                reg.leave_worker();
                boost::system::error_code ignored;
                conn.socket.non_blocking(false, ignored);  // the gateway's own business
                // Counted like any request once the handshake is answered (a refused upgrade
                // too); made before the co_await, not in its expression (a g++ 12 bug).
                std::function<void(unsigned)> answered = [ctx, started](unsigned status) {
                    ctx->handlers.metrics().record_request(
                        route_id::ws, status, std::chrono::steady_clock::now() - started);
                };
                co_await ctx->upgrade(beast::tcp_stream(std::move(conn.socket)), std::move(buffer),
                                      parser.release(), std::move(answered));
                co_return;
            }
            auto r = error_response(501, "not_implemented",
                                    "the WebSocket gateway is not built yet", route_id::ws);
            co_await write_response(conn, r, msg.version(), false, started + opts.read_timeout);
            ctx->handlers.metrics().record_request(r.route, r.status,
                                                   std::chrono::steady_clock::now() - started);
            break;
        }

        request req;
        req.verb = method_of(msg.method());
        req.target = target;
        joined_lines joined;  // what several lines of a list header join into
        const std::string_view repeated_field = read_header_fields(msg, req, joined);
        req.body = msg.body();
        req.received = started;

        std::optional<response> r;
        bool waited = false;
        bool client_gone = false;
        if (auto no = host_refusal(msg, absolute, ctx->handlers.tokens_required())) {
            r = std::move(no);
        } else if (!repeated_field.empty()) {
            r = error_response(400, "bad_request",
                               "the " + std::string(repeated_field) + " header is given twice",
                               route_id::unknown);
        } else if (api::is_watch(req)) {
            auto w = ctx->handlers.begin_watch(req);
            if (!w.answer) {
                auto start = co_await open_watch_blocking(ctx, &w);
                if (start) {
                    co_await serve_watch(ctx, worker, &conn, &w, *start);
                    ctx->handlers.metrics().record_request(
                        route_id::watch, 200, std::chrono::steady_clock::now() - started);
                    break;
                }
                const unsigned status = status_of(start.error().code);
                r = error_response(status,
                                   status == 400   ? "bad_request"
                                   : status == 503 ? "unavailable"
                                                   : "internal",
                                   start.error().message, route_id::watch);
            } else {
                r = std::move(w.answer);
            }
        }
        // A blocking read: the change generation is read before the first read, so that a
        // commit between that read and the wait wakes it (change_waiters.hpp).
        auto poll = r ? std::nullopt : ctx->handlers.long_poll_of(req);
        const std::uint64_t generation = poll ? ctx->handlers.changes()->generation() : 0;
        // Read-your-writes: a read with `after` waits here, on no thread, for its projectors.
        auto gate = r ? api::read_wait{} : ctx->handlers.begin_read_after(req);
        if (r) {
            // answered above (a watch that was refused)
        } else if (gate.answer) {
            r = std::move(gate.answer);
        } else if (!gate.conditions.empty()) {
            auto outcome =
                co_await wait_for_cursors(ctx, worker, &conn, &gate.conditions, gate.deadline);
            waited = true;
            using kind = consistency::cursor_wait_outcome::kind;
            if (outcome.what == kind::cancelled) {
                client_gone = true;
            } else if (outcome.what == kind::timed_out) {
                r = ctx->handlers.not_caught_up(outcome, gate.route);
            } else {
                req.fresh = true;  // from the store: the cache may still hold an older body
            }
        }
        if (client_gone) break;
        if (!r) {
            try {
                r = ctx->handlers.handle(req, false);
            } catch (const std::exception& e) {
                spdlog::error("http: handler failed: {}", e.what());
                r = error_response(500, "internal", "the server failed", route_id::unknown);
            }
        }
        steady_time write_deadline = waited ? std::chrono::steady_clock::now() + opts.read_timeout
                                            : started + opts.read_timeout;
        if (!r && api::is_publish(req)) {
            auto begun = ctx->handlers.begin_publish(req);
            if (begun.answer) {
                r = std::move(begun.answer);
            } else {
                r = co_await publish_without_blocking(ctx, worker, &begun);
                if (r->status == 200 && !begun.conditions.empty()) {
                    // ?wait_for: durable now; answered once the collection's projectors
                    // have applied the events too.
                    auto outcome =
                        co_await wait_for_cursors(ctx, worker, &conn, &begun.conditions,
                                                  std::chrono::steady_clock::now() + begun.wait);
                    using kind = consistency::cursor_wait_outcome::kind;
                    if (outcome.what == kind::cancelled) break;
                    if (outcome.what == kind::timed_out) {
                        r = ctx->handlers.not_caught_up(outcome, route_id::publish, body_of(*r));
                    }
                }
                write_deadline = std::chrono::steady_clock::now() + opts.read_timeout;
            }
        }
        if (!r) {
            r = co_await handle_blocking(ctx, &req);
            // The write's deadline counts from here: the blocking pool may have taken a while.
            write_deadline = std::chrono::steady_clock::now() + opts.read_timeout;
        }
        if (poll && r->status == 304) {
            // Held until the representation changes (200 with the new body and ETag) or the
            // preferred wait passes (304 with Preference-Applied).
            const steady_time poll_deadline = started + poll->wait;
            std::uint64_t seen = generation;
            // `If-None-Match: *` matches every representation, so each re-read is a 304
            // again: the change it waits for is an ETag other than the one it was held on
            // (found from outside: a changed document was still a 304 after the wait).
            std::optional<std::string> held_on;
            if (req.if_none_match && if_none_match_matches(*req.if_none_match, "")) {
                held_on = std::string(etag_in(*r));
            }
            for (;;) {
                auto how =
                    co_await wait_for_change(ctx, worker, &conn, &*poll, seen, poll_deadline);
                // A shutdown cancels every waiter (change_waiters::stop): the request is
                // answered as at its deadline, without claiming the whole wait.
                const bool shutting_down =
                    how == change_wait::cancelled && ctx->handlers.changes()->stopping();
                if (how == change_wait::cancelled && !shutting_down) {
                    client_gone = true;
                    break;
                }
                if (how == change_wait::timed_out || shutting_down) {
                    // A commit by another process (a CLI, another server on the same SQLite
                    // file) wakes no waiter here: read once more before answering "not
                    // modified" at the deadline (docs/http-api.md).
                    req.fresh = true;
                    r = co_await handle_blocking(ctx, &req);
                    if (r->status != 304 || shutting_down) break;
                    if (held_on && etag_in(*r) != *held_on) {
                        req.if_none_match.reset();
                        r = co_await handle_blocking(ctx, &req);
                        break;
                    }
                    response held;
                    held.status = 304;
                    held.route = r->route;
                    held.head = std::string(head_of(*r)) +
                                "Preference-Applied: wait=" + std::to_string(poll->wait.count()) +
                                "\r\n";
                    r = std::move(held);
                    break;
                }
                seen = ctx->handlers.changes()->generation();
                // A rebuild's swap may have moved the collection to another physical one
                // (the alias change woke every waiter): wait on where it is now.
                if (auto moved = ctx->handlers.long_poll_of(req)) poll = std::move(moved);
                req.fresh = true;  // the cache may not have dropped the old body yet
                r = co_await handle_blocking(ctx, &req);
                if (r->status != 304) break;
                if (held_on && etag_in(*r) != *held_on) {
                    req.if_none_match.reset();  // answered as a plain read: 200, the new body
                    r = co_await handle_blocking(ctx, &req);
                    break;
                }
            }
            write_deadline = std::chrono::steady_clock::now() + opts.read_timeout;
        }
        if (client_gone) break;
        // api::handle drops HEAD bodies itself; this also covers the 500 made here when a
        // handler threw.
        if (req.verb == method::head) r->head_only = true;
        // A refused upgrade closes, whatever refused it: what the client sends next may be
        // frames (found from outside: `GET ws://…/ws` got 400 and its frames were read as a
        // request).
        const bool refused_upgrade = parser.upgrade() && r->status >= 400;
        bool keep_alive =
            msg.keep_alive() && !r->close && !refused_upgrade && !ctx->stopping.load();
        // write_response's steps inline: the usual answer needs no coroutine frame of its own.
        const answer_buffers answer(*r, msg.version(), keep_alive);
        conn.deadline = write_deadline;
        std::size_t sent = 0;
        const first_write how = write_at_once(conn, answer, sent);
        bool written = how == first_write::whole;
        if (how == first_write::partial) written = co_await write_rest(conn, answer, sent);
        last_answer = std::chrono::steady_clock::now();
        // A read or publish whose projectors did not catch up within its `wait` is the
        // client's chosen bound running out, not a server failure: no error line for it.
        // The error's text even for HEAD, whose answer carries no body (errors are plain
        // `body` responses).
        if (r->status >= 500 &&
            r->body.find(R"("error":"not_caught_up")") == std::string_view::npos) {
            spdlog::error("http: {} {} answered {}: {}", msg.method_string(), route_label(r->route),
                          r->status, r->body);
        }
        ctx->handlers.metrics().record_request(r->route, r->status, last_answer - started);
        if (!written || !keep_alive) break;
    }
    boost::system::error_code ignored;
    conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace prom::http
