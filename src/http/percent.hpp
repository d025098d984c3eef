// Request targets: validation of the origin-form (RFC 9112 3.2.1, RFC 3986 grammar) and
// percent-decoding. Ours so that the rules are visible in one place — paths keep '+', query
// components turn it into a space, nothing is ever decoded twice — and so that the hot path
// is one pass over the bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prom::http {

// `/path[?query]` with only the characters RFC 3986 allows there and every '%' followed by
// two hex digits. Everything else (absolute-form, `*`, spaces, controls, a fragment, bytes
// over 0x7F, a bad escape) is false.
bool valid_origin_form(std::string_view target);

// An absolute-form target (`http://host:port/path?query`, which RFC 9112 3.2.2 says a server
// must accept): its authority, which then stands for the Host header, and the origin-form it
// asks for (`/path?query`; `/` for an empty path). Nothing for any other form.
struct absolute_target {
    std::string_view authority;
    std::string origin;
};
std::optional<absolute_target> split_absolute_form(std::string_view target);

// A Host field value by RFC 9110 7.2 (uri-host [":" port]): a reg-name of RFC 3986's
// characters, an IPv4 address, or an IPv6 literal in brackets; the port digits only.
bool valid_host_field(std::string_view host);

// Text that passed valid_origin_form.
// A path segment: %XX → byte; '+' stays '+'.
std::string decode_path_segment(std::string_view encoded);
// A query key or value: %XX → byte and '+' → ' ' (form encoding).
std::string decode_query_component(std::string_view encoded);

}  // namespace prom::http
