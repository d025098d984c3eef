// The characters of a topic name (docs/events.md: [A-Za-z0-9._:-]) and the patterns that
// match topics (an exact name, a prefix ending in '*', or '*'): one rule for the event
// check, retention policies and SLO rules, so that a pattern no topic can match ("order. *")
// is refused wherever it is written instead of never firing.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.hpp"

namespace prom {

inline constexpr std::size_t max_topic_bytes = 200;

inline bool valid_topic_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == ':';
}

// Whether some topic can match `pattern`: its characters before an optional final '*' are
// a topic's (the length is the caller's rule).
inline bool topic_pattern_can_match(std::string_view pattern) {
    if (pattern.empty()) return false;
    if (pattern.ends_with('*')) pattern.remove_suffix(1);
    return std::ranges::all_of(pattern, valid_topic_char);
}

// Why `topic` cannot be a topic's name, or nothing: what a publish is refused with, and what
// a read naming such a topic is refused with too (it could only ever answer "nothing").
inline std::optional<std::string> topic_name_problem(std::string_view topic) {
    if (topic.empty()) return "topic must not be empty";
    if (topic.size() > max_topic_bytes) return "topic is longer than 200 bytes";
    if (!std::ranges::all_of(topic, valid_topic_char)) {
        return "topic '" + std::string(topic) + "' may only contain A-Z a-z 0-9 . _ - :";
    }
    return std::nullopt;
}

// Consumer groups: a name a client chooses (any text, "billing", "dash-1") up to 256 bytes,
// room for prom's own ("projector.<name>@<token>", "replay:<topic>"). Unbounded, one
// subscribe stored a megabyte-long cursor name that every /metrics scrape then repeated.
inline constexpr std::size_t max_group_bytes = 256;
inline std::optional<std::string> group_name_problem(std::string_view group) {
    if (group.size() > max_group_bytes) {
        return "a group name is at most 256 bytes; this one is " + std::to_string(group.size());
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
        const auto c = static_cast<unsigned char>(group[i]);
        // C0, DEL, and C1 (U+0080-U+009F: 0xC2 then 0x80-0x9F in UTF-8).
        const bool c1 = c == 0xC2 && i + 1 < group.size() &&
                        static_cast<unsigned char>(group[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(group[i + 1]) <= 0x9F;
        if (c < 0x20 || c == 0x7f || c1) return "a group name has no control characters";
    }
    if (valid_utf8(group) != group) return "a group name is UTF-8 text";
    return std::nullopt;
}

}  // namespace prom
