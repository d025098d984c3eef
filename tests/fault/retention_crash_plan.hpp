// What the retention crash child (retention_child.cpp) does, shared with the test that kills
// it (retention_crash_test.cpp), so that both agree on topics, policies and clocks.
//
// Every run does the whole list again from the start, so a run killed anywhere is resumed by
// the next one; the list is chosen so that any prefix of it, done any number of times, only
// ever drops events the whole list drops (compaction with a growing cutoff; `retain` by age,
// then by count, on a topic that compaction does not touch), so the end state is known.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "retention/retention.hpp"

namespace prom::test::retention_crash {

// The test works in rounds, each on fresh topics (a round ends with a run that completes),
// so that most kills land in the middle of the work rather than after it.
inline std::string compacted_topic(int round) { return "ret.c." + std::to_string(round); }
inline std::string retained_topic(int round) { return "ret.r." + std::to_string(round); }
inline std::string erased_topic(int round) {  // and NAME.dlq
    return "era." + std::to_string(round);
}
inline constexpr const char* owner = "retention-crash-child";
inline constexpr std::size_t batch_events = 4;  // many small transactions: kills land between

// Synthetic clock: events have ts in [1'000'000, 2'000'000).
inline constexpr std::int64_t first_cutoff = 1'400'000;   // compaction, first pass
inline constexpr std::int64_t second_cutoff = 1'700'000;  // compaction, second pass
inline constexpr std::int64_t age_cutoff = 1'350'000;     // retain by age
inline constexpr std::int64_t keep_count = 600;           // then retain by count
inline constexpr std::int64_t now = 2'100'000;

inline retention::policy compact_at(int round, std::int64_t cutoff) {
    retention::policy p;
    p.pattern = compacted_topic(round);
    p.compact = retention::compact_rule{std::chrono::milliseconds(now - cutoff)};
    return p;
}

inline retention::policy retain_by_age(int round) {
    retention::policy p;
    p.pattern = retained_topic(round);
    p.retain = retention::retain_rule{.max_age = std::chrono::milliseconds(now - age_cutoff)};
    return p;
}

inline retention::policy retain_by_count(int round) {
    retention::policy p;
    p.pattern = retained_topic(round);
    p.retain = retention::retain_rule{.max_events = keep_count};
    return p;
}

inline std::vector<std::string> erased_keys() {
    std::vector<std::string> out;
    for (int i = 0; i < 6; ++i) out.push_back("e" + std::to_string(i));
    return out;
}

}  // namespace prom::test::retention_crash
