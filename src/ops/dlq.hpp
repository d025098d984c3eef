// Dead-letter replay (docs/operations.md): after a fix, give a projector each of its
// dead-lettered events once more.
//
// A projector dead-letters an event of TOPIC into `TOPIC.dlq` (id `<event id>@<group>`, see
// dead_letter_id; the error and its group in `prom-error` and `prom-group`). Replaying an entry
// appends a copy of the original event to TOPIC with an id derived from the entry
// (`dlq-replay:<entry seq>:<original id>`), so replaying the same entry twice appends nothing the
// second time, and the header `prom-replay-group: <group>`: the transactional projectors of every
// other group skip the copy (their cursor moves past it, nothing applied), so only the group that
// dead-lettered it sees it again. A copy that fails again is dead-lettered like any event, with the
// new error, as a new entry that a later replay can take. WebSocket and library subscribers of
// TOPIC do see copies (they carry the headers above).
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom::ops {

inline constexpr std::string_view replay_group_header = "prom-replay-group";

// The id of `e`'s dead letter from `group`: `prom-dl:<seq>@<group>`, with a hash of the
// group when that is too long for an id. One entry per (group, event): a second group failing
// on it files its own entry; the same group dead-lettering it again is still one entry.
std::string dead_letter_id(const event& e, std::string_view group);

struct dead_letter {
    event entry;              // the event in `TOPIC.dlq`
    std::string group;        // prom-group: the group that dead-lettered it
    std::string error;        // prom-error
    std::string original_id;  // the id of the event as first published
    std::optional<seq_t> source_seq;
};

// The entries of `topic`.dlq with a dlq seq above `after`, oldest first; only `group`'s when
// given; at most `max` (the scan stops there). not_found when the topic does not exist.
result<std::vector<dead_letter>> list_dead_letters(
    store& s, std::string_view topic, std::optional<std::string_view> group,
    std::size_t max = std::numeric_limits<std::size_t>::max(), seq_t after = seq_t{});
json::object to_json(const dead_letter& d);

struct dlq_replay_options {
    std::optional<std::string> group;  // only entries of this group
    std::vector<std::string> ids;      // only entries with these ids (entry or original id)
};

struct dlq_replay_outcome {
    std::size_t replayed = 0;  // copies appended
    std::size_t already = 0;   // entries replayed before (their copy exists)
    std::vector<append_result> appended;
};

// Appends the copies in one transaction. invalid_argument when an id names no entry.
result<dlq_replay_outcome> replay_dead_letters(store& s, std::string_view topic,
                                               const dlq_replay_options& o);
json::object to_json(const dlq_replay_outcome& r);

// Whether the transactional projector of `group` skips `e`: a dead-letter copy meant for
// another group. Only the group that failed an event applies its replayed copy.
bool replay_meant_for_other_group(const event& e, std::string_view group);

// Whether a dead letter filed by `entry_group` is among those asked for by `asked`: the same
// group, and for a user-defined projector's first group (`projector.<name>`) also its
// rebuilds' (`projector.<name>@<token>`), so that one replay reaches every version's
// entries; each copy is still applied only by the version that failed it, if it runs.
bool filed_under(std::string_view entry_group, std::string_view asked);

}  // namespace prom::ops
