// Percent-decoding of text that Boost.URL has already validated (every '%' is followed by
// two hex digits). Ours so that the rules are visible in one place: paths keep '+', query
// components turn it into a space, and nothing is ever decoded twice.
#pragma once

#include <string>
#include <string_view>

namespace prom::http {

// A path segment: %XX → byte; '+' stays '+'.
std::string decode_path_segment(std::string_view encoded);
// A query key or value: %XX → byte and '+' → ' ' (form encoding).
std::string decode_query_component(std::string_view encoded);

}  // namespace prom::http
