// Errors as values at every library boundary.
//
// Every fallible call in prom returns `prom::result<T>` (std::expected<T, prom::error>).
// Exceptions never cross the public API; `errc` is the one code set that the HTTP layer
// maps to status codes (see src/http/error_status.cpp).
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace prom {

enum class errc {
    invalid_argument,     // the caller's input is wrong: 400 / CLI usage error
    not_found,            // unknown key, topic, collection: 404
    conflict,             // a lease or concurrent change got in the way: 409
    type_error,           // an update operator met a value of the wrong type: 400, txn rolls back
    too_large,            // a body or batch over its limit: 413
    unavailable,          // the database is away or busy; retry later: 503
    io_error,             // the database or file system failed: 500
    corrupt,              // stored bytes do not parse: 500
    cancelled,            // the operation was stopped by shutdown
    invalid_payload,      // a payload breaks its topic's JSON Schema (docs/schemas.md): 422
    gone,                 // retention dropped what the answer needs, or an event is older than
                          // its topic's horizon (docs/retention.md): 410
    precondition_failed,  // an If-Match or If-Unmodified-Since of the request is false: 412
    internal,             // a bug
};

std::string_view to_string(errc code) noexcept;

struct error {
    errc code;
    std::string message;
    // errc::conflict of a conditional append (event_input::expect_key_seq): the key's latest
    // seq when the append was refused (0: none). Empty for every other error.
    std::optional<std::int64_t> key_seq = std::nullopt;
    // errc::invalid_payload: the JSON Pointer of the first violation within the event
    // ("/payload/cpu_pct"; in a batch the message names the event's position) and the
    // version of the topic's schema that refused it. Empty for every other error.
    std::optional<std::string> path = std::nullopt;
    std::optional<std::int64_t> schema_version = std::nullopt;
    // errc::gone: the topic's horizon (epoch ms) that the request fell behind.
    std::optional<std::int64_t> horizon = std::nullopt;
};

template <class T>
using result = std::expected<T, error>;

using status = std::expected<void, error>;

inline std::unexpected<error> fail(errc code, std::string message) {
    return std::unexpected<error>(error{code, std::move(message)});
}

}  // namespace prom
