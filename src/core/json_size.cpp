#include "core/json_size.hpp"

#include <algorithm>

namespace prom {

namespace {

// Punctuation, quotes and a short number or literal: what a value costs beyond its strings.
constexpr std::size_t per_value = 8;

// Adds a member or item's extent to its container's (whose depth is the deepest child's).
void add_child(json_extent& parent, const json_extent& child, std::size_t overhead) {
    parent.depth = std::max(parent.depth, child.depth);
    parent.bytes += child.bytes + overhead;
}

}  // namespace

json_extent measure_json(const json::object& o) {
    json_extent e{0, per_value};
    for (const auto& kv : o) add_child(e, measure_json(kv.value()), kv.key().size() + per_value);
    ++e.depth;
    return e;
}

json_extent measure_json(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return {0, v.get_string().size() + per_value};
        case json::kind::object:
            return measure_json(v.get_object());
        case json::kind::array: {
            json_extent e{0, per_value};
            for (const auto& item : v.get_array()) add_child(e, measure_json(item), 1);
            ++e.depth;
            return e;
        }
        default:
            return {0, per_value};
    }
}

}  // namespace prom
