// One consumer's place in a topic: the group's lease, the position, and what to do next.
// Shared by the two drivers of consumers: `consumer_loop` (a thread of its own, for library
// subscriptions and projectors) and `delivery_pool` (a few threads for many WebSocket
// subscriptions). Not thread-safe: one driver calls it at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "prom/bus.hpp"

namespace prom::bus_internal {

// The lease a consumer of (topic, group) holds while it is active; operations tools read and
// revoke it (src/ops/groups.cpp).
std::string consumer_lease_name(std::string_view topic, std::string_view group);
inline constexpr std::string_view consumer_lease_prefix = "consumer/";

struct consumer_config {
    std::string topic;
    std::string group;
    start_from from = start_from::earliest;
    std::size_t batch_size = 100;
    std::chrono::milliseconds lease_ttl{5000};
    std::chrono::milliseconds retry_backoff{100};
    bool ephemeral = false;  // no lease, no durable cursor: starts at `from` (bus.hpp)
    // A start position instead of `from` (WebSocket `"from": {"seq": N}` or `{"ts": T}`;
    // docs/ws-protocol.md): the first event delivered is seq N, or the first in seq order
    // with ts >= T. Like `from`, only for an ephemeral consumer or a group without a cursor.
    std::optional<seq_t> from_seq;
    std::optional<ts_ms> from_ts;
    // A batch whose events pass this many bytes is read again with fewer (scan_fitting).
    std::size_t max_batch_bytes = default_max_page_bytes;
    // An ephemeral consumer: called once, on the driver's thread, when its starting position
    // is known (the seq it delivers after), before its first delivery. The WebSocket gateway
    // tells the client (`started`), which then resumes from there after a reconnect even if
    // no event came before it.
    std::function<void(seq_t after)> on_start;
};

// What the consumer should do after next().
struct consumer_step {
    enum class kind {
        deliver,      // hand `events` to the consumer, then call advance()
        wait_change,  // nothing to read: wait until change_version() != version (or `wait`)
        back_off,     // a storage error: wait retry_backoff, then try again
    };
    kind what;
    std::vector<event> events;
    std::uint64_t version = 0;
    std::chrono::milliseconds wait{0};
};

class consumer_state {
  public:
    consumer_state(store& s, consumer_config config);

    // Holds (or takes over) the lease and reads the next batch.
    consumer_step next();
    // Starts reading the batch after `last` on a thread of its own, for the next call of
    // next() to take if the position has reached `last` by then, and to drop otherwise. A
    // driver that delivers on its own thread (consumer_loop) reads the next batch while it
    // delivers this one; the events are the ones a read then would return, since committed
    // events do not change.
    void read_ahead(seq_t last);
    // After a delivery: the seq up to which the batch was processed, or nullopt when it was
    // not. False when the position did not move (the caller backs off before trying again).
    bool advance(std::optional<seq_t> reached, seq_t batch_last);
    // Gives the lease back (when stopping).
    void release();
    // While a delivery runs long (user handlers, up to their time limit per event): renews
    // the lease when a third of its time has passed, as between batches. False when it is
    // no longer held (another node took it over): the delivery should stop, its commit
    // would be refused. Never takes a lease this consumer does not hold.
    bool renew_lease();
    // Any thread, while the driver waits for a delivery to come back (a WebSocket frame
    // behind a slow client) or before an ack: renews the lease if a third of its time has
    // passed, and otherwise reads who holds it (an operator may have taken it). False when
    // another owner holds it (this consumer is then inactive: its driver's next step takes
    // the lease again or waits as a standby), so that a consumer whose lease passed on does
    // not move the group's cursor under its new holder. Never takes a lease this consumer
    // does not hold.
    result<bool> confirm_lease();

    bool active() const { return active_.load(); }
    // Forget the position and re-read the durable cursor before the next batch (after a
    // conflict showed that someone else moved it).
    void resync() { active_ = false; }
    seq_t position() const { return position_; }
    const consumer_config& config() const { return config_; }
    const std::string& owner() const { return owner_; }
    // How long an idle consumer may sleep before it must look at its lease again.
    std::chrono::milliseconds idle_wait() const;

  private:
    bool hold_lease();
    std::optional<seq_t> initial_position();
    // Where a consumer without a cursor starts (the seq before its first event).
    std::optional<seq_t> starting_point();

    // The batch after `after`, read by read_ahead; its future waits for the read when it
    // goes, so the read never outlives this object.
    struct batch_read_ahead {
        seq_t after;
        std::future<result<std::vector<event>>> batch;
    };
    result<std::vector<event>> read_batch();
    // The batch from `from` on, bounded in events and bytes.
    scan_query batch_query(seq_t from) const;
    result<std::vector<event>> read_from(seq_t from);

    store& store_;
    consumer_config config_;
    std::optional<batch_read_ahead> ahead_;
    std::string owner_;
    std::string lease_name_;
    std::atomic<bool> active_{false};
    // When the lease was last acquired or renewed (steady_clock ticks): read and written by
    // the driver and by confirm_lease from other threads.
    std::atomic<std::chrono::steady_clock::rep> renewed_{0};
    bool renewed_within_a_third(std::chrono::steady_clock::time_point now) const;
    seq_t position_{};
};

}  // namespace prom::bus_internal
