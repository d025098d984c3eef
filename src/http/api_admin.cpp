// The operations routes (docs/operations.md): GET /topics, GET /groups,
// POST /groups/{topic}/{group}/seek, DELETE /groups/{topic}/{group}, GET /dlq/{topic},
// POST /dlq/{topic}/replay, GET|POST /replays. With tokens configured they need the `admin`
// permission: for a group route the group's name, for the dead-letter routes the topic,
// for a replay its DST; the lists show only what the token's admin patterns match.
#include <charconv>
#include <limits>

#include "auth/auth_policy.hpp"
#include "http/api.hpp"
#include "http/error_status.hpp"
#include "http/json_body.hpp"
#include "http/percent.hpp"
#include "ops/dlq.hpp"
#include "ops/groups.hpp"
#include "ops/replay_manager.hpp"
#include "schema/payload_schemas.hpp"

namespace prom::http {

namespace {

response list_response(json::array items, route_id route) {
    json::object o;
    o["count"] = items.size();
    o["items"] = std::move(items);
    return json_response(200, canonical_json(o), route);
}

// GET /dlq/{topic}: `group` (only its entries), `limit` (the oldest N, 1..10000) and `after`
// (entries past this dlq_seq: the next page); any other parameter is refused, as a misspelt
// `limit` would return everything.
struct dlq_params {
    std::optional<std::string> group;
    std::optional<std::size_t> limit;
    std::optional<seq_t> after;
};

result<dlq_params> dlq_list_params(std::string_view query) {
    dlq_params out;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto part = query.substr(0, amp);
        auto eq = part.find('=');
        std::string name = decode_query_component(part.substr(0, eq));
        std::string value =
            eq == std::string_view::npos ? "" : decode_query_component(part.substr(eq + 1));
        if (name == "group" && !out.group) {
            out.group = std::move(value);
        } else if (name == "limit" && !out.limit) {
            std::size_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || n < 1 ||
                n > 10000) {
                return fail(errc::invalid_argument, "limit is a whole number from 1 to 10000");
            }
            out.limit = n;
        } else if (name == "after" && !out.after) {
            std::int64_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || n < 0) {
                return fail(errc::invalid_argument,
                            "after is a whole number: the dlq_seq of the last entry already seen");
            }
            out.after = seq_t{n};
        } else if (!name.empty()) {
            return fail(errc::invalid_argument,
                        "unknown or repeated parameter '" + name + "' (group, limit, after)");
        }
        if (amp == std::string_view::npos) break;
        query = query.substr(amp + 1);
    }
    return out;
}

}  // namespace

std::optional<response> api::admin_refused(const request& r, route_id route,
                                           const auth::grant*& g) const {
    g = nullptr;
    if (!options_.auth || !options_.auth->enabled()) return std::nullopt;
    g = options_.auth->authenticate(r.authorization);
    if (!g) return refused(r, auth::action::admin, "", route);
    if (g->admin.empty()) {
        return error_response(403, "forbidden", "this token has no admin permission", route);
    }
    return std::nullopt;
}

response api::admin(const request& r, route_id route, std::string_view a, std::string_view b,
                    std::string_view query) {
    const auth::grant* g = nullptr;
    if (auto no = admin_refused(r, route, g)) return *no;
    auto allowed = [&](std::string_view name) {
        return !g || auth::auth_policy::permits(*g, auth::action::admin, name);
    };
    // A replay's group is named `replay:DST`: whoever may administer DST (and so start the
    // replay) may also see and reset its group, not only a token whose patterns match that name.
    auto allowed_group = [&](std::string_view group) {
        auto dst = ops::replay_destination(group);
        return allowed(group) || (dst && allowed(*dst));
    };
    auto forbidden = [&](std::string_view name) {
        return error_response(403, "forbidden",
                              "this token may not administer '" + std::string(name) + "'", route);
    };
    switch (route) {
        case route_id::topics: {
            auto with_bytes = flag_param(query, "bytes");
            if (!with_bytes) return error_response(with_bytes.error(), route);
            auto ts = ops::list_topics(store_, *with_bytes);
            if (!ts) return error_response(ts.error(), route);
            json::array items;
            for (const auto& t : *ts) {
                if (allowed(t.topic)) items.push_back(ops::to_json(t));
            }
            return list_response(std::move(items), route);
        }
        case route_id::groups: {
            // As /topics and /dlq refuse what they do not read (found from outside: a typo
            // here passed silently while there it was a 400).
            if (auto name = first_param_name(query)) {
                return error_response(400, "bad_request",
                                      "unknown parameter '" + *name + "': this route takes none",
                                      route);
            }
            auto gs = ops::list_groups(store_, now_ms());
            if (!gs) return error_response(gs.error(), route);
            json::array items;
            for (const auto& gi : *gs) {
                if (allowed_group(gi.group)) items.push_back(ops::to_json(gi));
            }
            return list_response(std::move(items), route);
        }
        case route_id::group: {  // DELETE /groups/{topic}/{group}
            if (!allowed_group(b)) return forbidden(b);
            if (auto ok = ops::remove_group(store_, a, b); !ok)
                return error_response(ok.error(), route);
            json::object o{{"topic", a}, {"group", b}, {"deleted", true}};
            return json_response(200, canonical_json(o), route);
        }
        case route_id::group_seek: {
            if (!allowed_group(b)) return forbidden(b);
            if (auto no = not_json(r, route)) return *no;
            auto body = json_body(r, options_.body_limit, false);
            if (!body) return error_response(body.error(), route);
            auto req = ops::parse_seek_request(*body);
            if (!req) return error_response(req.error(), route);
            auto done = ops::seek(store_, a, b, req->target, req->force);
            if (!done) return error_response(done.error(), route);
            json::object o{{"topic", a},
                           {"group", b},
                           {"previous", done->previous.value},
                           {"seq", done->seq.value},
                           {"revoked", done->revoked}};
            return json_response(200, canonical_json(o), route);
        }
        case route_id::dlq: {
            if (!allowed(a)) return forbidden(a);
            auto params = dlq_list_params(query);
            if (!params) return error_response(params.error(), route);
            std::optional<std::string_view> group;
            if (params->group) group = *params->group;
            // One more than asked: whether the list was cut short.
            auto ds = ops::list_dead_letters(
                store_, a, group,
                params->limit ? *params->limit + 1 : std::numeric_limits<std::size_t>::max(),
                params->after.value_or(seq_t{}));
            if (!ds) return error_response(ds.error(), route);
            const bool truncated = params->limit && ds->size() > *params->limit;
            if (truncated) ds->pop_back();
            json::array items;
            for (const auto& d : *ds) items.push_back(ops::to_json(d));
            json::object o;
            o["count"] = items.size();
            o["items"] = std::move(items);
            if (params->limit) o["truncated"] = truncated;
            return json_response(200, canonical_json(o), route);
        }
        case route_id::dlq_replay: {
            if (!allowed(a)) return forbidden(a);
            if (auto no = not_json(r, route)) return *no;
            auto body = json_body(r, options_.body_limit, true);
            if (!body) return error_response(body.error(), route);
            if (!body->is_object()) {
                return error_response(400, "invalid_argument", "the body is a JSON object", route);
            }
            ops::dlq_replay_options o;
            for (const auto& kv : body->get_object()) {
                if (kv.key() == "group" && kv.value().is_string()) {
                    o.group = std::string(kv.value().get_string());
                } else if (kv.key() == "ids" && kv.value().is_array()) {
                    // An empty list from a script that found nothing to replay must not
                    // mean "all of them".
                    if (kv.value().get_array().empty()) {
                        return error_response(
                            400, "invalid_argument",
                            "\"ids\" is empty: leave it out to replay every entry", route);
                    }
                    for (const auto& id : kv.value().get_array()) {
                        if (!id.is_string()) {
                            return error_response(400, "invalid_argument",
                                                  "\"ids\" is an array of strings", route);
                        }
                        o.ids.emplace_back(id.get_string());
                    }
                } else {
                    return error_response(
                        400, "invalid_argument",
                        "unknown or mistyped field \"" + std::string(kv.key()) +
                            "\" (a replay takes \"group\": string and \"ids\": [string])",
                        route);
                }
            }
            auto done = ops::replay_dead_letters(store_, a, o);
            if (!done && done.error().code == errc::invalid_payload) {
                // A copy the topic's schema refuses: the publish's 422, path and version
                // included (docs/schemas.md).
                return json_response(
                    422, canonical_json(schema::invalid_payload_json(done.error())), route);
            }
            if (!done) return error_response(done.error(), route);
            return json_response(200, canonical_json(ops::to_json(*done)), route);
        }
        case route_id::replays: {
            if (!options_.replays) {
                return error_response(503, "unavailable", "this server runs no replays", route);
            }
            if (r.verb != method::post) {
                if (auto name = first_param_name(query)) {
                    return error_response(
                        400, "bad_request",
                        "unknown parameter '" + *name + "': this route takes none", route);
                }
                json::array items;
                for (auto& j : options_.replays->list()) {
                    const auto& dst = j.as_object().at("dst").as_string();
                    if (allowed(dst)) items.push_back(std::move(j));
                }
                return list_response(std::move(items), route);
            }
            if (auto no = not_json(r, route)) return *no;
            auto body = json_body(r, options_.body_limit, false);
            if (!body) return error_response(body.error(), route);
            auto spec = ops::parse_replay_request(*body);
            if (!spec) return error_response(spec.error(), route);
            if (!allowed(spec->dst)) return forbidden(spec->dst);
            // A replay copies SRC's events into DST, where the token may read them: it needs
            // a right over SRC's events too (`subscribe`, as /at asks, or `admin`), or it
            // could copy any topic into one of its own.
            if (g && !allowed(spec->src) &&
                !auth::auth_policy::permits(*g, auth::action::subscribe, spec->src)) {
                return error_response(403, "forbidden",
                                      "this token may not read the events of '" + spec->src +
                                          "' (a replay needs subscribe or admin on SRC)",
                                      route);
            }
            auto started = options_.replays->start(*spec);
            if (!started) return error_response(started.error(), route);
            return json_response(202, canonical_json(*started), route);
        }
        default:
            break;
    }
    return error_response(404, "not_found", "no route for this path", route_id::unknown);
}

}  // namespace prom::http
