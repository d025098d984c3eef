// GET /at/{topic}/{key}?t=T[&reducer=replace|merge] and GET /at/{topic}?t=T[&reducer=…]
// [&limit=N]: time travel over HTTP, one key or every key (docs/time-travel.md,
// docs/http-api.md).
#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <set>

#include "http/api.hpp"
#include "http/error_status.hpp"
#include "prom/timetravel.hpp"

namespace prom::http {

namespace {

// Every key's state in one answer: enough for a fleet of processes, bounded so that one
// request cannot make the server hold a whole topic's states.
constexpr std::size_t max_at_all_limit = 100000;

struct at_params {
    ts_ms t;
    std::string reducer = "replace";
    std::size_t limit = max_at_all_limit;
};

result<at_params> parse_at_params(std::string_view encoded_query, bool all_keys) {
    auto bad = [](std::string message) -> result<at_params> {
        return std::unexpected(error{errc::invalid_argument, std::move(message)});
    };
    at_params out;
    std::optional<std::string> t_text;
    // Boost.URL 1.81 reads the last parameter up to a NUL byte, past the end of a view:
    // parse a NUL-terminated copy.
    const std::string query(encoded_query);
    auto params = boost::urls::parse_query(query);
    if (!params) return bad("malformed query string");
    std::set<std::string, std::less<>> seen;
    for (auto p : *params) {
        std::string name = p.key.decode();
        std::string value = p.has_value ? p.value.decode() : std::string();
        // Which of two values counts would be a guess (docs/http-api.md, "Bad input").
        if (!seen.insert(name).second) return bad("'" + name + "' is given twice");
        if (name == "t") {
            t_text = std::move(value);
        } else if (name == "reducer") {
            out.reducer = std::move(value);
        } else if (name == "limit" && all_keys) {
            std::size_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || n < 1 ||
                n > max_at_all_limit) {
                return bad("'limit' must be between 1 and " + std::to_string(max_at_all_limit));
            }
            out.limit = n;
        } else if (name == "after" || name == "wait") {
            // Read-your-writes (api_consistency.cpp): the log holds a published event as
            // soon as its publish is answered, so /at never needs to wait.
        } else {
            return bad(
                "unknown parameter '" + name +
                (all_keys ? "' (t, reducer, limit, after, wait)" : "' (t, reducer, after, wait)"));
        }
    }
    if (!t_text) return bad("t (epoch ms or ISO-8601) is required");
    auto t = parse_time(*t_text);
    if (!t) return std::unexpected(t.error());
    out.t = *t;
    return out;
}

}  // namespace

response api::at(const request& r, std::string_view topic, std::string_view key,
                 std::string_view encoded_query) {
    if (auto no = refused(r, auth::action::subscribe, topic, route_id::at)) return *no;
    auto p = parse_at_params(encoded_query, false);
    if (!p) return error_response(400, "bad_request", p.error().message, route_id::at);
    auto state = at_as_json(store_, topic, key, p->t, p->reducer);
    if (!state) return error_response(state.error(), route_id::at);
    return json_response(200, canonical_json(*state), route_id::at);
}

response api::at_all(const request& r, std::string_view topic, std::string_view encoded_query) {
    if (auto no = refused(r, auth::action::subscribe, topic, route_id::at_all)) return *no;
    auto p = parse_at_params(encoded_query, true);
    if (!p) return error_response(400, "bad_request", p.error().message, route_id::at_all);
    if (topic.empty()) {
        return error_response(400, "bad_request", "the topic must not be empty", route_id::at_all);
    }
    auto states = at_all_as_json(store_, topic, p->t, p->reducer, p->limit);
    if (!states) return error_response(states.error(), route_id::at_all);
    return json_response(200, canonical_json(*states), route_id::at_all);
}

}  // namespace prom::http
