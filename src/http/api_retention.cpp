// The retention routes (docs/retention.md, docs/http-api.md): GET|PUT|DELETE
// /topics/{topic}/policy, POST /topics/{topic}/compact[?dry_run=true], DELETE
// /topics/{topic}/keys/{key} (erasure) and DELETE /collections/{c}/docs/{key}. With tokens
// configured they need the `admin` permission for the topic (or pattern, or collection).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "http/api.hpp"
#include "http/conditional.hpp"
#include "http/error_status.hpp"
#include "http/json_body.hpp"
#include "http/percent.hpp"
#include "retention/retention.hpp"
#include "retention/runner.hpp"
#include "retention/unreclaimed_warning.hpp"
#include "userproj_runtime/collection_aliases.hpp"
#include "userproj_runtime/document_erasure.hpp"
#include "userproj_runtime/key_erasure.hpp"

namespace prom::http {

namespace {

// Giving the freed pages back is best effort: when it fails, said in the answer and the log,
// not hidden (retention/unreclaimed_warning.hpp).
void note_unreclaimed(json::object& out, const status& reclaimed, std::string_view a,
                      std::string_view b) {
    if (reclaimed) return;
    out["warning"] = retention::erased_content_may_remain(reclaimed.error());
    spdlog::warn("erase {}/{}: {}", a, b, reclaimed.error().message);
}

response ok_json(const json::object& o, route_id route) {
    return json_response(200, canonical_json(o), route);
}

// The existing topics a pattern names (an exact name: that topic, if it exists).
result<std::vector<std::string>> matching_topics(store& s, std::string_view pattern) {
    auto topics = s.topics();
    if (!topics) return std::unexpected(topics.error());
    std::vector<std::string> out;
    for (const auto& t : *topics) {
        if (retention::matches(pattern, t.topic)) out.push_back(t.topic);
    }
    return out;
}

// A policy has no entity tag: If-Match holds only as `*` while the pattern has a policy,
// If-None-Match: * only while it has none, for a PUT and a DELETE alike (RFC 9110 13.1.1,
// 13.1.2; found from outside: both were ignored, then If-None-Match on a DELETE). Checked in
// the write's own transaction (retention::policy_condition).
retention::policy_condition policy_condition_of(const request& r) {
    retention::policy_condition c;
    if (r.if_match) {
        c.must_exist = true;
        c.names_a_tag = !preconditions_hold({r.if_match, {}}, std::nullopt, {});
    }
    c.must_be_absent = r.if_none_match && if_none_match_matches(*r.if_none_match, "");
    return c;
}

}  // namespace

response api::retention_route(const request& r, route_id route, std::string_view a,
                              std::string_view b, std::string_view query) {
    const auth::grant* g = nullptr;
    if (auto no = admin_refused(r, route, g)) return *no;
    if (g && !auth::auth_policy::permits(*g, auth::action::admin, a)) {
        return error_response(403, "forbidden",
                              "this token may not administer '" + std::string(a) + "'", route);
    }
    switch (route) {
        case route_id::topic_policy:
            if (r.verb == method::put) return put_topic_policy(r, a);
            // Read or deleted: a name no topic or pattern can be is a 400, as for PUT.
            if (auto ok = retention::check_policy_pattern(a); !ok) {
                return error_response(ok.error(), route);
            }
            if (r.verb == method::delete_) {
                auto gone = retention::delete_policy(store_, a, policy_condition_of(r));
                if (!gone) return error_response(gone.error(), route);
                if (!*gone) {
                    return error_response(404, "not_found",
                                          "no policy for '" + std::string(a) + "'", route);
                }
                return ok_json(json::object{{"topic", a}, {"deleted", true}}, route);
            } else {
                auto all = retention::load_policies(store_);
                if (!all) return error_response(all.error(), route);
                auto p = retention::policy_for(*all, a);
                if (!p) {
                    return error_response(404, "not_found",
                                          "no policy applies to '" + std::string(a) + "'", route);
                }
                auto out = ok_json(
                    json::object{
                        {"topic", a}, {"pattern", p->pattern}, {"policy", retention::to_json(*p)}},
                    route);
                out.head_only = r.verb == method::head;
                return out;
            }
        case route_id::topic_compact: {
            if (auto no = not_json(r, route)) return *no;
            auto body = json_body(r, options_.body_limit, true);
            if (!body) return error_response(body.error(), route);
            if (!body->is_object() || !body->get_object().empty()) {
                return error_response(400, "bad_request",
                                      "POST /topics/{topic}/compact takes no body but {} "
                                      "(dry_run is a query parameter)",
                                      route);
            }
            auto dry = flag_param(query, "dry_run");
            if (!dry) return error_response(dry.error(), route);
            if (auto ok = retention::check_retention_applies(a); !ok) {
                return error_response(ok.error(), route);
            }
            auto all = retention::load_policies(store_);
            if (!all) return error_response(all.error(), route);
            auto p = retention::policy_for(*all, a);
            if (!p) {
                return error_response(404, "not_found",
                                      "no policy applies to '" + std::string(a) + "'", route);
            }
            // The node's pacing (the backend's or the config's), as its background passes.
            const auto pace =
                options_.retention ? options_.retention->pass_pacing() : retention::pacing{};
            auto report = retention::run_pass(store_, a, *p,
                                              {.now = now_ms(),
                                               .dry_run = *dry,
                                               .batch_events = pace.batch_events,
                                               .owner = "http:" + new_event_id(),
                                               .pause = pace.pause});
            if (!report) return error_response(report.error(), route);
            if (options_.retention) options_.retention->record(*report);
            return ok_json(retention::to_json(*report), route);
        }
        case route_id::topic_key: {
            auto done = userproj::erase_topic_key(store_, a, b);
            if (!done) return error_response(done.error(), route);
            json::object out = retention::to_json(*done);
            note_unreclaimed(out, store_.reclaim_space(), a, b);
            return ok_json(out, route);
        }
        case route_id::collection_doc: {
            if (!docs::valid_collection_name(a) || docs::reserved_collection(a)) {
                return error_response(404, "not_found", "no such collection", route);
            }
            // If-Match / If-Unmodified-Since / If-None-Match are checked against the document
            // as GET serves it, in the erasure's transaction (a write between the two cannot slip
            // through).
            std::shared_ptr<const userproj::collection_map> hold;
            const std::string_view served =
                options_.aliases ? options_.aliases->resolve(a, hold) : a;
            const userproj::document_precondition precondition{
                served, [&r](const document& d) {
                    return preconditions_hold({r.if_match, r.if_unmodified_since, r.if_none_match},
                                              d.etag, last_modified_seconds(d.ts.value));
                }};
            const bool conditional = r.if_match || r.if_unmodified_since || r.if_none_match;
            auto gone =
                userproj::erase_document(store_, a, b, conditional ? &precondition : nullptr);
            if (!gone) return error_response(gone.error(), route);
            if (!*gone) return error_response(404, "not_found", "no such document", route);
            json::object out{{"collection", a}, {"key", b}, {"deleted", true}};
            note_unreclaimed(out, store_.reclaim_space(), a, b);
            return ok_json(out, route);
        }
        default:
            break;
    }
    return error_response(404, "not_found", "no route for this path", route_id::unknown);
}

response api::put_topic_policy(const request& r, std::string_view pattern) {
    constexpr auto route = route_id::topic_policy;
    if (!is_json_content_type(r.content_type)) {
        return error_response(415, "unsupported_media_type",
                              "PUT /topics/{topic}/policy takes Content-Type: application/json",
                              route);
    }
    if (r.body.size() > options_.body_limit) {
        return error_response(413, "too_large", "the policy is over the body limit", route);
    }
    auto body = parse_json(
        r.body, {.max_depth = 32, .max_bytes = options_.body_limit, .refuse_duplicate_keys = true});
    if (!body) return error_response(400, "bad_request", body.error().message, route);
    auto p = retention::parse_policy(pattern, *body);
    if (!p) return error_response(p.error(), route);
    if (auto ok = retention::check_retention_applies(pattern); !ok) {
        return error_response(ok.error(), route);
    }
    auto topics = matching_topics(store_, pattern);
    if (!topics) return error_response(topics.error(), route);
    if (topics->empty()) {
        return error_response(404, "not_found",
                              "'" + std::string(pattern) + "' matches no existing topic", route);
    }
    if (auto ok = retention::put_policy(store_, *p, policy_condition_of(r)); !ok) {
        return error_response(ok.error(), route);
    }
    // Where it is now the effective policy (an exact name or a longer pattern may win).
    auto all = retention::load_policies(store_);
    if (!all) return error_response(all.error(), route);
    json::array applies;
    for (const auto& t : *topics) {
        auto eff = retention::policy_for(*all, t);
        if (eff && eff->pattern == p->pattern) applies.emplace_back(t);
    }
    return ok_json(json::object{{"topic", pattern},
                                {"policy", retention::to_json(*p)},
                                {"applies_to", std::move(applies)}},
                   route);
}

}  // namespace prom::http
