// Conditional GET/HEAD for the snapshot API (RFC 9110 13.1.2, 13.1.3, 13.2.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace prom::http {

// True when `if_none_match` (a list of entity tags, or `*`) matches `etag` under the weak
// comparison: `W/"x"` and `"x"` match `"x"`. A malformed member ends the list (what was
// read so far still counts), because a broken header must never turn into a 304 by itself.
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

struct conditional_headers {
    std::optional<std::string_view> if_none_match;
    std::optional<std::string_view> if_modified_since;
};

// Whether a GET/HEAD of a document with `etag`, last modified at `modified_seconds`, is
// answered 304. If-None-Match, when present, decides alone; If-Modified-Since is used only
// without it, and only when its date parses.
bool not_modified(const conditional_headers& h, std::string_view etag,
                  std::int64_t modified_seconds);

}  // namespace prom::http
