// The admin routes of user-defined projectors: GET /projectors, GET|PUT|DELETE
// /projectors/{name} (docs/projectors.md). They need the `admin` permission when
// tokens are configured, and answer from the registry (registry.hpp) and this node's
// supervisor.
#include "auth/auth_policy.hpp"
#include "http/api.hpp"
#include "http/error_status.hpp"
#include "userproj/compiled_definition.hpp"
#include "userproj_runtime/projector_status.hpp"
#include "userproj_runtime/registry.hpp"
#include "userproj_runtime/supervisor.hpp"

namespace prom::http {

namespace {

constexpr auto sync_wait = std::chrono::seconds(2);

bool valid_projector_name(std::string_view name) {
    if (name.empty() || name.size() > 100) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// A token's admin right over a projector's name is not a right over what the projector
// reads, writes and emits: without these checks `admin: ["mine*"]` could copy a topic it may
// not subscribe to into one it may, publish where it may not, or overwrite any collection.
// The definition's source needs `subscribe` (or `admin`) on every topic its pattern matches,
// each written collection `admin` (what deleting a document needs), each emit topic
// `publish`. A Lua handler reads any collection and emits to topics chosen at run time, so it
// needs `read` and `publish` on every name ("*").
std::optional<userproj::apply_error> rights_refusal(const auth::grant& g,
                                                    const projector_definition& def) {
    using auth::action;
    using auth::auth_policy;
    auto refuse = [](std::string message) {
        return userproj::apply_error{.err = {errc::invalid_argument, std::move(message)},
                                     .pointer = std::nullopt,
                                     .forbidden = true};
    };
    if (!auth_policy::permits_every(g, action::subscribe, def.topic) &&
        !auth_policy::permits_every(g, action::admin, def.topic)) {
        return refuse("this token may not subscribe to every topic of '" + def.topic +
                      "', which the projector would read");
    }
    for (const auto& c : def.collections) {
        if (!auth_policy::permits(g, action::admin, c)) {
            return refuse("writing collection '" + c + "' needs the admin permission on it");
        }
    }
    for (const auto& t : def.emit_topics) {
        if (!auth_policy::permits(g, action::publish, t)) {
            return refuse("emitting into '" + t + "' needs the publish permission on it");
        }
    }
    if (def.compiled && !def.compiled->lua.empty() &&
        !(auth_policy::permits_every(g, action::read, "*") &&
          auth_policy::permits_every(g, action::publish, "*"))) {
        return refuse(
            "a Lua handler reads any collection and emits into any topic: it needs read and "
            "publish on \"*\"");
    }
    return std::nullopt;
}

response no_such_projector(std::string_view name) {
    return error_response(404, "not_found", "no projector '" + std::string(name) + "'",
                          route_id::projector);
}

const userproj::definition_runtime* runtime_or_null(
    userproj::supervisor* sup, std::string_view name,
    std::optional<userproj::definition_runtime>& hold) {
    if (!sup) return nullptr;
    hold = sup->runtime(name);
    return hold ? &*hold : nullptr;
}

}  // namespace

response api::projectors(const request& r, route_id route, std::string_view name) {
    if (route == route_id::projectors) return list_projectors(r);
    // The token first, whatever the name: a name no projector can have is still no answer
    // for a caller without one (found from outside: GET and DELETE answered 404 untokened).
    if (auto no = refused(r, auth::action::admin, name, route)) return *no;
    if (!valid_projector_name(name)) {
        if (r.verb == method::put) {
            json::object o{{"error", "invalid_projector"},
                           {"message", "a projector name is [A-Za-z0-9_.-]{1,100}"},
                           {"path", "/name"}};
            return json_response(422, canonical_json(o), route);
        }
        return no_such_projector(name);
    }
    if (r.verb == method::put) return put_projector(r, name);
    if (r.verb == method::delete_) {
        if (auto ok = userproj::remove_definition(store_, name); !ok) {
            return ok.error().code == errc::not_found ? no_such_projector(name)
                                                      : error_response(ok.error(), route);
        }
        if (options_.projectors) options_.projectors->wait_synced(sync_wait);
        json::object o{{"name", name}, {"deleted", true}};
        return json_response(200, canonical_json(o), route);
    }
    auto e = userproj::load_entry(store_, name);
    if (!e) return error_response(e.error(), route);
    if (!*e) return no_such_projector(name);
    std::optional<userproj::definition_runtime> hold;
    auto st =
        userproj::status_json(store_, **e, runtime_or_null(options_.projectors, name, hold), true);
    if (!st) return error_response(st.error(), route);
    auto out = json_response(200, canonical_json(*st), route);
    out.head_only = r.verb == method::head;
    return out;
}

response api::list_projectors(const request& r) {
    const auth::grant* g = nullptr;
    if (options_.auth && options_.auth->enabled()) {
        g = options_.auth->authenticate(r.authorization);
        if (!g) return *refused(r, auth::action::admin, "", route_id::projectors);
        if (g->admin.empty()) {
            return error_response(403, "forbidden", "this token has no admin permission",
                                  route_id::projectors);
        }
    }
    auto entries = userproj::load_registry(store_);
    if (!entries) return error_response(entries.error(), route_id::projectors);
    json::array items;
    for (const auto& e : *entries) {
        if (e.deleted) continue;
        if (g && !auth::auth_policy::permits(*g, auth::action::admin, e.name)) continue;
        std::optional<userproj::definition_runtime> hold;
        auto st = userproj::status_json(store_, e,
                                        runtime_or_null(options_.projectors, e.name, hold), false);
        if (!st) return error_response(st.error(), route_id::projectors);
        items.push_back(std::move(*st));
    }
    json::object o;
    o["count"] = items.size();
    o["items"] = std::move(items);
    auto out = json_response(200, canonical_json(o), route_id::projectors);
    out.head_only = r.verb == method::head;
    return out;
}

response api::put_projector(const request& r, std::string_view name) {
    constexpr auto route = route_id::projector;
    if (!is_json_content_type(r.content_type)) {
        return error_response(415, "unsupported_media_type",
                              "PUT /projectors/{name} takes Content-Type: application/json", route);
    }
    if (r.body.size() > options_.body_limit) {
        return error_response(413, "too_large", "the definition is over the body limit", route);
    }
    auto body = parse_json(
        r.body, {.max_depth = 64, .max_bytes = options_.body_limit, .refuse_duplicate_keys = true});
    if (!body) return error_response(400, "bad_request", body.error().message, route);
    userproj::definition_check may_apply;
    if (options_.auth && options_.auth->enabled()) {
        // Known and allowed to administer `name`: checked by the route before this.
        if (const auth::grant* g = options_.auth->authenticate(r.authorization)) {
            may_apply = [g](const projector_definition& def) { return rights_refusal(*g, def); };
        }
    }
    auto done = userproj::apply_definition(store_, *body, name, may_apply);
    if (!done) {
        const auto& why = done.error();
        if (why.forbidden) return error_response(403, "forbidden", why.err.message, route);
        if (why.pointer) {
            json::object o = error_object("invalid_projector", why.err.message);
            o["path"] = *why.pointer;
            return json_response(422, canonical_json(o), route);
        }
        return error_response(why.err, route);
    }
    if (options_.projectors) options_.projectors->wait_synced(sync_wait);
    std::optional<userproj::definition_runtime> hold;
    auto st = userproj::status_json(store_, done->entry,
                                    runtime_or_null(options_.projectors, name, hold), true);
    if (!st) return error_response(st.error(), route);
    return json_response(done->kind == userproj::apply_kind::created ? 201 : 200,
                         canonical_json(*st), route);
}

}  // namespace prom::http
