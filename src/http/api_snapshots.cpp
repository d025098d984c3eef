// GET/HEAD /snap/{key}, /collections/{name}/snap/{key} and /list
// (docs/http-api.md, docs/etag-semantics.md).
#include <charconv>

#include "consistency/change_feed.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "http/api.hpp"
#include "http/conditional.hpp"
#include "http/error_status.hpp"
#include "http/list_query.hpp"
#include "userproj_runtime/collection_aliases.hpp"

namespace prom::http {

namespace {

response not_found_response(route_id route) {
    return error_response(404, "not_found", "no such document", route);
}

// prom's own collections ("_prom.…": the projector registry, rebuild shadows) are not
// served: only the admin routes show what they hold (docs/projectors.md).
bool servable(std::string_view collection) {
    return docs::valid_collection_name(collection) && !docs::reserved_collection(collection);
}

// The physical collection behind a logical one (a rebuilt projector's swap moved it).
std::string_view physical(const userproj::collection_aliases* aliases, std::string_view logical,
                          std::shared_ptr<const userproj::collection_map>& hold) {
    return aliases ? aliases->resolve(logical, hold) : logical;
}

}  // namespace

std::optional<response> api::snap(const request& r, route_id route, std::string_view logical,
                                  std::string_view key, bool may_block) {
    if (!servable(logical)) {
        return error_response(404, "not_found", "no such collection", route);
    }
    if (auto no = refused(r, auth::action::read, logical, route)) return no;
    if (key.empty()) return not_found_response(route);
    std::shared_ptr<const userproj::collection_map> hold;
    std::string_view collection = physical(options_.aliases, logical, hold);
    std::shared_ptr<const rendered_document> doc;
    if (!r.fresh) {
        doc = r.received == std::chrono::steady_clock::time_point{}
                  ? cache_.lookup(collection, key)
                  : cache_.lookup(collection, key, r.received);
    }
    if (!doc) {
        if (!may_block) return std::nullopt;
        auto loaded = cache_.load(collection, key);
        if (!loaded) return error_response(loaded.error(), route);
        if (!*loaded) return not_found_response(route);
        doc = std::move(*loaded);
    }
    // If-Match and If-Unmodified-Since come first (RFC 9110 13.2.2), then the 304 checks.
    if (!preconditions_hold({r.if_match, r.if_unmodified_since}, doc->etag,
                            doc->modified_seconds)) {
        return error_response(412, "precondition_failed",
                              "the document is not as If-Match or If-Unmodified-Since requires",
                              route);
    }
    response out;
    out.route = route;
    out.status =
        not_modified({r.if_none_match, r.if_modified_since}, doc->etag, doc->modified_seconds)
            ? 304
            : 200;
    out.doc = std::move(doc);
    return out;
}

response api::list(const request& r, route_id route, std::string_view logical,
                   std::string_view encoded_query) {
    if (!servable(logical)) {
        return error_response(404, "not_found", "no such collection", route);
    }
    if (auto no = refused(r, auth::action::read, logical, route)) return *no;
    std::shared_ptr<const userproj::collection_map> hold;
    find_query q;
    q.collection = physical(options_.aliases, logical, hold);
    if (auto ok = parse_list_query(encoded_query, q); !ok) {
        return error_response(400, "bad_request", ok.error().message, route);
    }
    auto found = store_.find(q);
    if (!found && found.error().code == errc::too_large) {
        // Said in the request's terms (the store's message names the stored collection).
        return error_response(413, "too_large",
                              "the documents asked for (limit=" + std::to_string(q.limit) +
                                  ") hold more than " + std::to_string(q.max_bytes >> 20) +
                                  " MiB: ask for fewer with a smaller limit",
                              route);
    }
    if (!found) return error_response(found.error(), route);
    if (found->empty()) {
        // An empty page of a name nothing writes or ever wrote is a typo, not an empty
        // collection (docs/http-api.md: 404 for an unknown collection name).
        auto known = consistency::collection_known(
            store_, q.collection, options_.writers_of && !options_.writers_of(logical).empty());
        if (!known) return error_response(known.error(), route);
        if (!*known) {
            return error_response(404, "not_found",
                                  "unknown collection '" + std::string(logical) +
                                      "': no projector writes it and it has no documents",
                                  route);
        }
    }
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
    // A strong ETag of the page as sent, so that a page can be revalidated and long-polled
    // like a document (docs/http-api.md, "Blocking reads"). no-store still: a list is not
    // cached by the server and must not be by anyone else.
    std::string etag = etag_of(body);
    if (r.if_none_match && if_none_match_matches(*r.if_none_match, etag)) {
        response out;
        out.status = 304;
        out.route = route;
        out.head = "ETag: " + etag + "\r\nCache-Control: no-store\r\n";
        return out;
    }
    auto out = json_response(200, std::move(body), route);
    out.head += "ETag: " + etag + "\r\n";
    return out;
}

}  // namespace prom::http
