// POST /publish: one event or {"events":[…]}, answered after the durable commit.
#include <chrono>

#include "consistency/after_query.hpp"
#include "core/canonical_event.hpp"
#include "core/json_duplicates.hpp"
#include "core/text.hpp"
#include "docs/update.hpp"
#include "http/api.hpp"
#include "http/error_status.hpp"
#include "http/percent.hpp"
#include "prom/event.hpp"
#include "schema/payload_schemas.hpp"

namespace prom::http {

namespace {

// Moves each payload out of `body`, which is parsed only to become these events.
result<std::vector<event_input>> events_of(json::value&& body) {
    if (!body.is_object()) return fail(errc::invalid_argument, "the body must be a JSON object");
    auto& o = body.get_object();
    std::vector<event_input> out;
    auto it = o.find("events");
    if (it != o.end() && !o.contains("topic")) {
        if (!it->value().is_array())
            return fail(errc::invalid_argument, "'events' must be an array");
        auto& arr = it->value().get_array();
        if (arr.empty()) return fail(errc::invalid_argument, "'events' is empty");
        if (o.size() != 1) return fail(errc::invalid_argument, "a batch body has only 'events'");
        out.reserve(arr.size());
        for (std::size_t i = 0; i < arr.size(); ++i) {
            auto in = event_input_from_json(std::move(arr[i]));
            if (!in) {
                return fail(in.error().code,
                            "events[" + std::to_string(i) + "]: " + in.error().message);
            }
            out.push_back(std::move(*in));
        }
        return out;
    }
    auto in = event_input_from_json(std::move(body));
    if (!in) return std::unexpected(in.error());
    out.push_back(std::move(*in));
    return out;
}

// The events of a publish body, or the answer that refuses it. A body in the usual shape
// whose payload is canonical already is read without building its JSON (most publishers
// send one); any other goes the general way, which also gives every error.
std::expected<std::vector<event_input>, response> read_events(std::string_view body_text,
                                                              std::size_t body_limit) {
    std::vector<event_input> out;
    if (auto one = read_canonical_event(body_text)) {
        out.push_back(std::move(*one));
        return out;
    }
    auto body =
        parse_json(body_text, {.max_depth = publish_body_max_depth, .max_bytes = body_limit});
    if (!body) return std::unexpected(error_response(body.error(), route_id::publish));
    if (auto twice = first_duplicate_envelope_key(body_text, *body)) {
        return std::unexpected(error_response(400, "bad_request", duplicate_member_message(*twice),
                                              route_id::publish));
    }
    // event_input_from_json validates each event (validate_input), so nothing is checked twice.
    auto events = events_of(std::move(*body));
    if (!events) return std::unexpected(error_response(events.error(), route_id::publish));
    return std::move(*events);
}

// A parameter POST /publish does not take, or `wait` without `wait_for`: the message, else
// nullopt. A typo (`waitfor=`) would otherwise publish without the wait the client asked
// for, and answer as if it had waited.
std::optional<std::string> misplaced_publish_param(std::string_view query) {
    bool wait = false, wait_for = false;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        std::string name = decode_query_component(item.substr(0, item.find('=')));
        if (name == "wait") {
            wait = true;
        } else if (name == "wait_for") {
            wait_for = true;
        } else if (name != "after") {  // refused below with its own message
            return "unknown parameter '" + name + "' (POST /publish takes wait_for and wait)";
        }
    }
    if (wait && !wait_for) return "wait needs wait_for: the collection to wait for";
    return std::nullopt;
}

}  // namespace

bool api::is_publish(const request& r) {
    return r.verb == method::post && r.target.substr(0, r.target.find('?')) == "/publish";
}

api::publish_start api::begin_publish(const request& r) {
    publish_start out;
    out.started = std::chrono::steady_clock::now();
    auto refuse = [&](response answer) -> publish_start& {
        metrics_.record_publish_failure();
        out.answer = std::move(answer);
        return out;
    };
    // Who asks comes first: without a valid token the answer is 401 whatever the body holds,
    // as on every route (the topics' permissions are checked once the body is read).
    if (auto no = unauthenticated(r, route_id::publish)) return refuse(std::move(*no));
    if (!is_json_content_type(r.content_type)) {
        return refuse(error_response(415, "unsupported_media_type",
                                     "POST /publish takes Content-Type: application/json",
                                     route_id::publish));
    }
    if (r.body.size() > options_.body_limit) {
        return refuse(
            error_response(413, "too_large", "the body is over the limit", route_id::publish));
    }
    auto events = read_events(r.body, options_.body_limit);
    if (!events) {
        return refuse(std::move(events.error()));
    }
    for (const auto& e : *events) {
        // All or nothing: one forbidden topic and nothing of the batch is published.
        if (auto no = refused(r, auth::action::publish, e.topic, route_id::publish)) {
            return refuse(std::move(*no));
        }
    }
    out.events = std::move(*events);
    if (r.prom_after) {  // as ?after= below: a position to wait for is a read's
        return refuse(error_response(400, "bad_request",
                                     "Prom-After is for reads; POST /publish takes wait_for",
                                     route_id::publish));
    }
    // ?wait_for=COLLECTION[&wait=N]: checked before anything is appended.
    auto q = r.target.find('?');
    if (q != std::string_view::npos) {
        if (auto why = misplaced_publish_param(r.target.substr(q + 1))) {
            return refuse(error_response(400, "bad_request", *why, route_id::publish));
        }
        auto params = consistency::parse_consistency_params(r.target.substr(q + 1), std::nullopt);
        if (!params) {
            return refuse(
                error_response(400, "bad_request", params.error().message, route_id::publish));
        }
        if (!params->after.empty()) {
            return refuse(error_response(400, "bad_request",
                                         "after is for reads; POST /publish takes wait_for",
                                         route_id::publish));
        }
        if (params->wait_for) {
            const std::string& c = *params->wait_for;
            // A name no collection can have is bad input, as in a watch (found from outside:
            // 422 "no projector writes" it).
            if (!docs::valid_collection_name(c)) {
                return refuse(error_response(
                    400, "bad_request",
                    "bad collection name '" + printable_message(c, 200) + "' in wait_for",
                    route_id::publish));
            }
            if (auto no = refused(r, auth::action::read, c, route_id::publish)) {
                return refuse(std::move(*no));
            }
            auto writers = options_.writers_of ? options_.writers_of(c)
                                               : std::vector<consistency::collection_writer>{};
            bool consumed = false;
            for (const auto& e : out.events) {
                std::vector<consistency::after_position> one{{e.topic, seq_t{}}};
                consumed = consumed || consistency::conditions_for(writers, c, one).has_value();
            }
            if (!consumed || !options_.waiters) {
                json::object o =
                    error_object("no_projector", "no projector that writes collection '" + c +
                                                     "' consumes a topic of this publish");
                return refuse(json_response(422, canonical_json(o), route_id::publish));
            }
            out.wait_for = c;
            out.wait_writers = std::move(writers);
            out.wait = params->wait;
            for (const auto& e : out.events) out.event_topics.push_back(e.topic);
        }
    }
    return out;
}

response api::finish_publish(result<std::vector<append_result>> appended,
                             std::chrono::steady_clock::time_point started) {
    if (!appended) {
        metrics_.record_publish_failure();
        const error& e = appended.error();
        if (e.key_seq) {
            // A conditional append was refused: 409 {"error":"conflict","key_seq":CURRENT}.
            json::object o = error_object("conflict", e.message);
            o["key_seq"] = *e.key_seq;
            return json_response(409, canonical_json(o), route_id::publish);
        }
        if (e.code == errc::invalid_payload) {
            // 422 {"error":"invalid_payload","message","path","schema_version"} (docs/schemas.md).
            return json_response(422, canonical_json(schema::invalid_payload_json(e)),
                                 route_id::publish);
        }
        return error_response(e, route_id::publish);
    }
    // {"results":[{"duplicate":…,"id":…,"seq":…,"ts":…}]}: the canonical form (keys sorted)
    // written straight out, rather than built as a JSON object and serialized.
    std::string text;
    text.reserve(16 + appended->size() * 96);
    text += "{\"results\":[";
    std::size_t duplicates = 0;
    for (const auto& a : *appended) {
        duplicates += a.duplicate ? 1 : 0;
        if (text.back() == '}') text += ',';
        text += a.duplicate ? "{\"duplicate\":true,\"id\":" : "{\"duplicate\":false,\"id\":";
        append_json_string(text, a.id);
        text += ",\"seq\":";
        text += to_string(a.seq);
        text += ",\"ts\":";
        text += to_string(a.ts);
        text += '}';
    }
    text += "]}";
    metrics_.record_publish(appended->size(), duplicates,
                            std::chrono::steady_clock::now() - started);
    return json_response(200, std::move(text), route_id::publish);
}

response api::publish(const request& r) {
    auto begun = begin_publish(r);
    if (begun.answer) return std::move(*begun.answer);
    return finish_publish(store_.append(std::move(begun.events)), begun.started);
}

}  // namespace prom::http
