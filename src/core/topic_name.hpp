// The characters of a topic name (docs/events.md: [A-Za-z0-9._:-]) and the patterns that
// match topics (an exact name, a prefix ending in '*', or '*'): one rule for the event
// check, retention policies and SLO rules, so that a pattern no topic can match ("order. *")
// is refused wherever it is written instead of never firing.
#pragma once

#include <algorithm>
#include <string_view>

namespace prom {

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

}  // namespace prom
