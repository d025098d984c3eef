// The event bus (docs/events.md): publish, subscribe with consumer groups, ack, cursor.
//
// A bus works over any store: over `memory:` it is the in-memory bus, over SQLite or
// PostgreSQL the durable one. Delivery is in seq order and at-least-once; one subscriber
// per (topic, group) is active at a time (a lease), the others wait and take over when it
// stops or dies. A bus must outlive its subscriptions; it is safe for concurrent use.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "prom/store.hpp"

namespace prom {

enum class start_from { earliest, latest };

struct subscribe_options {
    start_from from = start_from::earliest;  // only when the group has no cursor yet
    bool manual_ack = false;
    std::size_t batch_size = 100;
    std::chrono::milliseconds lease_ttl{5000};
    std::chrono::milliseconds retry_backoff{100};  // after a handler throws
    // No consumer group: no lease (every ephemeral subscriber gets every event), no cursor
    // (it starts at `from` each time, and nothing of it is stored), ack does nothing. For
    // watching a topic (`prom tail --url` without --group, a dashboard).
    bool ephemeral = false;
};

class subscription;

// Receives a batch in seq order. Throwing means "not processed": the batch is redelivered
// after a backoff. With manual_ack the handler (or anyone) calls subscription::ack.
using batch_handler = std::function<void(std::span<const event> batch, subscription& sub)>;

class subscription {
  public:
    virtual ~subscription() = default;  // stops and releases the lease
    // durable cursor := seq (never moves backwards; refused past the topic's last seq, and
    // with errc::conflict while this subscription does not hold the group's lease: a
    // standby, or one whose lease an operator's forced seek took)
    virtual status ack(seq_t seq) = 0;
    virtual void stop() = 0;
    virtual bool active() const = 0;  // holds the group's lease right now
    virtual const std::string& topic() const = 0;
    virtual const std::string& group() const = 0;
};

class bus {
  public:
    explicit bus(store& s) : store_(s) {}

    result<append_result> publish(event_input e);
    result<std::vector<append_result>> publish_batch(std::vector<event_input> events);

    std::unique_ptr<subscription> subscribe(std::string topic, std::string group,
                                            batch_handler handler, subscribe_options options = {});

    // The group's durable cursor := seq (never backwards). invalid_argument, and nothing
    // changes, when seq is beyond the topic's last seq.
    status ack(std::string_view topic, std::string_view group, seq_t seq);
    // 0 when the group has acknowledged nothing.
    result<seq_t> cursor(std::string_view topic, std::string_view group);

    store& storage() { return store_; }

  private:
    store& store_;
};

}  // namespace prom
