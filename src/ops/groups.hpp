// Consumer groups and topics seen by an operator (docs/operations.md): every group's cursor,
// lag in events and seconds, lease holder and last ack, read from the durable cursors, so
// every node of a deployment (standby or active, just restarted or not) reports the same;
// moving a group's cursor (seek) and deleting an inactive group.
//
// Free functions over a store; thread-safe as the store is. Errors as values:
// not_found (no such topic or group), invalid_argument (a bad seek target),
// conflict (the group is active and `force` was not given).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom::ops {

struct group_info {
    std::string topic;
    std::string group;
    seq_t cursor{};
    seq_t last_seq{};             // the topic's
    std::int64_t lag_events = 0;  // last_seq - cursor (0 when caught up)
    double lag_seconds = 0;       // now - ts of the first unacknowledged event; 0 when caught up
    std::optional<std::string> holder;  // owner of the live lease: the group is active
    std::optional<ts_ms> last_ack;      // when the cursor was last written
};

// `now`: the clock lag_seconds is measured on (epoch ms; tests pass their own).
result<std::vector<group_info>> list_groups(store& s, ts_ms now);
json::object to_json(const group_info& g);

struct topic_summary {
    std::string topic;
    std::int64_t events = 0;
    seq_t last_seq{};
    std::optional<ts_ms> last_ts;       // ts of the event with the last seq
    std::int64_t dead_letters = 0;      // events in `<topic>.dlq`
    std::optional<std::int64_t> bytes;  // what its events take (store::topic_sizes), when asked
    ts_ms horizon{};                    // docs/retention.md; 0 until a pass first drops an event
};
// `with_bytes` adds each topic's bytes: one more query that reads every event of the
// database, so only on request (GET /topics?bytes=true, prom topics), never on the
// dashboard's polls.
result<std::vector<topic_summary>> list_topics(store& s, bool with_bytes = false);
json::object to_json(const topic_summary& t);

// Where a seek moves a cursor: exactly one of them.
struct seek_target {
    enum class kind { seq, ts, earliest, latest };
    kind what = kind::seq;
    std::int64_t value = 0;  // the seq or the ts
};

struct seek_outcome {
    seq_t previous{};
    seq_t seq{};           // the new cursor: the next event delivered is seq + 1
    bool revoked = false;  // a live lease was taken from its holder (force)
};

// Moves (topic, group)'s cursor. An active group (someone holds its lease) is refused with
// conflict unless `force`: then the lease is taken from the holder first, for as long as
// the holder's lease had left plus a second, so that the holder's next renewal fails and it
// re-reads the cursor when it takes the lease again.
result<seek_outcome> seek(store& s, std::string_view topic, std::string_view group,
                          const seek_target& target, bool force);

// Parses a seek body: {"seq":N} | {"ts":T} | {"to":"earliest"|"latest"}, plus "force".
struct seek_request {
    seek_target target;
    bool force = false;
};
result<seek_request> parse_seek_request(const json::value& body);

// Deletes an inactive group's cursor. not_found: no such group; conflict: it is active.
status remove_group(store& s, std::string_view topic, std::string_view group);

}  // namespace prom::ops
