// The erasure marker (docs/retention.md, "Erasure"): the event `prom erase` appends in place
// of a key's events, payload null and the header `prom-erased`. Readers that must tell it
// from an ordinary event (schemas, projectors) ask here.
#pragma once

#include <string_view>

#include "prom/event.hpp"

// A macro so the SQL test below is spelled from the same literal at compile time.
#define PROM_ERASURE_MARKER_HEADER "prom-erased"

namespace prom::retention {

inline constexpr std::string_view erasure_marker_header = PROM_ERASURE_MARKER_HEADER;

inline bool is_erasure_marker(const json::value& payload, const headers_map& headers) {
    return payload.is_null() && headers.contains(std::string(erasure_marker_header));
}

inline bool is_erasure_marker(const event& e) { return is_erasure_marker(e.payload, e.headers); }

}  // namespace prom::retention

// The same test in SQL over the events table's text columns (SQLite and PostgreSQL store
// payloads and headers as canonical JSON, so the header can only appear as a member name).
#define PROM_IS_ERASURE_MARKER_SQL \
    "(payload = 'null' AND headers LIKE '%\"" PROM_ERASURE_MARKER_HEADER "\":%')"
