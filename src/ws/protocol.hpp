// The gateway's JSON protocol (docs/ws-protocol.md): parsing client frames, rendering
// server frames. No I/O here, so it is unit-tested on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "prom/bus.hpp"

namespace prom::ws {

struct subscribe_cmd {
    std::string topic;  // a topic, or a prefix pattern ending in '*' ("order.*"; "*": all)
    std::string group;
    start_from from = start_from::earliest;
    std::optional<seq_t> from_seq;  // "from": {"seq": N}
    std::optional<ts_ms> from_ts;   // "from": {"ts": T}
    // "from": {"seqs": {topic: N, …}}, a pattern's only: where each listed topic starts; its
    // other topics start at their first event.
    std::optional<std::map<std::string, seq_t, std::less<>>> from_seqs;
    std::size_t batch_size = 100;
    bool manual_ack = false;
};
struct ack_cmd {
    std::string topic;
    std::string group;
    seq_t seq{};
};
struct unsubscribe_cmd {
    std::string topic;
    std::string group;
};
struct publish_cmd {
    std::vector<event_input> events;
};
// A watch of a collection's changes (docs/watches.md): one key, a key prefix, or every key
// (neither given), from after `after` (a change's seq, like SSE's Last-Event-ID) or from now.
// A connection's watches are named by (collection, key or prefix), as unwatch names them.
struct watch_cmd {
    std::string collection;
    std::optional<std::string> key;
    std::string prefix;
    std::optional<seq_t> after;
};
struct unwatch_cmd {
    std::string collection;
    std::optional<std::string> key;
    std::string prefix;
};

struct command {
    std::string id;  // the client's correlation id, echoed in the reply ("" when absent)
    std::variant<subscribe_cmd, ack_cmd, unsubscribe_cmd, publish_cmd, watch_cmd, unwatch_cmd> op;
};

struct protocol_error {
    std::string id;  // as far as it could be read
    std::string code;
    std::string message;
};

constexpr std::size_t max_batch_size = 10000;
// A request's `id` (echoed in its reply) is at most this long.
constexpr std::size_t max_request_id_bytes = 256;

std::variant<command, protocol_error> parse_command(std::string_view text);

// A subscribe/unsubscribe topic that names every topic starting with what precedes its
// final '*' (dead-letter topics excepted, as for projectors: topic_matches).
inline bool is_topic_pattern(std::string_view topic) { return topic.ends_with('*'); }

// A close code an endpoint may send (RFC 6455 §7.4): 1000–1003, 1007–1013, 3000–4999, as
// Boost.Beast reads a peer's (it takes 1014, assigned by IANA after RFC 6455, as reserved).
// A peer's close with any other code is answered with 1002.
bool sendable_close_code(std::uint16_t code);

std::string events_frame(std::string_view topic, std::string_view group,
                         std::span<const event> batch);
// The `error` of an error frame for a library error: `bad_request` for the caller's input
// (invalid_argument, type_error), the errc's name otherwise.
std::string error_code_of(errc code);

// A watch's change: {"op":"change", then the fields of consistency::render_change}.
std::string change_frame(std::string_view change_json);
// The fields naming a watch in replies: collection and key, or collection and prefix.
json::object watch_fields(std::string_view collection, const std::optional<std::string>& key,
                          std::string_view prefix);

std::string reply_frame(std::string_view id, std::string_view op, json::object fields = {});
std::string error_frame(std::string_view id, std::string_view code, std::string_view message);
// A refused conditional publish: {"op":"error","error":"conflict","key_seq":CURRENT,…}.
// An error frame for a refused publish, with the members of the HTTP answer: `key_seq` for a
// failed `expect` (409 `conflict`), `horizon` for an event older than the horizon (`gone`).
std::string error_frame_of(std::string_view id, const error& e);

}  // namespace prom::ws
