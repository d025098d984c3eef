// The built-in reducers and RFC 7396 JSON merge patch.
#include "prom/timetravel.hpp"

namespace prom {

namespace {

// In place, so that folding many small patches into a big state never copies the state.
void merge_into(json::value& target, const json::value& patch) {
    if (!patch.is_object()) {
        target = patch;
        return;
    }
    if (!target.is_object()) target = json::object(target.storage());
    auto& obj = target.get_object();
    for (const auto& member : patch.get_object()) {
        if (member.value().is_null()) {
            obj.erase(member.key());
        } else if (auto it = obj.find(member.key()); it != obj.end()) {
            merge_into(it->value(), member.value());
        } else {
            // An absent name merges into null, which strips the patch's own nulls
            // (RFC 7396 appendix A: {"a":{"bb":{"ccc":null}}} onto {} gives {"a":{"bb":{}}}).
            json::value fresh;
            merge_into(fresh, member.value());
            obj.emplace(member.key(), std::move(fresh));
        }
    }
}

}  // namespace

json::value merge_patch(json::value target, const json::value& patch) {
    merge_into(target, patch);
    return target;
}

reducer replace_reducer() {
    return {"replace",
            [](json::value, const event& e) -> result<json::value> { return e.payload; }};
}

reducer merge_reducer() {
    return {"merge", [](json::value state, const event& e) -> result<json::value> {
                merge_into(state, e.payload);
                return state;
            }};
}

result<reducer> builtin_reducer(std::string_view name) {
    if (name == "replace") return replace_reducer();
    if (name == "merge") return merge_reducer();
    return fail(errc::invalid_argument,
                "unknown reducer '" + std::string(name) + "': use replace or merge");
}

json::object to_json(const state_at& s) {
    return json::object{{"state", s.state}, {"ts", s.ts.value}, {"seq", s.seq.value}};
}

json::object to_json(const keyed_state& s) {
    return json::object{
        {"key", s.key}, {"state", s.state}, {"ts", s.ts.value}, {"seq", s.seq.value}};
}

}  // namespace prom
