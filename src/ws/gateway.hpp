// The WebSocket gateway on GET /ws of `prom serve` (docs/ws-protocol.md): subscribe with
// consumer groups, ack, unsubscribe, publish, over one JSON protocol.
//
// Slow consumers: each subscription hands one batch at a time to its connection and waits
// (holding no thread) until it is written; a batch not written within `send_timeout` (the peer
// stopped reading) disconnects that client. Publishers and other subscribers never wait for it, and
// its unacknowledged events go to the group's next consumer.
//
// A gateway must outlive the HTTP server it is installed in; its destructor waits for
// every session to end.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "auth/auth_policy.hpp"
#include "prom/store.hpp"

namespace prom::http {
class http_server;
}

namespace prom::ws {

struct gateway_options {
    std::size_t max_message_bytes = 1024 * 1024;  // bigger messages close with 1009
    std::chrono::milliseconds send_timeout{10000};
    std::size_t max_subscriptions = 64;    // per connection
    std::size_t max_queued_frames = 1024;  // replies waiting to be written, per connection
    unsigned blocking_threads = 4;         // acks (they wait for commits)
    // Delivery to subscriptions: this many threads plus one watcher, however many
    // subscriptions there are (src/bus/delivery_pool.hpp).
    unsigned delivery_threads = 2;
};

struct gateway_metrics {
    std::atomic<std::uint64_t> sessions_open{0};
    std::atomic<std::uint64_t> sessions_total{0};
    std::atomic<std::uint64_t> events_sent{0};
    std::atomic<std::uint64_t> published{0};
    std::atomic<std::uint64_t> slow_consumers_dropped{0};
    std::atomic<std::uint64_t> auth_refused{0};
};

class gateway {
  public:
    gateway(store& s, const auth::auth_policy& policy, gateway_options options = {});
    ~gateway();

    // Sets the server's upgrade hook; call before traffic starts.
    void install(http::http_server& server);

    // Closes every connection and stops its subscriptions; call before stopping the
    // HTTP server (the destructor does it too).
    void shutdown();

    const gateway_metrics& metrics() const;
    struct state;  // ws_session.cpp

  private:
    std::shared_ptr<state> state_;
};

}  // namespace prom::ws
