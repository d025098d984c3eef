// The JSON body of a POST route (the admin and retention routes; docs/http-api.md, errors).
#pragma once

#include <cstddef>
#include <optional>

#include "http/request.hpp"
#include "http/response.hpp"
#include "prom/error.hpp"
#include "prom/json.hpp"

namespace prom::http {

// 415 unless the request says Content-Type: application/json, even for an empty body: a
// browser sends a POST of another type (or without a body) from any page without asking
// first, so a page could otherwise seek a group, replay dead letters or run a retention
// pass through a server on loopback that has no tokens.
std::optional<response> not_json(const request& r, route_id route);

// The body parsed (duplicate keys refused); an empty body is `{}` when `empty_is_object`.
result<json::value> json_body(const request& r, std::size_t limit, bool empty_is_object);

}  // namespace prom::http
