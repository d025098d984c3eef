// POST /publish: one event or {"events":[…]}, answered after the durable commit.
#include <chrono>

#include "http/api.hpp"
#include "http/error_status.hpp"
#include "prom/event.hpp"

namespace prom::http {

namespace {

// application/json, any case, parameters (charset) allowed.
bool is_json_media_type(std::string_view ct) {
    auto semi = ct.find(';');
    auto type = ct.substr(0, semi);
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
    constexpr std::string_view want = "application/json";
    if (type.size() != want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i) {
        char c = type[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != want[i]) return false;
    }
    return true;
}

result<std::vector<event_input>> events_of(const json::value& body) {
    if (!body.is_object()) return fail(errc::invalid_argument, "the body must be a JSON object");
    const auto& o = body.get_object();
    std::vector<event_input> out;
    auto it = o.find("events");
    if (it != o.end() && !o.contains("topic")) {
        if (!it->value().is_array()) return fail(errc::invalid_argument, "'events' must be an array");
        const auto& arr = it->value().get_array();
        if (arr.empty()) return fail(errc::invalid_argument, "'events' is empty");
        if (o.size() != 1) return fail(errc::invalid_argument, "a batch body has only 'events'");
        out.reserve(arr.size());
        for (std::size_t i = 0; i < arr.size(); ++i) {
            auto in = event_input_from_json(arr[i]);
            if (!in) {
                return fail(in.error().code, "events[" + std::to_string(i) + "]: " + in.error().message);
            }
            out.push_back(std::move(*in));
        }
        return out;
    }
    auto in = event_input_from_json(body);
    if (!in) return std::unexpected(in.error());
    out.push_back(std::move(*in));
    return out;
}

}  // namespace

response api::publish(const request& r) {
    auto started = std::chrono::steady_clock::now();
    if (!r.content_type || !is_json_media_type(*r.content_type)) {
        metrics_.record_publish_failure();
        return error_response(415, "unsupported_media_type",
                              "POST /publish takes Content-Type: application/json",
                              route_id::publish);
    }
    if (r.body.size() > options_.body_limit) {
        metrics_.record_publish_failure();
        return error_response(413, "too_large", "the body is over the limit", route_id::publish);
    }
    auto body = parse_json(r.body, {.max_depth = 64, .max_bytes = options_.body_limit});
    if (!body) {
        metrics_.record_publish_failure();
        return error_response(status_of(body.error().code), to_string(body.error().code),
                              body.error().message, route_id::publish);
    }
    auto events = events_of(*body);
    if (events) {
        for (auto& e : *events) {
            if (auto ok = validate_input(e); !ok) {
                events = std::unexpected(ok.error());
                break;
            }
        }
    }
    if (!events) {
        metrics_.record_publish_failure();
        return error_response(status_of(events.error().code), to_string(events.error().code),
                              events.error().message, route_id::publish);
    }
    for (const auto& e : *events) {
        // All or nothing: one forbidden topic and nothing of the batch is published.
        if (auto no = refused(r, auth::action::publish, e.topic, route_id::publish)) {
            metrics_.record_publish_failure();
            return *no;
        }
    }
    auto appended = store_.append(std::move(*events));
    if (!appended) {
        metrics_.record_publish_failure();
        return error_response(status_of(appended.error().code), to_string(appended.error().code),
                              appended.error().message, route_id::publish);
    }
    json::array results;
    std::size_t duplicates = 0;
    for (const auto& a : *appended) {
        duplicates += a.duplicate ? 1 : 0;
        results.push_back(to_json(a));
    }
    json::object o;
    o["results"] = std::move(results);
    metrics_.record_publish(appended->size(), duplicates, std::chrono::steady_clock::now() - started);
    return json_response(200, canonical_json(o), route_id::publish);
}

}  // namespace prom::http
