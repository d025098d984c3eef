// The per-key index of the SQLite log, kept behind it (docs/storage-schema.md, `key_events`).
//
// An index on events(topic, key, ts, seq) put one entry per event into the key's own place,
// so a transaction of events to 1000 keys dirtied and wrote about 1000 index pages, whatever
// its size (docs/benchmarks.md, "The key index behind the log"). Instead the writer copies
// the log's new rows into `key_events` once a topic's log is `key_index_lag` events ahead of
// it (`topics.keyed_seq`), in the appending transaction: each key's page is then written once
// per copy instead of once per transaction. Readers see every event of a key as the rows of
// `key_events` (seq <= keyed_seq) plus the log's tail (seq > keyed_seq), which they walk; the
// two never overlap, and both are read in one statement, so in one snapshot.
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/sqlite/sqlite_db.hpp"

namespace prom::storage::sqlite {

// How far a topic's log runs ahead of key_events. Larger: fewer page writes per appended
// event, and a longer tail that each per-key read walks (at most this many rows).
inline constexpr std::int64_t key_index_lag = 4096;

// In a statement with the topic bound to ?1: the condition that selects the log's tail.
#define PROM_KEY_TAIL "seq > (SELECT keyed_seq FROM topics WHERE name = ?1)"

// In a statement with the topic bound to ?1 and the key to ?2: the seqs of the key's events.
#define PROM_KEY_SEQS                                                     \
    "SELECT seq FROM key_events WHERE topic = ?1 AND key = ?2 UNION ALL " \
    "SELECT seq FROM events WHERE topic = ?1 AND " PROM_KEY_TAIL " AND key = ?2"

// Copies the key rows of `topic`'s events with a seq above `keyed` into key_events, and each
// of their keys' greatest seq into `latest` (which follows the log in the same steps), inside
// the open write transaction; the caller then records the topic's last seq as keyed_seq.
status index_keys_in_txn(connection& c, std::string_view topic, seq_t keyed);

}  // namespace prom::storage::sqlite
