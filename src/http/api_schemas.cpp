// The topic schema routes: GET /schemas, GET|PUT /schemas/{topic} (docs/schemas.md).
// PUT needs the `admin` permission for the topic when tokens are configured; the reads
// need any known token (a client generating types reads them).
#include "http/api.hpp"
#include "http/error_status.hpp"
#include "schema/schema_registry.hpp"

namespace prom::http {

namespace {

json::object version_json(const schema::schema_version& v) { return schema::to_json(v); }

}  // namespace

response api::schemas(const request& r, route_id route, std::string_view topic) {
    if (r.verb == method::put) {
        if (auto no = refused(r, auth::action::admin, topic, route)) return *no;
        return put_schema(r, topic);
    }
    if (options_.auth && options_.auth->enabled() &&
        !options_.auth->authenticate(r.authorization)) {
        return *refused(r, auth::action::admin, topic, route);
    }
    json::object o;
    if (route == route_id::schemas) {
        auto all = schema::current_schemas(store_);
        if (!all) return error_response(all.error(), route);
        json::array items;
        for (const auto& v : *all) items.push_back(version_json(v));
        o["count"] = items.size();
        o["items"] = std::move(items);
    } else {
        auto versions = schema::schema_versions(store_, topic);
        if (!versions) return error_response(versions.error(), route);
        if (versions->empty()) {
            return error_response(404, "not_found",
                                  "topic '" + std::string(topic) + "' has no schema", route);
        }
        json::array items;
        for (const auto& v : *versions) items.push_back(version_json(v));
        o["topic"] = topic;
        o["version"] = versions->back().version;
        o["versions"] = std::move(items);
    }
    auto out = json_response(200, canonical_json(o), route);
    out.head_only = r.verb == method::head;
    return out;
}

response api::put_schema(const request& r, std::string_view topic) {
    constexpr auto route = route_id::schema;
    if (!is_json_content_type(r.content_type)) {
        return error_response(415, "unsupported_media_type",
                              "PUT /schemas/{topic} takes Content-Type: application/json", route);
    }
    if (r.body.size() > options_.body_limit) {
        return error_response(413, "too_large", "the schema is over the body limit", route);
    }
    auto body = parse_json(
        r.body, {.max_depth = 64, .max_bytes = options_.body_limit, .refuse_duplicate_keys = true});
    if (!body) return error_response(400, "bad_request", body.error().message, route);
    auto put = schema::put_schema(store_, topic, *body);
    if (!put) {
        const auto& why = put.error();
        if (why.code.empty()) return error_response(why.err, route);
        json::object o = error_object(why.code, why.err.message);
        if (why.pointer) o["path"] = *why.pointer;
        unsigned status =
            why.code == "invalid_schema" || why.code == "incompatible_schema" ? 422 : 400;
        return json_response(status, canonical_json(o), route);
    }
    json::object o = version_json(put->stored);
    o["created"] = put->created;
    return json_response(put->created ? 201 : 200, canonical_json(o), route);
}

}  // namespace prom::http
