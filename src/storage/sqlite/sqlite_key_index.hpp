// The per-key index of the SQLite log and `latest`, both kept behind the log
// (docs/storage-schema.md, `key_events` and `latest`).
//
// An index on events(topic, key, ts, seq) put one entry per event into the key's own place,
// so a transaction of events to 1000 keys dirtied and wrote about 1000 index pages, whatever
// its size (docs/benchmarks.md, "The key index behind the log"). Instead `key_events`, in a
// file of its own (sqlite_db.hpp, keys_path), is filled from the log by the key indexer's
// thread (sqlite_key_indexer.hpp) once a topic's log is `key_index_lag` events ahead of it
// (`keys.key_progress`): each key's page is written once per step, and the writer does none
// of it. Readers see every event of a key as the rows of `key_events` (seq <= the progress)
// plus the log's tail (seq > the progress), which they walk; both are read in one statement.
// The two files are not read at one instant, and need not be: a row names an event by its
// seq and is joined to it, so a row of an event that the statement's view of the log does
// not have yet adds nothing, and a tail read from an older progress starts where that
// progress's rows end.
//
// `latest` stays in the database file, in the writer's transactions, because readers take
// its rows as they are (a row is the key's latest seq): the append that reaches
// `key_index_lag` past topics.keyed_seq also upserts each tail key's greatest seq.
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/sqlite/sqlite_db.hpp"

namespace prom::storage::sqlite {

// How far a topic's log runs ahead of key_events and of `latest` before they are brought up
// to it. Larger: fewer page writes per appended event, and a longer tail that each per-key
// read walks (at most about this many rows). A step writes about one page per key it
// touches however many events it covers, so 8192 halves what 4096 wrote per event (bytes
// written per event -24%, batches of 1000 to 1000 keys 0.48x -> 0.50x the bare INSERT), while
// a per-key read that finds the tail at its longest walks ~0.5 ms instead of ~0.25 ms
// (docs/benchmarks.md, "A longer step for the key index"). A topic that goes quiet has its
// tail indexed anyway (key_indexer::quiet_after), so the long walks are only met while the
// topic is being written.
inline constexpr std::int64_t key_index_lag = 8192;

// In a statement with the topic bound to ?1: the condition that selects the log's tail past
// `latest` (topics.keyed_seq).
#define PROM_KEY_TAIL "seq > (SELECT keyed_seq FROM topics WHERE name = ?1)"

// In a statement with the topic bound to ?1: the condition that selects the log's tail past
// key_events.
#define PROM_INDEXED_TAIL "seq > COALESCE((SELECT seq FROM keys.key_progress WHERE topic = ?1), 0)"

// In a statement with the topic bound to ?1 and the key to ?2: the seqs of the key's events
// (and of deleted ones whose rows are left: join them to `events`).
#define PROM_KEY_SEQS                                                          \
    "SELECT seq FROM keys.key_events WHERE topic = ?1 AND key = ?2 UNION ALL " \
    "SELECT seq FROM events WHERE topic = ?1 AND " PROM_INDEXED_TAIL " AND key = ?2"

// Upserts into `latest` each key's greatest seq among `topic`'s events above `keyed`, inside
// the open write transaction; the caller then records the topic's last seq as keyed_seq.
status step_latest_in_txn(connection& c, std::string_view topic, seq_t keyed);

// Copies the key rows of `topic`'s events in (from, to] into keys.key_events and records `to`
// as the topic's progress, inside an open transaction that holds the keys file's write lock.
status index_keys_in_txn(connection& c, std::string_view topic, seq_t from, seq_t to);

}  // namespace prom::storage::sqlite
