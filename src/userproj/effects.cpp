#include "userproj/effects.hpp"

#include "projector/bounded_id.hpp"

namespace prom::userproj {

std::string emitted_id(const event& input, std::string_view projector, std::size_t index) {
    std::string id = "proj:";
    id += projector;
    id += ':';
    id += std::to_string(index);
    id += ':';
    id += input.id;
    return process::bounded_id(std::move(id));
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

void add_source_headers(headers_map& h, const event& input, std::string_view projector) {
    h["prom-source-id"] = input.id;
    h["prom-projector"] = std::string(projector);
}

}  // namespace prom::userproj
