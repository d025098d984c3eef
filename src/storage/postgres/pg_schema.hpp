// The PostgreSQL schema (docs/storage-schema.md explains it). Version 1.
//
// Runs with search_path set to the store's schema, under an advisory lock, so that several
// nodes starting at once do not race on CREATE … IF NOT EXISTS.
//
// Text columns that are ordered or compared use COLLATE "C": byte order, as SQLite and the
// memory store, whatever the database's default collation is.
#pragma once

namespace prom::storage::postgres {

inline constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(k text PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS topics(
    name text COLLATE "C" PRIMARY KEY,
    last_seq bigint NOT NULL,
    count bigint NOT NULL);
CREATE TABLE IF NOT EXISTS events(
    topic text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    payload text NOT NULL,
    headers text NOT NULL,
    PRIMARY KEY(topic, seq));
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events(topic, id);
CREATE INDEX IF NOT EXISTS events_by_ts ON events(topic, ts, seq);
CREATE INDEX IF NOT EXISTS events_by_key_ts ON events(topic, key, ts, seq);
CREATE TABLE IF NOT EXISTS latest(
    topic text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY(topic, key));
CREATE TABLE IF NOT EXISTS cursors(
    topic text COLLATE "C" NOT NULL,
    grp text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY(topic, grp));
CREATE TABLE IF NOT EXISTS docs(
    coll text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    body text NOT NULL,
    etag text NOT NULL,
    match jsonb NOT NULL,
    PRIMARY KEY(coll, key));
CREATE INDEX IF NOT EXISTS docs_by_ts ON docs(coll, ts DESC, key);
CREATE TABLE IF NOT EXISTS leases(
    name text COLLATE "C" PRIMARY KEY,
    owner text NOT NULL,
    expires_ms bigint NOT NULL);
INSERT INTO meta(k, v) VALUES('schema_version', '1') ON CONFLICT (k) DO NOTHING;
)sql";

// The lock key (pg_advisory_xact_lock) that serializes schema changes across nodes.
inline constexpr long long schema_lock_key = 0x70726f6d5f736368;  // "prom_sch"

}  // namespace prom::storage::postgres
