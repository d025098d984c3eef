// GET /collections/{c}/watch: checking a watch request (docs/watches.md). The stream itself
// is written by the session (http_session.cpp, sse_stream).
#include "core/key_limit.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "http/api.hpp"
#include "http/percent.hpp"
#include "userproj_runtime/collection_aliases.hpp"

namespace prom::http {

namespace {

// The collection segment of /collections/{c}/watch, still encoded; nullopt for other paths.
std::optional<std::string_view> watch_segment(std::string_view target) {
    std::string_view path = target.substr(0, target.find('?'));
    constexpr std::string_view head = "/collections/";
    constexpr std::string_view tail = "/watch";
    if (!path.starts_with(head) || !path.ends_with(tail) ||
        path.size() <= head.size() + tail.size()) {
        return std::nullopt;
    }
    auto seg = path.substr(head.size(), path.size() - head.size() - tail.size());
    if (seg.find('/') != std::string_view::npos) return std::nullopt;
    return seg;
}

}  // namespace

bool api::is_watch(const request& r) {
    return r.verb == method::get && watch_segment(r.target).has_value();
}

api::watch_start api::begin_watch(const request& r) {
    watch_start out;
    auto bad = [&](std::string message) {
        out.answer = error_response(400, "bad_request", message, route_id::watch);
        return out;
    };
    if (!valid_origin_form(r.target)) return bad("malformed request target");
    const std::string logical = decode_path_segment(*watch_segment(r.target));
    if (!docs::valid_collection_name(logical)) {
        return bad("bad collection name '" + logical + "'");
    }
    if (docs::reserved_collection(logical)) {
        out.answer = error_response(404, "not_found", "no route for this path", route_id::watch);
        return out;
    }
    if (auto no = refused(r, auth::action::read, logical, route_id::watch)) {
        out.answer = std::move(no);
        return out;
    }
    // Parameters split by hand (see api::route: Boost.URL 1.81 reads past a view's end).
    auto q = r.target.find('?');
    std::string_view query =
        q == std::string_view::npos ? std::string_view{} : r.target.substr(q + 1);
    std::optional<std::string> key, prefix;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty()) continue;
        auto eq = item.find('=');
        std::string name = decode_query_component(item.substr(0, eq));
        std::string value = eq == std::string_view::npos
                                ? std::string()
                                : decode_query_component(item.substr(eq + 1));
        if (name == "key" || name == "prefix") {
            auto& slot = name == "key" ? key : prefix;
            if (slot) return bad("'" + name + "' is given twice");
            slot = std::move(value);
        } else {
            return bad("unknown parameter '" + name + "' (a watch takes key or prefix)");
        }
    }
    if (key && prefix) return bad("a watch takes key or prefix, not both");
    if (key && key->empty()) return bad("key must not be empty (prefix= watches every key)");
    // A key no document can have would be watched for ever, as a read of it is refused
    // (found from outside: `?key=%FF` opened a stream that could never carry anything).
    if (key) {
        if (auto why = key_problem(*key)) return bad(*why);
    }
    if (key) {
        out.filter.exact = true;
        out.filter.key = std::move(*key);
    } else if (prefix) {
        out.filter.prefix = std::move(*prefix);
    }
    if (r.last_event_id_repeated) return bad("Last-Event-ID is given twice: send one resume point");
    if (r.last_event_id) {
        out.last_event_id = consistency::parse_change_id(*r.last_event_id);
        if (!out.last_event_id) {
            return bad(
                "Last-Event-ID must be the decimal id of a change (as sent in `id:`), not '" +
                std::string(*r.last_event_id) + "'");
        }
    }
    if (!options_.feed) {
        out.answer =
            error_response(501, "not_implemented", "watches are not enabled", route_id::watch);
        return out;
    }
    std::shared_ptr<const userproj::collection_map> hold;
    out.collection =
        options_.aliases ? std::string(options_.aliases->resolve(logical, hold)) : logical;
    out.shown = logical;
    out.has_writers = options_.writers_of && !options_.writers_of(logical).empty();
    return out;
}

result<seq_t> api::open_watch(const watch_start& w) {
    return consistency::watch_start_position(store_, w.collection, w.has_writers, w.last_event_id);
}

}  // namespace prom::http
