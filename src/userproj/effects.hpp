// What declarative and Lua handlers share when they apply an event's effects: the ids of
// derived events, the default _ts of written documents, the collection mapping.
#pragma once

#include <string>
#include <string_view>

#include "prom/user_projector.hpp"

namespace prom::userproj {

// The id of the index-th event that `projector` emits for `input`:
// `prom-proj:<projector>:<index>:<input topic>:<input seq>` (docs/projectors.md), a function
// of the three only, so a redelivered batch or a rebuild appends duplicates the log refuses
// (never a second event). At most 256 bytes (process::bounded_reserved_id).
std::string emitted_id(const event& input, std::string_view projector, std::size_t index);

// The collection actually written for `collection` (shadows during a rebuild).
std::string target_collection(const user_handler_options& o, std::string_view collection);

// Stamps `_ts` = the event's ts on an update or replacement that does not set it, so that a
// projected document depends only on the log (a rebuild gives the same bytes and ETags).
void stamp_event_ts(json::object& update, bool is_replacement, ts_ms ts);

// The headers every emitted event carries: where it came from (prom-source-id,
// prom-projector) and how many emits lie between it and a published event (prom-depth).
// Refused when the input is max_emit_depth emits deep already: a loop of projectors.
inline constexpr std::string_view depth_header = "prom-depth";
inline constexpr std::int64_t max_emit_depth = 8;

// An emitted payload nests at most as deep as one POST /publish takes (63 levels inside its
// envelope's 64): a template or a handler could build one deeper, which no publish could
// have made (found from outside: a 111-level event was appended).
status check_emitted_payload(const json::value& payload);
status add_source_headers(headers_map& h, const event& input, std::string_view projector);

}  // namespace prom::userproj
