// What a handler sees of an HTTP request: views into the session's parsed message.
//
// The views stay valid until the handler returns; handlers copy what they keep.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "prom/error.hpp"

namespace prom::http {

enum class method { get, head, post, put, delete_, options, other };

struct request {
    method verb = method::other;
    std::string_view target;  // origin-form, still percent-encoded
    std::optional<std::string_view> if_none_match;
    std::optional<std::string_view> if_modified_since;
    std::optional<std::string_view> if_match;             // the writes' and reads' preconditions
    std::optional<std::string_view> if_unmodified_since;  // (http/conditional.hpp)
    std::optional<std::string_view> content_type;
    std::optional<std::string_view> authorization;
    std::optional<std::string_view> prom_after;     // the Prom-After header (read-your-writes)
    std::optional<std::string_view> prefer;         // Prefer (RFC 7240): `wait=N` long-polls
    std::optional<std::string_view> last_event_id;  // Last-Event-ID (a watch's resume point)
    bool last_event_id_repeated = false;            // given on more than one line
    std::string_view body;
    // When the request was read; the clock is read once per request and shared.
    std::chrono::steady_clock::time_point received{};
    // Set once a read with `after` has waited for its projectors: answered from the store,
    // not the snapshot cache, which may not have dropped an older body yet (another node's
    // commit reaches it by NOTIFY, after the cursor is already visible).
    bool fresh = false;
};

// Whether a Content-Type names JSON: `application/json` in any case, with parameters
// (charset) allowed. The routes that take a JSON body answer 415 otherwise.
bool is_json_content_type(std::optional<std::string_view> content_type);

// A query whose only parameter may be the flag `name`: `name=true|false`, or a bare `name`
// (true). Absent: false. Any other parameter or value is invalid_argument, with a message
// for a 400.
result<bool> flag_param(std::string_view query, std::string_view name);

// The decoded name of the query's first parameter; nullopt when it has none (`?`, `?&`).
// The first parameter of `query` (decoded) that is not one of `known`, or nullopt.
std::optional<std::string> first_param_name(std::string_view query,
                                            std::initializer_list<std::string_view> known = {});
// The decoded value of the first parameter `name`; nullopt when it is not given.
std::optional<std::string> param_value(std::string_view query, std::string_view name);

}  // namespace prom::http
