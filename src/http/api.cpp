// Routing: which handler answers a request target, with which method.
#include "http/api.hpp"

#include "docs/update.hpp"
#include "http/percent.hpp"

namespace prom::http {

namespace {

constexpr std::string_view allow_get_head = "GET, HEAD";

response method_not_allowed(route_id route, std::string_view allow) {
    auto r = error_response(405, "method_not_allowed", "this route answers " + std::string(allow),
                            route);
    r.head += "Allow: ";
    r.head += allow;
    r.head += "\r\n";
    return r;
}

// A path segment, percent-decoded exactly once. Most keys have no escapes, so the view
// into the target is used as is; only escaped segments are decoded into `storage`.
std::string_view decoded(std::string_view raw, std::string& storage) {
    if (raw.find('%') == std::string_view::npos) return raw;
    storage = decode_path_segment(raw);
    return storage;
}

}  // namespace

namespace {
response unauthorized(route_id route) {
    auto out = error_response(401, "unauthorized", "a valid bearer token is required", route);
    out.head += "WWW-Authenticate: Bearer\r\n";
    return out;
}
}  // namespace

std::optional<response> api::unauthenticated(const request& r, route_id route) const {
    if (!options_.auth || !options_.auth->enabled()) return std::nullopt;
    if (options_.auth->authenticate(r.authorization)) return std::nullopt;
    return unauthorized(route);
}

std::optional<response> api::refused(const request& r, auth::action what, std::string_view name,
                                     route_id route) const {
    if (!options_.auth || !options_.auth->enabled()) return std::nullopt;
    switch (options_.auth->check(r.authorization, what, name)) {
        case auth::verdict::allowed:
            return std::nullopt;
        case auth::verdict::unauthenticated:
            return unauthorized(route);
        case auth::verdict::forbidden:
            return error_response(403, "forbidden",
                                  "this token may not access '" + std::string(name) + "'", route);
    }
    return std::nullopt;
}

api::api(store& s, snapshot_cache& cache, http_metrics& metrics, api_options options,
         metrics_source* extra)
    : store_(s), cache_(cache), metrics_(metrics), options_(std::move(options)), extra_(extra) {}

std::optional<response> api::handle(const request& r, bool may_block) {
    auto out = route(r, may_block);
    // A HEAD response never carries content, whatever its status (RFC 9110 §9.3.2): errors
    // too keep their header lines (Content-Length states the GET length) and lose the body,
    // or a keep-alive client would read the body as the next response.
    if (out && r.verb == method::head) out->head_only = true;
    return out;
}

std::optional<response> api::route(const request& r, bool may_block) {
    // `OPTIONS *` asks about the server as a whole (RFC 9110 §9.3.7): the methods some route
    // takes, and no content (a Content-Length of 0, which that section requires).
    if (r.target == "*" && r.verb == method::options) {
        response out;
        out.route = route_id::unknown;
        out.head = "Allow: GET, HEAD, POST, PUT, DELETE\r\nContent-Length: 0\r\n";
        return out;
    }
    if (!valid_origin_form(r.target)) {
        return error_response(400, "bad_request", "malformed request target", route_id::unknown);
    }
    // Segments and parameters are split by hand from the validated target: Boost.URL 1.81's
    // parse_query() iterator reads past the end of a view that is not NUL-terminated (as a
    // view into a Beast request is): "offset=10" followed in memory by "ffset=2" gave the
    // value "10ffset=2".
    std::string_view path = r.target.substr(0, r.target.find('?'));
    std::string_view query =
        path.size() < r.target.size() ? r.target.substr(path.size() + 1) : std::string_view{};
    if (path == "/" || path == "/ui" || path.starts_with("/ui/")) {
        if (!(r.verb == method::get || r.verb == method::head)) {
            return method_not_allowed(route_id::ui, allow_get_head);
        }
        if (auto out = ui(r, path)) return out;
        return error_response(404, "not_found", "no such file of the dashboard", route_id::ui);
    }
    std::array<std::string_view, 4> s;
    std::size_t n = 0;
    if (path.size() > 1) {
        std::string_view rest = path.substr(1);
        for (;;) {
            auto slash = rest.find('/');
            if (n == s.size()) {
                n = s.size() + 1;  // too many segments for any route
                break;
            }
            s[n++] = rest.substr(0, slash);
            if (slash == std::string_view::npos) break;
            rest = rest.substr(slash + 1);
        }
    }
    const bool get_or_head = r.verb == method::get || r.verb == method::head;
    std::string key_buf, coll_buf;
    // A write acts at once: a parameter it does not read (`?dry_run=true` on an erasure) must
    // not pass as if it had been heeded. Asked by each write route once its method is known
    // to be one it takes (a wrong method stays a 405); /publish and /compact read their own.
    // An admin read (`reads_too`) refuses them as well, as the admin API does (found from
    // outside: GET /topics/{topic}/policy?typo=1 answered the policy).
    // A document read (`takes_after`) reads `after` and `wait` only: a misspelt `after` would
    // otherwise answer at once, perhaps from before the write it was to wait for (found from
    // outside).
    auto stray_param = [&](route_id route, bool reads_too = false,
                           bool takes_after = false) -> std::optional<response> {
        if ((get_or_head && !reads_too) || query.empty()) return std::nullopt;
        // Without a valid token the route's own check answers 401 first, as for any request.
        if (options_.auth && options_.auth->enabled() &&
            !options_.auth->authenticate(r.authorization)) {
            return std::nullopt;
        }
        auto name =
            takes_after ? first_param_name(query, {"after", "wait"}) : first_param_name(query);
        if (!name) return std::nullopt;
        const std::string_view takes =
            takes_after ? "a document read takes after and wait" : "this route takes none";
        return error_response(400, "bad_request",
                              "unknown parameter '" + *name + "': " + std::string(takes), route);
    };
    if (n == 2 && s[0] == "snap") {
        if (!get_or_head) return method_not_allowed(route_id::snap, allow_get_head);
        if (auto no = stray_param(route_id::snap, true, true)) return no;
        return snap(r, route_id::snap, options_.default_collection, decoded(s[1], key_buf),
                    may_block);
    }
    if (n == 4 && s[0] == "collections" && s[2] == "snap") {
        if (!get_or_head) return method_not_allowed(route_id::collection_snap, allow_get_head);
        if (auto no = stray_param(route_id::collection_snap, true, true)) return no;
        return snap(r, route_id::collection_snap, decoded(s[1], coll_buf), decoded(s[3], key_buf),
                    may_block);
    }
    if ((n == 1 && s[0] == "list") || (n == 3 && s[0] == "collections" && s[2] == "list")) {
        auto route = n == 1 ? route_id::list : route_id::collection_list;
        if (!get_or_head) return method_not_allowed(route, allow_get_head);
        if (!may_block) return std::nullopt;
        auto coll =
            n == 1 ? std::string_view(options_.default_collection) : decoded(s[1], coll_buf);
        return list(r, route, coll, query);
    }
    if (n == 1 && s[0] == "publish") {
        if (r.verb != method::post) return method_not_allowed(route_id::publish, "POST");
        if (!may_block) return std::nullopt;
        return publish(r);
    }
    if (n == 3 && s[0] == "at") {
        if (!get_or_head) return method_not_allowed(route_id::at, allow_get_head);
        if (!may_block) return std::nullopt;
        return at(r, decoded(s[1], coll_buf), decoded(s[2], key_buf), query);
    }
    if (n == 2 && s[0] == "at") {
        if (!get_or_head) return method_not_allowed(route_id::at_all, allow_get_head);
        if (!may_block) return std::nullopt;
        return at_all(r, decoded(s[1], coll_buf), query);
    }
    if ((n == 1 || n == 2) && s[0] == "projectors") {
        auto route = n == 1 ? route_id::projectors : route_id::projector;
        bool allowed = n == 1 ? get_or_head
                              : get_or_head || r.verb == method::put || r.verb == method::delete_;
        if (!allowed)
            return method_not_allowed(route, n == 1 ? allow_get_head : "GET, HEAD, PUT, DELETE");
        // Admin reads too: they read no parameter (found from outside: `GET /projectors?x=1`
        // answered while PUT and DELETE refused it).
        if (auto no = stray_param(route, true)) return no;
        if (!may_block) return std::nullopt;
        return projectors(r, route, n == 1 ? std::string_view{} : decoded(s[1], key_buf));
    }
    if (n == 3 && s[0] == "collections" && s[2] == "watch") {
        // Reached only when the session did not take it as a watch (is_watch): a method
        // other than GET.
        return method_not_allowed(route_id::watch, "GET");
    }
    if (n == 1 && (s[0] == "topics" || s[0] == "groups")) {
        auto route = s[0] == "topics" ? route_id::topics : route_id::groups;
        if (!get_or_head) return method_not_allowed(route, allow_get_head);
        if (!may_block) return std::nullopt;
        return admin(r, route, {}, {}, query);
    }
    if (n == 3 && s[0] == "topics" && (s[2] == "policy" || s[2] == "compact")) {
        auto route = s[2] == "policy" ? route_id::topic_policy : route_id::topic_compact;
        bool allowed = route == route_id::topic_policy
                           ? get_or_head || r.verb == method::put || r.verb == method::delete_
                           : r.verb == method::post;
        if (!allowed) {
            return method_not_allowed(
                route, route == route_id::topic_policy ? "GET, HEAD, PUT, DELETE" : "POST");
        }
        if (route == route_id::topic_policy) {
            if (auto no = stray_param(route, true)) return no;
        }
        if (!may_block) return std::nullopt;
        return retention_route(r, route, decoded(s[1], coll_buf), {}, query);
    }
    if (n == 4 &&
        ((s[0] == "topics" && s[2] == "keys") || (s[0] == "collections" && s[2] == "docs"))) {
        auto route = s[0] == "topics" ? route_id::topic_key : route_id::collection_doc;
        if (r.verb != method::delete_) return method_not_allowed(route, "DELETE");
        if (auto no = stray_param(route)) return no;
        if (!may_block) return std::nullopt;
        return retention_route(r, route, decoded(s[1], coll_buf), decoded(s[3], key_buf), query);
    }
    if ((n == 3 || n == 4) && s[0] == "groups") {
        auto route = n == 3 ? route_id::group : route_id::group_seek;
        if (n == 4 && s[3] != "seek") {
            return error_response(404, "not_found", "no route for this path", route_id::unknown);
        }
        auto verb = n == 3 ? method::delete_ : method::post;
        if (r.verb != verb) return method_not_allowed(route, n == 3 ? "DELETE" : "POST");
        if (auto no = stray_param(route)) return no;
        if (!may_block) return std::nullopt;
        return admin(r, route, decoded(s[1], coll_buf), decoded(s[2], key_buf), query);
    }
    if ((n == 2 || (n == 3 && s[2] == "replay")) && s[0] == "dlq") {
        auto route = n == 2 ? route_id::dlq : route_id::dlq_replay;
        if (n == 2 ? !get_or_head : r.verb != method::post) {
            return method_not_allowed(route, n == 2 ? allow_get_head : "POST");
        }
        if (auto no = stray_param(route)) return no;
        if (!may_block) return std::nullopt;
        return admin(r, route, decoded(s[1], coll_buf), {}, query);
    }
    if (n == 1 && s[0] == "replays") {
        if (!get_or_head && r.verb != method::post) {
            return method_not_allowed(route_id::replays, "GET, HEAD, POST");
        }
        if (auto no = stray_param(route_id::replays)) return no;
        if (!may_block) return std::nullopt;
        return admin(r, route_id::replays, {}, {}, query);
    }
    if ((n == 1 || n == 2) && s[0] == "schemas") {
        auto route = n == 1 ? route_id::schemas : route_id::schema;
        bool allowed = n == 1 ? get_or_head : get_or_head || r.verb == method::put;
        if (!allowed) return method_not_allowed(route, n == 1 ? allow_get_head : "GET, HEAD, PUT");
        if (auto no = stray_param(route, true)) return no;
        if (!may_block) return std::nullopt;
        return schemas(r, route, n == 1 ? std::string_view{} : decoded(s[1], key_buf));
    }
    if (n == 1 && s[0] == "healthz") {
        if (!get_or_head) return method_not_allowed(route_id::healthz, allow_get_head);
        if (!may_block) return std::nullopt;  // it asks the database
        return healthz(r);
    }
    if (n == 1 && s[0] == "metrics") {
        if (!get_or_head) return method_not_allowed(route_id::metrics, allow_get_head);
        if (!may_block) return std::nullopt;
        return metrics_page(r);
    }
    if (n == 1 && s[0] == "ws") {
        // Reached only by requests that are not WebSocket upgrades (the session hands
        // upgrades to its upgrade hook before routing).
        // Closed afterwards, as every refused upgrade is (docs/ws-protocol.md). A token
        // the upgrade would refuse is refused here too (401): a browser, which cannot read
        // a refused upgrade's status, asks this way why its WebSocket closed.
        // The token as the upgrade takes it: the header, else `?token=` (browsers).
        std::optional<std::string_view> authorization = r.authorization;
        std::string from_query;
        if (!authorization) {
            if (auto t = param_value(query, "token")) {
                from_query = "Bearer " + *t;
                authorization = from_query;
            }
        }
        if (r.verb == method::get && options_.auth && options_.auth->enabled() &&
            !options_.auth->authenticate(authorization)) {
            auto out = error_response(401, "unauthorized", "a valid bearer token is required",
                                      route_id::ws);
            out.head += "WWW-Authenticate: Bearer\r\n";
            out.close = true;
            return out;
        }
        auto refused = r.verb != method::get
                           ? method_not_allowed(route_id::ws, "GET")
                           : error_response(400, "bad_request",
                                            "GET /ws must be a WebSocket upgrade", route_id::ws);
        refused.close = true;
        return refused;
    }
    return error_response(404, "not_found", "no route for this path", route_id::unknown);
}

}  // namespace prom::http
