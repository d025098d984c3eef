// The SQLite schema (docs/storage-schema.md explains it). Version 8 (2: the change log;
// 3: cursors.acked_ms; 4: retention, topics.horizon_ms and key_horizons; 5: the key index
// as the table key_events, filled behind the log: topics.keyed_seq; 6: deleting an event
// leaves its key_events row for the key's record to tidy, sqlite_retention.cpp; 7: `latest`
// follows the log in the same steps, readers add the tail; no table changes; 8: key_events
// moves to the keys file, filled by a thread of its own, with its progress in key_progress).
#pragma once

namespace prom::storage::sqlite {

inline constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics(
    name TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    horizon_ms INTEGER NOT NULL DEFAULT 0,
    keyed_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
    topic TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    payload TEXT NOT NULL,
    headers TEXT NOT NULL,
    PRIMARY KEY(topic, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events(topic, id);
-- Schema 5 deleted an event's key row with it, one page per event in whatever order
-- retention deleted them; now retention's deletes leave the rows (readers join them to their
-- events) and put_key_horizon tidies each key's in key order (sqlite_retention.cpp).
DROP TRIGGER IF EXISTS key_events_follow_deletes;
-- No query chose it (a ts range of `scan` walks the primary key in seq order, as it must
-- answer in seq order) and every append paid for it: dropped from databases made before.
DROP INDEX IF EXISTS events_by_ts;
-- Each key's latest seq up to topics.keyed_seq, written in the key index's steps (schema 7);
-- a later event of the key is in the log's tail, where readers look too.
CREATE TABLE IF NOT EXISTS latest(
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY(topic, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors(
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    seq INTEGER NOT NULL,
    acked_ms INTEGER,
    PRIMARY KEY(topic, grp)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs(
    coll TEXT NOT NULL,
    key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    body TEXT NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY(coll, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_by_ts ON docs(coll, ts DESC, key);
CREATE TABLE IF NOT EXISTS leases(
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_ms INTEGER NOT NULL) WITHOUT ROWID;
-- Time-travel snapshots (docs/time-travel.md), a cache. The key starts (topic, key) rather
-- than (topic, reducer): the append path drops one key's snapshots of every reducer.
CREATE TABLE IF NOT EXISTS snapshots(
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    reducer TEXT NOT NULL,
    ts INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY(topic, key, reducer, ts, seq)) WITHOUT ROWID;
-- The append rule's DELETE seeks here: a range over ts, whatever the number of snapshots.
CREATE INDEX IF NOT EXISTS snapshots_by_ts ON snapshots(topic, key, ts);
-- The change log of each collection (storage/change_log.hpp, docs/watches.md): the head
-- row holds a collection's last change seq; a change with a NULL body is a deletion.
CREATE TABLE IF NOT EXISTS change_heads(
    coll TEXT PRIMARY KEY,
    seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes(
    coll TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    body TEXT,
    etag TEXT,
    PRIMARY KEY(coll, seq)) WITHOUT ROWID;
-- What retention dropped of each key (store.hpp, key_horizon; docs/retention.md).
CREATE TABLE IF NOT EXISTS key_horizons(
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    gone_from INTEGER NOT NULL,
    base_ts INTEGER NOT NULL,
    base_seq INTEGER NOT NULL,
    PRIMARY KEY(topic, key)) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(k, v) VALUES('schema_version', '8');
UPDATE meta SET v = '8' WHERE k = 'schema_version' AND CAST(v AS INTEGER) < 8;
)sql";
// Whether the database is at this schema's version (sqlite_schema_current.cpp): the version
// above, kept with it.
inline constexpr const char* current_version_sql =
    "SELECT 1 FROM main.meta WHERE k = 'schema_version' AND v = '8'";

// The keys file (sqlite_db.hpp, keys_path), attached as `keys` to every connection.
inline constexpr const char* keys_schema_sql = R"sql(
-- The per-key index (time travel, erasure), a table that the key indexer fills behind the
-- log (sqlite_key_indexer.hpp): every event of a topic with seq <= its key_progress.seq has
-- its row here, later ones are found by walking the log's tail. An index on events instead
-- dirtied one page per key in every transaction (docs/benchmarks.md, "The key index behind
-- the log"); filling it in the appending transaction was a third of the writer's work
-- ("The key index off the writer's thread").
CREATE TABLE IF NOT EXISTS keys.key_events(
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY(topic, key, ts, seq)) WITHOUT ROWID;
-- How far key_events holds each topic's log (no row: nothing yet).
CREATE TABLE IF NOT EXISTS keys.key_progress(
    topic TEXT PRIMARY KEY,
    seq INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// Version 8: key_events of a database made before moves to the keys file, with its topics'
// keyed_seq as their progress (a topic the keys file already has progress for keeps it: a
// prom of schema 7 opened the file in between and made the table again). Then, whatever the
// version: a keys file ahead of its database (the database restored from a copy without
// it) forgets the topics it is ahead for, which the indexer then fills again.
inline constexpr const char* has_main_key_events_sql =
    "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'key_events'";
inline constexpr const char* move_key_events_sql =
    "INSERT OR IGNORE INTO keys.key_events(topic, key, ts, seq) "
    "SELECT topic, key, ts, seq FROM main.key_events;"
    "INSERT OR IGNORE INTO keys.key_progress(topic, seq) SELECT name, keyed_seq FROM topics;"
    "DROP TABLE main.key_events";
#define PROM_KEYS_AHEAD                                                    \
    "(SELECT p.topic FROM keys.key_progress p LEFT JOIN main.topics t ON " \
    "t.name = p.topic WHERE t.last_seq IS NULL OR p.seq > t.last_seq)"
inline constexpr const char* forget_keys_ahead_sql =
    "DELETE FROM keys.key_events WHERE topic IN " PROM_KEYS_AHEAD
    ";"
    "DELETE FROM keys.key_progress WHERE topic IN " PROM_KEYS_AHEAD;

// Also after a schema-4 prom opened the file and made this index again (migrate_in_txn).
inline constexpr const char* dropped_at_open_sql = "DROP INDEX IF EXISTS events_by_key_ts";

// Databases made before `cursors.acked_ms` existed get the column (NULL: never acked since).
// SQLite has no ADD COLUMN IF NOT EXISTS, so init() asks table_info first (sqlite_ops.cpp).
inline constexpr const char* has_cursor_ack_time_sql =
    "SELECT 1 FROM pragma_table_info('cursors') WHERE name = 'acked_ms'";
inline constexpr const char* add_cursor_ack_time_sql =
    "ALTER TABLE cursors ADD COLUMN acked_ms INTEGER";

// Version 4: databases made before retention get the topic horizon (0: none).
inline constexpr const char* has_topic_horizon_sql =
    "SELECT 1 FROM pragma_table_info('topics') WHERE name = 'horizon_ms'";
inline constexpr const char* add_topic_horizon_sql =
    "ALTER TABLE topics ADD COLUMN horizon_ms INTEGER NOT NULL DEFAULT 0";

// Version 5: a database made before gets topics.keyed_seq, and key_events is filled from its
// events (read in key order from the old index; migrate_in_txn then drops that index).
inline constexpr const char* has_keyed_seq_sql =
    "SELECT 1 FROM pragma_table_info('topics') WHERE name = 'keyed_seq'";
inline constexpr const char* add_keyed_seq_sql =
    "ALTER TABLE topics ADD COLUMN keyed_seq INTEGER NOT NULL DEFAULT 0;"
    "INSERT OR IGNORE INTO keys.key_events(topic, key, ts, seq) "
    "SELECT topic, key, ts, seq FROM events;"
    "UPDATE topics SET keyed_seq = last_seq;"
    "INSERT OR REPLACE INTO keys.key_progress(topic, seq) SELECT name, last_seq FROM topics";

}  // namespace prom::storage::sqlite
