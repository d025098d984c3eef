#include "http/json_body.hpp"

#include "http/error_status.hpp"

namespace prom::http {

std::optional<response> not_json(const request& r, route_id route) {
    if (is_json_content_type(r.content_type)) return std::nullopt;
    return error_response(415, "unsupported_media_type",
                          "this route takes Content-Type: application/json", route);
}

result<json::value> json_body(const request& r, std::size_t limit, bool empty_is_object) {
    if (r.body.empty() && empty_is_object) return json::value(json::object{});
    if (r.body.size() > limit) return fail(errc::too_large, "the body is over the body limit");
    auto v =
        parse_json(r.body, {.max_depth = 32, .max_bytes = limit, .refuse_duplicate_keys = true});
    if (!v) return fail(errc::invalid_argument, "the body is not JSON: " + v.error().message);
    return v;
}

}  // namespace prom::http
