// Conditional append (event_input::expect_key_seq), the one rule every backend applies.
//
// A backend that appends a batch carrying expectations does, inside its append transaction
// and while no other appender of those topics can commit (the memory store's writer lock,
// SQLite's write transaction, PostgreSQL's locked `topics` rows):
//   1. reads the latest seq of each key in `expected_keys(batch)`: a key whose every event
//      retention dropped is at its key_horizon's base_seq, as time travel reports it (0
//      for a key that never had an event),
//   2. appends the batch as usual,
//   3. calls check_key_expectations with what it read and what the append answered, and
//      rolls the whole batch back when that fails (docs/http-api.md, "Conditional append").
// Checking after the append, against the append's own answer, keeps the rule in one place:
// duplicates (idempotent retries) and several events of one key in a batch are handled here
// and not in each backend's append code.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prom/store.hpp"
#include "storage/common.hpp"

namespace prom::storage {

// (topic, key) -> the key's latest seq before the batch; a key missing here has none (0).
using key_seqs = std::map<std::pair<std::string, std::string>, seq_t, collection_key_less>;

bool has_expectations(const std::vector<event_input>& batch);

// The distinct (topic, key) pairs whose latest seq step 1 must read.
std::vector<std::pair<std::string, std::string>> expected_keys(
    const std::vector<event_input>& batch);

// Step 3: walks the batch in order, as the append numbered it. `appended[i]` answers
// `batch[i]`. A duplicate is skipped (it appended nothing); any other event must find its
// key at its expected seq, and then moves the key to its own seq. The first event that does
// not: errc::conflict with error::key_seq set to the key's seq at that point.
status check_key_expectations(const std::vector<event_input>& batch,
                              const std::vector<append_result>& appended, key_seqs latest_before);

}  // namespace prom::storage
