#include "userproj/effects.hpp"

#include <charconv>

#include "core/json_size.hpp"
#include "core/reserved_headers.hpp"
#include "projector/bounded_id.hpp"

namespace prom::userproj {

std::string emitted_id(const event& input, std::string_view projector, std::size_t index) {
    // The input is named by its topic and seq, which no other event shares, ever: its id is
    // unique only within its topic (a pattern projector's topics may share one), and an
    // erased key's id may be published again as a new event. A dead-letter replay's copy is
    // named by the event it copies (`prom-original-seq`), so a later rebuild that applies
    // the original derives the same id. "prom-": no publisher can take the id first.
    std::string origin;
    if (auto it = input.headers.find(std::string(original_seq_header)); it != input.headers.end()) {
        origin = it->second;
    } else {
        origin = std::to_string(input.seq.value);
    }
    std::string id = "prom-proj:";
    id += projector;
    id += ':';
    id += std::to_string(index);
    id += ':';
    id += input.topic;
    id += ':';
    id += origin;
    return process::bounded_reserved_id(std::move(id));
}

std::string target_collection(const user_handler_options& o, std::string_view collection) {
    return o.collection_for ? o.collection_for(collection) : std::string(collection);
}

void stamp_event_ts(json::object& update, bool is_replacement, ts_ms ts) {
    if (is_replacement) {
        if (!update.contains("_ts")) update["_ts"] = ts.value;
        return;
    }
    auto is_ts = [](std::string_view field) { return field == "_ts" || field.starts_with("_ts."); };
    // `$unset` of _ts sets nothing: it would leave the document to the wall clock's _ts, and
    // a document is a function of the log (docs/projectors.md). Dropped, and _ts stamped.
    if (auto unset = update.find("$unset"); unset != update.end()) {
        if (json::object* fields = unset->value().if_object()) {
            bool dropped = false;
            for (auto f = fields->begin(); f != fields->end();) {
                if (is_ts(f->key())) {
                    f = fields->erase(f);
                    dropped = true;
                } else {
                    ++f;
                }
            }
            if (dropped && fields->empty()) update.erase(unset);
        }
    }
    for (const auto& op : update) {
        if (const json::object* fields = op.value().if_object()) {
            for (const auto& f : *fields) {
                if (is_ts(f.key())) return;
            }
        }
    }
    auto set = update.find("$set");
    if (set == update.end()) {
        update["$set"] = json::object{{"_ts", ts.value}};
    } else if (json::object* fields = set->value().if_object()) {
        (*fields)["_ts"] = ts.value;
    }
    // A $set that is not an object stays as it is, for the update to refuse ("$set needs an
    // object"): replacing it with {_ts} made `{["$set"] = 5}` write an empty document.
}

status check_emitted_payload(const json::value& payload) {
    const std::size_t limit = parse_limits{}.max_depth - 1;
    if (measure_json(payload).depth > limit) {
        return fail(errc::invalid_argument, "emit: the payload nests deeper than " +
                                                std::to_string(limit) +
                                                " levels, more than a publish may");
    }
    return {};
}

status add_source_headers(headers_map& h, const event& input, std::string_view projector) {
    // Projectors that emit into each other's topics (a → b → a) would feed one another
    // without end, each event a new one: the chain is cut at max_emit_depth.
    std::int64_t depth = 0;
    if (auto it = input.headers.find(std::string(depth_header)); it != input.headers.end()) {
        auto [end, ec] =
            std::from_chars(it->second.data(), it->second.data() + it->second.size(), depth);
        if (ec != std::errc{} || end != it->second.data() + it->second.size()) depth = 0;
    }
    if (depth >= max_emit_depth) {
        return fail(errc::invalid_argument,
                    "emit: the input event is already " + std::to_string(depth) +
                        " emits away from a published event (at most " +
                        std::to_string(max_emit_depth) +
                        "): projectors that emit into each other's topics loop");
    }
    h["prom-source-id"] = input.id;
    h["prom-projector"] = std::string(projector);
    h[std::string(depth_header)] = std::to_string(depth + 1);
    return {};
}

}  // namespace prom::userproj
