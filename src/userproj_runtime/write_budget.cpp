#include "userproj_runtime/write_budget.hpp"

#include <string>

#include "core/json_size.hpp"

namespace prom::userproj {

namespace {

constexpr std::size_t per_header = 8;

}  // namespace

status write_budget::charge(const json::object& update) { return add(measure_json(update).bytes); }

status write_budget::charge(const event_input& emitted) {
    std::size_t n = measure_json(emitted.payload).bytes + emitted.topic.size() +
                    emitted.key.size() + (emitted.id ? emitted.id->size() : 0);
    for (const auto& [k, v] : emitted.headers) n += k.size() + v.size() + per_header;
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
