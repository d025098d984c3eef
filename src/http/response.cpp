#include "http/response.hpp"

#include <charconv>

#include "core/text.hpp"
#include "http/error_status.hpp"
#include "http/snapshot_cache.hpp"
#include "http/status_table.hpp"

namespace prom::http {

std::string_view route_label(route_id r) noexcept {
    switch (r) {
        case route_id::snap:
            return "/snap/{key}";
        case route_id::collection_snap:
            return "/collections/{name}/snap/{key}";
        case route_id::list:
            return "/list";
        case route_id::collection_list:
            return "/collections/{name}/list";
        case route_id::publish:
            return "/publish";
        case route_id::healthz:
            return "/healthz";
        case route_id::metrics:
            return "/metrics";
        case route_id::ws:
            return "/ws";
        case route_id::at:
            return "/at/{topic}/{key}";
        case route_id::at_all:
            return "/at/{topic}";
        case route_id::ui:
            return "/ui";
        case route_id::projectors:
            return "/projectors";
        case route_id::projector:
            return "/projectors/{name}";
        case route_id::watch:
            return "/collections/{name}/watch";
        case route_id::topics:
            return "/topics";
        case route_id::groups:
            return "/groups";
        case route_id::group:
            return "/groups/{topic}/{group}";
        case route_id::group_seek:
            return "/groups/{topic}/{group}/seek";
        case route_id::dlq:
            return "/dlq/{topic}";
        case route_id::dlq_replay:
            return "/dlq/{topic}/replay";
        case route_id::replays:
            return "/replays";
        case route_id::schemas:
            return "/schemas";
        case route_id::schema:
            return "/schemas/{topic}";
        case route_id::topic_policy:
            return "/topics/{topic}/policy";
        case route_id::topic_compact:
            return "/topics/{topic}/compact";
        case route_id::topic_key:
            return "/topics/{topic}/keys/{key}";
        case route_id::collection_doc:
            return "/collections/{name}/docs/{key}";
        case route_id::unknown:
        case route_id::count_:
            break;
    }
    return "other";
}

std::string_view head_of(const response& r) {
    if (!r.doc) return r.head;
    return r.status == 304 ? std::string_view(r.doc->head_304) : std::string_view(r.doc->head_200);
}

std::string_view body_of(const response& r) {
    if (r.head_only || r.status == 304 || r.status == 204) return {};
    if (r.doc) return r.doc->body;
    if (!r.static_body.empty()) return r.static_body;
    return r.body;
}

std::string_view reason_of(unsigned status) {
    for (const auto& s : known_statuses) {
        if (s.code == status) return s.reason;
    }
    return "Unknown";
}

response json_response(unsigned status, std::string body, route_id route) {
    response r;
    r.status = status;
    r.route = route;
    r.head.reserve(96);
    r.head += "Content-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ";
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, body.size());
    r.head.append(buf, end);
    r.head += "\r\n";
    r.body = std::move(body);
    return r;
}

response error_response(unsigned status, std::string_view code, std::string_view message,
                        route_id route) {
    return json_response(status, error_body(code, message), route);
}

response error_response(const error& e, route_id route) {
    if (e.code == errc::gone && e.horizon) {
        // 410 {"error":"gone","horizon":T,"message"} (docs/retention.md): where the answer
        // would have to start again.
        json::object o{
            {"error", "gone"}, {"horizon", *e.horizon}, {"message", valid_utf8(e.message)}};
        return json_response(410, canonical_json(o), route);
    }
    return error_response(status_of(e.code), to_string(e.code), e.message, route);
}

}  // namespace prom::http
