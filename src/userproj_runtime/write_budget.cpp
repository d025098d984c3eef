#include "userproj_runtime/write_budget.hpp"

#include <string>

namespace prom::userproj {

namespace {

// Punctuation, quotes and a short number or literal: what a value costs beyond its strings.
constexpr std::size_t per_value = 8;

std::size_t approximate_object_bytes(const json::object& o) {
    std::size_t n = per_value;
    for (const auto& kv : o) n += kv.key().size() + per_value + approximate_json_bytes(kv.value());
    return n;
}

}  // namespace

std::size_t approximate_json_bytes(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return v.get_string().size() + per_value;
        case json::kind::object:
            return approximate_object_bytes(v.get_object());
        case json::kind::array: {
            std::size_t n = per_value;
            for (const auto& item : v.get_array()) n += approximate_json_bytes(item) + 1;
            return n;
        }
        default:
            return per_value;
    }
}

status write_budget::charge(const json::object& update) {
    return add(approximate_object_bytes(update));
}

status write_budget::charge(const event_input& emitted) {
    std::size_t n = approximate_json_bytes(emitted.payload) + emitted.topic.size() +
                    emitted.key.size() + (emitted.id ? emitted.id->size() : 0);
    for (const auto& [k, v] : emitted.headers) n += k.size() + v.size() + per_value;
    return add(n);
}

status write_budget::add(std::size_t bytes) {
    used += bytes;
    if (used <= limit) return {};
    return fail(errc::invalid_argument,
                "the projector's writes and emits in one transaction exceed " +
                    std::to_string(limit >> 20) +
                    " MiB; a batch that does is applied one event at a time, and an event that "
                    "alone does fails");
}

}  // namespace prom::userproj
