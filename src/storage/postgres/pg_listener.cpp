#include "storage/postgres/pg_listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>

#include "core/thread_name.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace prom::storage::postgres {

change_listener::change_listener(
    std::string conninfo, std::vector<std::string> setup, std::string channel,
    std::function<void(const std::vector<std::string>&, bool)> on_change)
    : conninfo_(std::move(conninfo)),
      setup_(std::move(setup)),
      channel_(std::move(channel)),
      on_change_(std::move(on_change)) {}

change_listener::~change_listener() { stop(); }

namespace {
result<std::unique_ptr<connection>> listen_on(const std::string& conninfo,
                                              const std::vector<std::string>& setup,
                                              const std::string& channel) {
    auto c = connection::open(conninfo, setup);
    if (!c) return c;
    if (auto r = (*c)->exec("LISTEN " + quote_ident(channel)); !r) {
        return std::unexpected(r.error());
    }
    return c;
}
}  // namespace

status change_listener::start() {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return fail(errc::io_error, "eventfd failed");
    auto c = listen_on(conninfo_, setup_, channel_);
    if (!c) return std::unexpected(c.error());
    first_conn_ = c->release();
    thread_ = std::thread([this] { run(); });
    return {};
}

void change_listener::stop() {
    if (stop_.exchange(true)) return;
    if (wake_fd_ >= 0) {
        std::uint64_t one = 1;
        (void)::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    delete static_cast<connection*>(first_conn_);  // only when the thread never started
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void change_listener::run() {
    name_this_thread("prom-pg-listen");
    constexpr auto idle_ping = std::chrono::seconds(10);
    std::unique_ptr<connection> conn(static_cast<connection*>(first_conn_));
    first_conn_ = nullptr;
    auto backoff = std::chrono::milliseconds(50);
    while (!stop_) {
        if (!conn || conn->broken()) {
            conn.reset();
            auto c = listen_on(conninfo_, setup_, channel_);
            if (!c) {
                pollfd w{wake_fd_, POLLIN, 0};
                ::poll(&w, 1, static_cast<int>(backoff.count()));
                backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
                continue;
            }
            conn = std::move(*c);
            backoff = std::chrono::milliseconds(50);
            on_change_({}, true);  // commits while we were away sent no notification we saw
        }
        pollfd fds[2] = {{PQsocket(conn->raw()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        int n = ::poll(fds, 2, static_cast<int>(idle_ping.count()));
        if (n < 0) continue;  // EINTR
        if (fds[1].revents) break;
        if (n == 0) {
            // A quiet socket may be a dead peer that never sent a reset: ask, and reconnect
            // if there is no answer.
            if (!conn->exec("SELECT 1")) conn.reset();
        } else if (!PQconsumeInput(conn->raw())) {
            conn.reset();
        }
        if (!conn) {
            on_change_({}, true);
            continue;
        }
        bool changed = false;
        std::vector<std::string> payloads;
        while (PGnotify* n = PQnotifies(conn->raw())) {
            if (n->extra && *n->extra) payloads.emplace_back(n->extra);
            PQfreemem(n);
            changed = true;
        }
        if (changed) on_change_(payloads, false);
    }
}

}  // namespace prom::storage::postgres
