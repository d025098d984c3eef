// Conditional requests for the snapshot API and the writes that name a document or a policy
// (RFC 9110 13.1, 13.2.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace prom::http {

// True when `if_none_match` (a list of entity tags, or `*`) matches `etag` under the weak
// comparison: `W/"x"` and `"x"` match `"x"`. A malformed member ends the list (what was
// read so far still counts), because a broken header must never turn into a 304 by itself.
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

// A document's Last-Modified, in whole seconds: its `_ts` rounded down (HTTP dates have no
// fractions), without overflow: `ts - 999` wrapped for the most negative _ts, whose
// Last-Modified came out as the year 9999 (found from outside).
inline std::int64_t last_modified_seconds(std::int64_t ts_ms) {
    return ts_ms / 1000 - (ts_ms % 1000 < 0 ? 1 : 0);
}

struct conditional_headers {
    std::optional<std::string_view> if_none_match;
    std::optional<std::string_view> if_modified_since;
};

// Whether a GET/HEAD of a document with `etag`, last modified at `modified_seconds`, is
// answered 304. If-None-Match, when present, decides alone; If-Modified-Since is used only
// without it, and only when its date parses.
bool not_modified(const conditional_headers& h, std::string_view etag,
                  std::int64_t modified_seconds);

// If-Match and If-Unmodified-Since, the preconditions a server must not act against (RFC
// 9110 13.1.1, 13.1.4), and for a write If-None-Match (13.1.2: a write whose If-None-Match
// matches is refused, 412; found from outside: a DELETE ignored it). A GET or HEAD leaves
// `if_none_match` out: there a match is a 304 (not_modified), not a failed precondition.
struct preconditions {
    std::optional<std::string_view> if_match;
    std::optional<std::string_view> if_unmodified_since;
    std::optional<std::string_view> if_none_match = std::nullopt;
};

// Whether the preconditions hold for a resource that exists (`exists`) with entity tag
// `etag` (none: the resource has no tag, so only `*` matches) and last modified at
// `modified_seconds` (none: no date, and If-Unmodified-Since is ignored). If-Match compares
// strongly (a W/ tag never matches) and decides alone when present; a malformed If-Match is
// false, so a broken header never lets a write through. Then If-None-Match, weakly: `*` or
// a tag that matches makes the precondition false (13.2.2, step 3). A request naming no resource
// that exists is answered as without preconditions (404), not here.
bool preconditions_hold(const preconditions& p, std::optional<std::string_view> etag,
                        std::optional<std::int64_t> modified_seconds);

}  // namespace prom::http
