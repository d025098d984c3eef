// `/list` query strings (docs/http-api.md, "Lists"): `offset`, `limit` and equality filters.
#pragma once

#include <string_view>

#include "prom/store.hpp"

namespace prom::http {

inline constexpr std::size_t default_list_limit = 100;
inline constexpr std::size_t max_list_limit = 1000;

// Reads the (still percent-encoded) query of a request target into `q.offset`, `q.limit`
// and `q.equals`. `limit` is 1–1000 and `offset` ≥ 0, both plain decimal digits; a filter
// name is [A-Za-z0-9_]+ and its value is taken literally (decoded once). Anything else —
// `status[$ne]=x`, `limit=1e3`, a repeated `limit`, a name without `=` — is
// errc::invalid_argument: a filter is never an operator.
status parse_list_query(std::string_view encoded_query, find_query& q);

}  // namespace prom::http
