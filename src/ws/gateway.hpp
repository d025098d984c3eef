// The WebSocket gateway on GET /ws of `prom serve` (docs/ws-protocol.md): subscribe with
// consumer groups, ack, unsubscribe, publish, watch and unwatch, over one JSON protocol.
//
// Slow consumers: each subscription hands one batch at a time to its connection and waits
// (holding no thread) until it is written; a frame whose write does not finish within
// `send_timeout` of its start (the peer stopped reading) disconnects that client. Publishers and
// other subscribers never wait for it, and its unacknowledged events go to the group's next
// consumer.
//
// A gateway must outlive the HTTP server it is installed in; its destructor waits for
// every session to end.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "auth/auth_policy.hpp"
#include "consistency/change_feed.hpp"
#include "consistency/collection_writers.hpp"
#include "prom/store.hpp"

namespace prom::http {
struct server_context;
}
namespace prom::userproj {
class collection_aliases;
}

namespace prom::ws {

struct gateway_options {
    std::size_t max_message_bytes = std::size_t{1024} * 1024;  // bigger messages close with 1009
    std::chrono::milliseconds send_timeout{10000};
    std::size_t max_subscriptions = 64;    // per connection
    std::size_t max_queued_frames = 1024;  // replies waiting to be written, per connection
    unsigned blocking_threads = 4;         // acks (they wait for commits)
    // Delivery to subscriptions: this many threads plus one watcher, however many
    // subscriptions there are (src/bus/delivery_pool.hpp).
    unsigned delivery_threads = 2;
    // The `watch` op (docs/watches.md): the feed, which projectors write a collection (a
    // collection nobody writes and without documents is unknown) and the rebuilt
    // collections' aliases. Null feed: `watch` answers not_implemented. Must outlive the
    // gateway.
    consistency::change_feed* feed = nullptr;
    consistency::collection_writers_fn writers_of;
    const userproj::collection_aliases* aliases = nullptr;
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

    // Sets the server's upgrade hook; called from http_server::start's `configure`, before
    // the first connection is accepted.
    void install(http::server_context& server);

    // Closes every connection and stops its subscriptions; call before stopping the
    // HTTP server (the destructor does it too).
    void shutdown();

    const gateway_metrics& metrics() const;
    struct state;  // ws_session.cpp

  private:
    std::shared_ptr<state> state_;
};

}  // namespace prom::ws
