#include "consistency/collection_writers.hpp"

#include "prom/user_projector.hpp"

namespace prom::consistency {

result<std::vector<cursor_condition>> conditions_for(const std::vector<collection_writer>& writers,
                                                     std::string_view collection,
                                                     const std::vector<after_position>& positions) {
    std::vector<cursor_condition> out;
    for (const auto& p : positions) {
        bool consumed = false;
        for (const auto& w : writers) {
            if (!topic_matches(w.topic_pattern, p.topic)) continue;
            consumed = true;
            out.push_back({w.projector, p.topic, w.group, p.seq});
        }
        if (!consumed) {
            return fail(errc::not_found, "no projector that writes collection '" +
                                             std::string(collection) + "' consumes topic '" +
                                             p.topic + "'");
        }
    }
    return out;
}

}  // namespace prom::consistency
