#include "userproj/declarative_handler.hpp"

#include "retention/erasure_marker.hpp"
#include "userproj/effects.hpp"

namespace prom::userproj {

namespace {

result<json::object> build_update(const write_spec& w, const event& e) {
    json::object update;
    if (w.replace) {
        auto doc = expand(w.replacement, e);
        if (!doc) return std::unexpected(doc.error());
        if (!doc->is_object()) {
            return fail(errc::invalid_argument, "the replacement for " + w.collection +
                                                    " from event " + e.id + " is not an object");
        }
        update = std::move(doc->get_object());
        // The key is the write's; a `_key` carried in (say) the payload is not the document's.
        update.erase("_key");
        if (!w.names_ts) update["_ts"] = e.ts.value;
        return update;
    }
    update.reserve(w.update.size() + 1);
    for (const auto& op : w.update) {
        json::object fields;
        fields.reserve(op.fields.size() + 1);
        for (const auto& f : op.fields) {
            auto v = expand(f.value, e);
            if (!v) return std::unexpected(v.error());
            fields[f.path] = std::move(*v);
        }
        update[op.name] = std::move(fields);
    }
    if (!w.names_ts) stamp_event_ts(update, false, e.ts);
    return update;
}

}  // namespace

status apply_declarative(const compiled_definition& d, const user_handler_options& o,
                         const event& e, transaction& txn) {
    // An erasure marker (payload null) has nothing to write or emit: the documents keep
    // what they hold until erased themselves (docs/projectors.md, erasure markers).
    if (retention::is_erasure_marker(e)) return {};
    if (d.where && !matches(*d.where, e)) return {};
    for (const auto& w : d.writes) {
        if (w.where && !matches(*w.where, e)) continue;
        auto key = expand(w.key, e);
        if (!key) return std::unexpected(key.error());
        auto update = build_update(w, e);
        if (!update) return std::unexpected(update.error());
        if (auto r = txn.update(target_collection(o, w.collection), *key, std::move(*update), true);
            !r) {
            return std::unexpected(r.error());
        }
    }
    if (d.emits.empty()) return {};
    std::vector<event_input> out;
    out.reserve(d.emits.size());
    for (std::size_t i = 0; i < d.emits.size(); ++i) {
        const emit_spec& spec = d.emits[i];
        if (spec.where && !matches(*spec.where, e)) continue;
        event_input in;
        in.topic = spec.topic;
        in.id = emitted_id(e, d.name, i);
        auto key = expand(spec.key, e);
        if (!key) return std::unexpected(key.error());
        in.key = std::move(*key);
        in.ts = e.ts;
        auto payload = expand(spec.payload, e);
        if (!payload) return std::unexpected(payload.error());
        in.payload = std::move(*payload);
        for (const auto& [name, tmpl] : spec.headers) {
            auto v = expand(tmpl, e);
            if (!v) return std::unexpected(v.error());
            in.headers[name] = std::move(*v);
        }
        if (auto ok = add_source_headers(in.headers, e, d.name); !ok) return ok;
        if (auto ok = check_emitted_payload(in.payload); !ok) return ok;
        out.push_back(std::move(in));
    }
    if (out.empty()) return {};
    if (auto r = txn.append(std::move(out)); !r) return std::unexpected(r.error());
    return {};
}

}  // namespace prom::userproj
