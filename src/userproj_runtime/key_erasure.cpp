#include "userproj_runtime/key_erasure.hpp"

#include <spdlog/spdlog.h>

#include "userproj_runtime/registry.hpp"

namespace prom::userproj {

result<retention::erase_report> erase_topic_key(store& s, std::string_view topic,
                                                std::string_view key) {
    auto done = retention::erase(s, topic, key);
    if (!done) return done;
    // The key is gone already: a failure here is told, not made the erasure's (a second
    // erasure would find nothing to erase and never get here again).
    if (auto ok = withhold_failure_texts(s, topic); !ok) {
        spdlog::warn(
            "erasure of a key of '{}': the projectors' failure notes about the topic "
            "could not be withheld: {}",
            topic, ok.error().message);
    }
    return done;
}

}  // namespace prom::userproj
