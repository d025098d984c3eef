// GET/HEAD /snap/{key}, /collections/{name}/snap/{key} and /list (SPEC 4).
#include <charconv>

#include "docs/update.hpp"
#include "http/api.hpp"
#include "http/conditional.hpp"
#include "http/error_status.hpp"
#include "http/list_query.hpp"

namespace prom::http {

namespace {

response not_found_response(route_id route) {
    return error_response(404, "not_found", "no such document", route);
}

response store_error_response(const error& e, route_id route) {
    return error_response(status_of(e.code), to_string(e.code), e.message, route);
}

}  // namespace

std::optional<response> api::snap(const request& r, route_id route, std::string_view collection,
                                  std::string_view key, bool may_block) {
    if (!docs::valid_collection_name(collection)) {
        return error_response(404, "not_found", "no such collection", route);
    }
    if (auto no = refused(r, auth::action::read, collection, route)) return no;
    if (key.empty()) return not_found_response(route);
    auto doc = r.received == std::chrono::steady_clock::time_point{}
                   ? cache_.lookup(collection, key)
                   : cache_.lookup(collection, key, r.received);
    if (!doc) {
        if (!may_block) return std::nullopt;
        auto loaded = cache_.load(collection, key);
        if (!loaded) return store_error_response(loaded.error(), route);
        if (!*loaded) return not_found_response(route);
        doc = std::move(*loaded);
    }
    response out;
    out.route = route;
    out.status = not_modified({r.if_none_match, r.if_modified_since}, doc->etag,
                              doc->modified_seconds)
                     ? 304
                     : 200;
    out.doc = std::move(doc);
    return out;
}

response api::list(const request& r, route_id route, std::string_view collection,
                   std::string_view encoded_query) {
    if (!docs::valid_collection_name(collection)) {
        return error_response(404, "not_found", "no such collection", route);
    }
    if (auto no = refused(r, auth::action::read, collection, route)) return *no;
    find_query q;
    q.collection = collection;
    if (auto ok = parse_list_query(encoded_query, q); !ok) {
        return error_response(400, "bad_request", ok.error().message, route);
    }
    auto found = store_.find(q);
    if (!found) return store_error_response(found.error(), route);
    // Members in canonical (sorted) order; the stored bodies are already canonical JSON, so
    // they are spliced in, never parsed.
    std::size_t bytes = 64;
    for (const auto& d : *found) bytes += d.body.size() + 1;
    std::string body;
    body.reserve(bytes);
    body += "{\"count\":";
    body += std::to_string(found->size());
    body += ",\"items\":[";
    for (std::size_t i = 0; i < found->size(); ++i) {
        if (i) body.push_back(',');
        body += (*found)[i].body;
    }
    body += "],\"limit\":";
    body += std::to_string(q.limit);
    body += ",\"offset\":";
    body += std::to_string(q.offset);
    body += '}';
    auto out = json_response(200, std::move(body), route);
    return out;
}

}  // namespace prom::http
