// The event model (docs/events.md): {id, topic, key, ts, seq, payload, headers}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "prom/json.hpp"
#include "prom/seq_and_time.hpp"

namespace prom {

using headers_map = std::map<std::string, std::string>;

struct event {
    std::string id;
    std::string topic;
    std::string key;
    ts_ms ts;
    seq_t seq;
    json::value payload;
    headers_map headers;
};

// A payload's canonical JSON text (canonical_json's form), made only by read_canonical_event
// (src/core), which writes it from a publish body's text without building the payload: a
// store writes it as it is instead of serializing a parsed payload. Not constructible by
// callers, so a store can trust it as it cannot trust a caller's string.
class canonical_payload {
  public:
    canonical_payload() = default;
    [[nodiscard]] bool empty() const noexcept { return text_.empty(); }
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

  private:
    friend class canonical_event_reader;
    explicit canonical_payload(std::string text) : text_(std::move(text)) {}
    std::string text_;
};

// What a publisher hands in: everything but `seq` may be left out.
struct event_input {
    std::string topic;
    std::optional<std::string> id;  // generated (UUIDv7) when absent
    std::string key;                // empty when not given
    std::optional<ts_ms> ts;        // server clock when absent
    json::value payload;
    headers_map headers;
    // Conditional append (docs/http-api.md, "Conditional append"): appended only if the
    // key's latest event in the topic has this seq (0: the key has no event yet), checked
    // inside the append transaction; otherwise the whole batch fails with errc::conflict and
    // error::key_seq set to the key's current seq. A duplicate id is answered as a duplicate
    // (an idempotent retry), its expectation not checked again.
    std::optional<seq_t> expect_key_seq;
    // Not for callers: stores clear it when they prepare an input, and the group commit sets
    // it to the payload's canonical JSON on the publisher's thread (releasing `payload`), so
    // that the one writer thread of a store does not serialize what many threads can.
    std::string payload_text;
    // Set (and `payload` left null) by read_canonical_event for a publish body in the usual
    // shape: the network thread neither builds nor serializes the payload. Code that needs
    // the parsed payload calls payload_value().
    canonical_payload payload_canonical;
};

// `in`'s payload, parsed from payload_canonical when that is how it was read.
json::value payload_value(const event_input& in);

struct append_result {
    std::string id;
    seq_t seq;
    ts_ms ts;
    bool duplicate = false;
};

// Canonical JSON of an event, as `prom scan` prints it and the gateway sends it.
std::string to_json_text(const event& e);
json::object to_json(const event& e);
json::object to_json(const append_result& r);

// How deep a payload may nest (as parse_limits::max_depth counts), however it is sent.
inline constexpr std::size_t max_payload_depth = 64;
// How deep a publish body (HTTP, or a WebSocket frame) is parsed: well past an envelope
// around a payload of max_payload_depth, so that the payload's own limit is the one met,
// with its message (found from outside: 63, 62 or 61 levels, "malformed JSON: too deep",
// depending on how the event was sent).
inline constexpr std::size_t publish_body_max_depth = 1024;

// Reads an event_input from a publish body object; invalid_argument on a bad shape (a
// payload nesting deeper than max_payload_depth included).
result<event_input> event_input_from_json(const json::value& v);
// The same, moving the payload out of `v` instead of copying it.
result<event_input> event_input_from_json(json::value&& v);

// Validates names and sizes; fills id and ts. Shared by every backend.
status validate_input(const event_input& in);
std::string new_event_id();  // UUIDv7, time-ordered
ts_ms now_ms();

// Times on the CLI and in queries: epoch ms or ISO-8601 with a timezone.
result<ts_ms> parse_time(std::string_view text);

}  // namespace prom
