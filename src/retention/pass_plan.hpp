// What a retention or compaction pass drops (docs/retention.md), planned from the topic's
// events' positions only (no payloads), so a test can check the rules without a store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "retention/retention.hpp"

namespace prom::retention {

// One event as planning sees it. `key` indexes topic_index::keys; keyless events have none.
struct event_ref {
    seq_t seq{};
    ts_ms ts{};
    std::optional<std::uint32_t> key;
};

struct topic_index {
    std::vector<std::string> keys;
    std::vector<event_ref> events;  // in seq order
};

using position = std::pair<ts_ms, seq_t>;

// What the pass drops of one key: `gone_from` and `base` make its key_horizon.
struct key_drops {
    std::string key;
    std::vector<seq_t> seqs;  // ascending
    std::int64_t retained_out = 0;
    std::int64_t compacted = 0;
    ts_ms gone_from{};
    position base{};
};

struct pass_plan {
    std::vector<key_drops> keys;  // in key order
    std::vector<seq_t> keyless;   // ascending; only `retain` drops them
    std::int64_t retained_out = 0;
    std::int64_t compacted = 0;
    std::optional<ts_ms> greatest_ts;  // of the dropped events; none when nothing goes

    std::int64_t dropped() const { return retained_out + compacted; }
    std::vector<seq_t> all_seqs() const;  // ascending
};

// `retain` drops the longest seq-order prefix whose events are all older than now - max_age,
// or the oldest events beyond max_events, whichever is longer. `compact` then looks at each
// key's remaining events older than now - horizon and drops all but the last of them in
// (ts, seq) order and the key's latest (by seq). Keyless events are no key's: only `retain`
// drops them. With `keep_after`, no event with a greater seq is dropped (behind = wait). The
// `retain` prefix also stops at the first event with ts > now, so the horizon (the greatest
// dropped ts) never passes the clock.
pass_plan plan_pass(const topic_index& index, const policy& p, ts_ms now,
                    std::optional<seq_t> keep_after);

}  // namespace prom::retention
