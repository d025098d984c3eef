// Paths into an event, as references ("$payload.a.b"), key templates ("{key}") and `where`
// fields ("payload.status") name them: a root (payload, key, id, ts, seq, topic, headers)
// and, under payload, object fields or array indexes; under headers, one header name.
// Parsed once when a definition is parsed; looked up per event without re-parsing.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "prom/event.hpp"

namespace prom::userproj {

enum class event_root { payload, key, id, ts, seq, topic, headers };

struct event_path {
    event_root root = event_root::payload;
    std::vector<std::string> fields;  // payload: the steps below it; headers: one name
    std::string text;                 // as written, for error messages
};

// Parses "payload", "payload.a.b", "key", "headers.h", … A message saying what is wrong
// otherwise (unknown root, empty step, headers without a name, a step under a scalar root).
std::expected<event_path, std::string> parse_event_path(std::string_view text);

// The value at `path` in `e`: a pointer into the event's payload, or into `scratch` for the
// other roots (made there as JSON: strings, integers). nullptr when the path is missing.
// An all-digit step indexes an array.
const json::value* lookup(const event& e, const event_path& path, json::value& scratch);

// The per-event error for a missing path.
std::string missing_path_message(const event& e, const event_path& path);

}  // namespace prom::userproj
