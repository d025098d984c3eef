// Read-your-writes parameters (docs/http-api.md, "Read-your-writes"): `after=TOPIC:SEQ[,…]`
// (query, or the `Prom-After` header) and `wait=SECONDS`. Pure parsing, no I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/event.hpp"

namespace prom::consistency {

struct after_position {
    std::string topic;
    seq_t seq{};
};

inline constexpr std::chrono::seconds default_wait{5};
inline constexpr std::chrono::seconds max_wait{60};
inline constexpr std::size_t max_after_positions = 64;

struct consistency_params {
    std::vector<after_position> after;  // empty: the read does not wait
    std::chrono::seconds wait = default_wait;
    std::optional<std::string> wait_for;  // POST /publish?wait_for=COLLECTION
};

// `TOPIC:SEQ[,TOPIC:SEQ…]`, split at each item's last ':' (topics may hold ':'). SEQ is a
// plain decimal integer from 0 to 2^63-1. invalid_argument with a message naming the item.
// `header_list`: the value of Prom-After header lines, where empty list elements are
// ignored as RFC 9110 5.6.1 says (`a:1,,b:2`); in the query parameter they are refused.
result<std::vector<after_position>> parse_after_list(std::string_view text,
                                                     bool header_list = false);

// `wait=N`: whole seconds from 0 to 60.
result<std::chrono::seconds> parse_wait_seconds(std::string_view text);

// Takes `after`, `wait` and `wait_for` out of an encoded query string (the other
// parameters are left to the route) and adds the `Prom-After` header's positions. Each
// parameter at most once.
result<consistency_params> parse_consistency_params(std::string_view encoded_query,
                                                    std::optional<std::string_view> prom_after);

// True when the query names `after`, `wait` or `wait_for`, or a header is given: the
// cheap test the network thread makes before parsing anything.
bool mentions_consistency(std::string_view encoded_query,
                          std::optional<std::string_view> prom_after);

}  // namespace prom::consistency
