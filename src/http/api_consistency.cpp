// Read-your-writes over HTTP: `after` / `Prom-After` / `wait` on reads, `wait_for` on
// POST /publish, and the 422 and 503 answers (docs/http-api.md, "Read-your-writes").
#include <algorithm>
#include <map>

#include "core/text.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "http/api.hpp"
#include "http/error_status.hpp"
#include "http/percent.hpp"
#include "userproj_runtime/collection_aliases.hpp"

namespace prom::http {

namespace {

using namespace consistency;

// The collection a GET/HEAD read names, or nullopt when the target is not a document or
// list read. /at reads the log itself, which holds an event once its publish is answered:
// it takes `after` but never waits (an empty collection name).
struct read_target {
    route_id route;
    std::string collection;
    std::string key;  // documents only
};

std::optional<read_target> read_target_of(const request& r, std::string_view default_collection) {
    if (r.verb != method::get && r.verb != method::head) return std::nullopt;
    std::string_view path = r.target.substr(0, r.target.find('?'));
    std::vector<std::string_view> s;
    std::string_view rest = path.size() > 1 ? path.substr(1) : std::string_view{};
    while (!rest.empty() && s.size() < 5) {
        auto slash = rest.find('/');
        s.push_back(rest.substr(0, slash));
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    }
    if (s.size() == 2 && s[0] == "snap") {
        return read_target{route_id::snap, std::string(default_collection),
                           decode_path_segment(s[1])};
    }
    if (s.size() == 1 && s[0] == "list") {
        return read_target{route_id::list, std::string(default_collection), {}};
    }
    if (s.size() == 4 && s[0] == "collections" && s[2] == "snap") {
        return read_target{route_id::collection_snap, decode_path_segment(s[1]),
                           decode_path_segment(s[3])};
    }
    if (s.size() == 3 && s[0] == "collections" && s[2] == "list") {
        return read_target{route_id::collection_list, decode_path_segment(s[1]), {}};
    }
    if (s.size() == 3 && s[0] == "at") return read_target{route_id::at, {}, {}};
    if (s.size() == 2 && s[0] == "at") return read_target{route_id::at_all, {}, {}};
    return std::nullopt;
}

// `wait=N` among the preferences of a Prefer header (RFC 7240: comma-separated, each
// `token [BWS "=" BWS value]` with `;` parameters, names case-insensitive); 0 when absent or
// not a number. A number past any wait prom holds is as good as the longest (the caller
// caps it).
long prefer_wait_seconds(std::string_view prefer) {
    while (!prefer.empty()) {
        auto comma = prefer.find(',');
        std::string_view item = prefer.substr(0, comma);
        prefer = comma == std::string_view::npos ? std::string_view{} : prefer.substr(comma + 1);
        item = item.substr(0, item.find(';'));
        const auto equals = item.find('=');
        if (equals == std::string_view::npos ||
            !iequals(trim_ows(item.substr(0, equals)), "wait")) {
            continue;
        }
        std::string_view digits = trim_ows(item.substr(equals + 1));
        if (!digits.empty() && digits.front() == '"' && digits.back() == '"' &&
            digits.size() >= 2) {
            digits = digits.substr(1, digits.size() - 2);
        }
        if (digits.empty()) return 0;
        long n = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return 0;
            n = std::min<long>(n * 10 + (c - '0'), 1'000'000);
        }
        return n;
    }
    return 0;
}

}  // namespace

std::optional<api::long_poll> api::long_poll_of(const request& r) const {
    if (!options_.changes || !r.prefer || !r.if_none_match) return std::nullopt;
    long seconds = std::min<long>(prefer_wait_seconds(*r.prefer), max_wait.count());
    if (seconds <= 0) return std::nullopt;
    auto target = read_target_of(r, options_.default_collection);
    if (!target || target->route == route_id::at || target->route == route_id::at_all) {
        return std::nullopt;
    }
    std::shared_ptr<const userproj::collection_map> hold;
    std::string physical = options_.aliases
                               ? std::string(options_.aliases->resolve(target->collection, hold))
                               : target->collection;
    return long_poll{std::move(physical), std::move(target->key), std::chrono::seconds(seconds)};
}

api::read_wait api::begin_read_after(const request& r) {
    read_wait out;
    auto q = r.target.find('?');
    std::string_view query =
        q == std::string_view::npos ? std::string_view{} : r.target.substr(q + 1);
    if (!mentions_consistency(query, r.prom_after)) return out;
    auto target = read_target_of(r, options_.default_collection);
    if (!target) return out;  // not a read: the route answers as it always did
    // Without a valid token, 401 before anything of the request is judged (found from
    // outside: a malformed `after` was answered 400 first).
    if (auto no = unauthenticated(r, target->route)) {
        out.answer = std::move(no);
        return out;
    }
    auto params = parse_consistency_params(query, r.prom_after);
    if (!params) {
        out.answer = error_response(400, "bad_request", params.error().message, target->route);
        return out;
    }
    if (params->wait_for) {
        out.answer = error_response(
            400, "bad_request", "wait_for is for POST /publish; reads take after", target->route);
        return out;
    }
    if (params->after.empty() || target->route == route_id::at ||
        target->route == route_id::at_all) {
        return out;
    }
    const std::string& collection = target->collection;
    if (!docs::valid_collection_name(collection) || docs::reserved_collection(collection)) {
        return out;  // the route answers 404
    }
    if (auto no = refused(r, auth::action::read, collection, target->route)) {
        out.answer = std::move(no);
        return out;
    }
    auto writers =
        options_.writers_of ? options_.writers_of(collection) : std::vector<collection_writer>{};
    auto conds = conditions_for(writers, collection, params->after);
    if (!conds) {
        json::object o = error_object("no_projector", conds.error().message);
        out.answer = json_response(422, canonical_json(o), target->route);
        return out;
    }
    if (!options_.waiters) {
        out.answer = error_response(503, "unavailable", "this server cannot wait for projectors",
                                    target->route);
        return out;
    }
    out.route = target->route;
    out.conditions = std::move(*conds);
    out.deadline = r.received + params->wait;
    return out;
}

std::vector<cursor_condition> api::publish_conditions(const publish_start& begun,
                                                      const std::vector<append_result>& appended) {
    std::map<std::string, seq_t, std::less<>> highest;  // topic -> its highest published seq
    for (std::size_t i = 0; i < appended.size() && i < begun.event_topics.size(); ++i) {
        auto& h = highest[begun.event_topics[i]];
        h = std::max(h, appended[i].seq);
    }
    std::vector<cursor_condition> out;
    for (const auto& [topic, seq] : highest) {
        std::vector<after_position> one{{topic, seq}};
        auto c = conditions_for(begun.wait_writers, "", one);
        if (c) out.insert(out.end(), c->begin(), c->end());  // topics it does not consume: no wait
    }
    return out;
}

response api::not_caught_up(const cursor_wait_outcome& o, route_id route,
                            std::string_view results_body) {
    json::object body;
    body["error"] = "not_caught_up";
    if (o.behind && o.unreadable) {
        // Where the projector is could not be read (the database is away): not a cursor
        // it did not read, but the database's own error (found from outside).
        body["error"] = "unavailable";
        body["message"] = "cannot read where projector '" + o.behind->projector + "' is in '" +
                          o.behind->topic + "': " + *o.unreadable;
    } else if (o.behind) {
        body["projector"] = o.behind->projector;
        body["topic"] = o.behind->topic;
        body["group"] = o.behind->group;
        body["cursor"] = o.cursor.value;
        body["wanted"] = o.behind->seq.value;
        body["message"] = "projector '" + o.behind->projector + "' has applied '" +
                          o.behind->topic + "' up to seq " + to_string(o.cursor) + ", not yet " +
                          to_string(o.behind->seq);
    } else {
        body["message"] = "the projectors did not catch up in time";
    }
    if (!results_body.empty()) {
        // A publish that timed out waiting is still durable: its results go with the 503.
        auto parsed = parse_json(results_body);
        if (parsed && parsed->is_object() && parsed->as_object().contains("results")) {
            body["results"] = parsed->as_object().at("results");
        }
    }
    auto out = json_response(503, canonical_json(body), route);
    out.head += "Retry-After: 1\r\n";
    return out;
}

}  // namespace prom::http
