#include "core/json_size.hpp"

namespace prom {

namespace {

// Punctuation, quotes and a short number or literal: what a value costs beyond its strings.
constexpr std::size_t per_value = 8;

}  // namespace

std::size_t approximate_json_bytes(const json::object& o) {
    std::size_t n = per_value;
    for (const auto& kv : o) n += kv.key().size() + per_value + approximate_json_bytes(kv.value());
    return n;
}

std::size_t approximate_json_bytes(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return v.get_string().size() + per_value;
        case json::kind::object:
            return approximate_json_bytes(v.get_object());
        case json::kind::array: {
            std::size_t n = per_value;
            for (const auto& item : v.get_array()) n += approximate_json_bytes(item) + 1;
            return n;
        }
        default:
            return per_value;
    }
}

}  // namespace prom
