// GET /at/{topic}/{key}?t=T[&reducer=replace|merge]: time travel over HTTP
// (docs/time-travel.md, docs/http-api.md).
#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse_query.hpp>

#include "http/api.hpp"
#include "http/error_status.hpp"
#include "prom/timetravel.hpp"

namespace prom::http {

response api::at(const request& r, std::string_view topic, std::string_view key,
                 std::string_view encoded_query) {
    if (auto no = refused(r, auth::action::subscribe, topic, route_id::at)) return *no;
    std::optional<std::string> t_text;
    std::string reducer = "replace";
    // Boost.URL 1.81 reads the last parameter up to a NUL byte, past the end of a view:
    // parse a NUL-terminated copy.
    const std::string query(encoded_query);
    auto params = boost::urls::parse_query(query);
    if (!params) return error_response(400, "bad_request", "malformed query string", route_id::at);
    for (auto p : *params) {
        std::string name = p.key.decode();
        std::string value = p.has_value ? p.value.decode() : std::string();
        if (name == "t") {
            t_text = std::move(value);
        } else if (name == "reducer") {
            reducer = std::move(value);
        } else if (name == "after" || name == "wait") {
            // Read-your-writes (api_consistency.cpp): the log holds a published event as
            // soon as its publish is answered, so /at never needs to wait.
        } else {
            return error_response(400, "bad_request",
                                  "unknown parameter '" + name + "' (t, reducer)", route_id::at);
        }
    }
    if (!t_text)
        return error_response(400, "bad_request", "t (epoch ms or ISO-8601) is required",
                              route_id::at);
    auto t = parse_time(*t_text);
    if (!t) return error_response(400, "bad_request", t.error().message, route_id::at);
    auto state = at_as_json(store_, topic, key, *t, reducer);
    if (!state) {
        return error_response(status_of(state.error().code), to_string(state.error().code),
                              state.error().message, route_id::at);
    }
    auto out = json_response(200, canonical_json(*state), route_id::at);
    return out;
}

}  // namespace prom::http
