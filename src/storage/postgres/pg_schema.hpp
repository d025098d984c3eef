// The PostgreSQL schema (docs/storage-schema.md explains it). Version 7 (2: the change log;
// 3: cursors.acked_ms; 4: prom_append's NOTIFY names the topics it appended to; 5: retention,
// topics.horizon_ms, key_horizons and prom_append's horizon check; 6: prom_append plans
// index probes whatever the tables' statistics say; 7: ids are looked up through an index
// that starts with `id`, events_by_id_topic, which replaces events_by_id).
//
// Runs with search_path set to the store's schema, under an advisory lock, so that several
// nodes starting at once do not race on CREATE … IF NOT EXISTS; and only when the schema's
// recorded version differs from schema_version, so that a node with a user that may only
// read and write (no CREATE) can open a prepared schema, and starting a node changes no
// catalog. CHANGE ANYTHING HERE → bump schema_version (and the value in the INSERT below).
//
// Text columns that are ordered or compared use COLLATE "C": byte order, as SQLite and the
// memory store, whatever the database's default collation is.
#pragma once

#include <string_view>

namespace prom::storage::postgres {

inline constexpr const char* schema_sql =
    R"sql(
CREATE TABLE IF NOT EXISTS meta(k text PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS topics(
    name text COLLATE "C" PRIMARY KEY,
    last_seq bigint NOT NULL,
    count bigint NOT NULL);
-- Version 5: the topic's retention horizon (topic_info::horizon; 0: none).
ALTER TABLE topics ADD COLUMN IF NOT EXISTS horizon_ms bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS events(
    topic text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    payload text NOT NULL,
    headers text NOT NULL,
    PRIMARY KEY(topic, seq));
-- Version 7: the id index starts with `id`, and the id lookups compare the topic through
-- an expression (`topic || ''`) that no index serves. With the old (topic, id) index, after
-- an ANALYZE of a nearly empty log every index starting with `topic` looked as cheap as the
-- id index, and the plan could take one of them and read the whole topic for each input row
-- (docs/storage-schema.md). Built before the old one goes, so ids stay unique throughout.
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id_topic ON events(id, topic);
DROP INDEX IF EXISTS events_by_id;
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
-- Version 2: the time of the last ack (docs/operations.md); NULL in rows from before it.
ALTER TABLE cursors ADD COLUMN IF NOT EXISTS acked_ms bigint;
CREATE TABLE IF NOT EXISTS docs(
    coll text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    body text NOT NULL,
    etag text NOT NULL,
    match jsonb NOT NULL,
    PRIMARY KEY(coll, key));
CREATE INDEX IF NOT EXISTS docs_by_ts ON docs(coll, ts DESC, key);
-- The change log of each collection (storage/change_log.hpp, docs/watches.md): a commit
-- locks its collections' head rows, so seqs follow commit order; NULL body: a deletion.
CREATE TABLE IF NOT EXISTS change_heads(
    coll text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL);
CREATE TABLE IF NOT EXISTS changes(
    coll text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    key text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    body text,
    etag text,
    PRIMARY KEY(coll, seq));
CREATE TABLE IF NOT EXISTS leases(
    name text COLLATE "C" PRIMARY KEY,
    owner text NOT NULL,
    expires_ms bigint NOT NULL);
-- Time-travel snapshots (docs/time-travel.md): keyed (topic, key, …) because the append
-- path drops one key's snapshots of every reducer.
CREATE TABLE IF NOT EXISTS snapshots(
    topic text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    reducer text COLLATE "C" NOT NULL,
    ts bigint NOT NULL,
    seq bigint NOT NULL,
    count bigint NOT NULL,
    state text NOT NULL,
    PRIMARY KEY(topic, key, reducer, ts, seq));
-- The append rule's DELETE seeks here: a range over ts, whatever the number of snapshots.
CREATE INDEX IF NOT EXISTS snapshots_by_ts ON snapshots(topic, key, ts);
-- Version 5: what retention dropped of each key (store.hpp, key_horizon; docs/retention.md).
CREATE TABLE IF NOT EXISTS key_horizons(
    topic text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    gone_from bigint NOT NULL,
    base_ts bigint NOT NULL,
    base_seq bigint NOT NULL,
    PRIMARY KEY(topic, key));
INSERT INTO meta(k, v) VALUES('schema_version', '7')
    ON CONFLICT (k) DO UPDATE SET v = excluded.v;
)sql"
    // prom_append: one batch, in the caller's transaction (or alone, as its own), in one round
    // trip. Why each step is where it is: see pg_append.cpp. Each statement of a PL/pgSQL
    // function takes a fresh snapshot under READ COMMITTED, so the id lookup after the lock
    // sees every event committed by whoever held the lock before us. Returns one row per
    // input, in input order: the seq and ts to report and whether it was a duplicate.
    //
    // The horizon rule (store.hpp, raise_horizon): the statement that locks the topics rows
    // also reads their horizons, so a batch whose topics have none pays one comparison. Else
    // a new event (not a duplicate of a stored one or of an earlier input) below its topic's
    // horizon fails the whole batch with SQLSTATE PR410, DETAIL [topic, ts, horizon] (JSON),
    // which the C++ side turns into errc::gone (pg_connection.cpp).
    R"sql(
CREATE OR REPLACE FUNCTION prom_append(
    p_topic text[], p_id text[], p_key text[], p_ts bigint[], p_payload text[],
    p_headers text[], p_channel text)
RETURNS TABLE(r_seq bigint, r_ts bigint, r_dup boolean)
LANGUAGE plpgsql
-- Custom plans for array arguments cost more to make than to run (their estimates differ
-- from the generic plan's, so PostgreSQL would keep re-planning); the generic plan is the
-- right one for any batch size: index probes per row.
SET plan_cache_mode = force_generic_plan
-- A session plans these statements once, and a log that starts empty has no statistics
-- yet: the plan then reads the whole of events (the id lookup) and of snapshots (the append
-- rule) for every batch, until an ANALYZE replaces it, so the append slowed down as the log
-- grew (4,400 events/s after 20 s against 19,400 with this; docs/benchmarks.md). Every
-- statement here reads a few rows by key, which an index probe answers at any size.
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
    locked bigint;
    horizon bigint;
    gone record;
BEGIN
    SELECT count(*), COALESCE(max(l.h), 0) INTO locked, horizon
    FROM (SELECT horizon_ms AS h FROM topics WHERE name = ANY(p_topic) ORDER BY name
          FOR UPDATE) l;
    IF locked < (SELECT count(DISTINCT n) FROM unnest(p_topic) AS n) THEN
        -- A new topic: make its row (waiting for a concurrent creator, if any), lock again.
        INSERT INTO topics(name, last_seq, count)
            SELECT DISTINCT n, 0, 0 FROM unnest(p_topic) AS n ORDER BY 1
            ON CONFLICT ON CONSTRAINT topics_pkey DO NOTHING;
        SELECT COALESCE(max(l.h), 0) INTO horizon
        FROM (SELECT horizon_ms AS h FROM topics WHERE name = ANY(p_topic) ORDER BY name
              FOR UPDATE) l;
    END IF;
    IF horizon > 0 THEN
        SELECT x.topic, x.ts, t.horizon_ms AS h INTO gone
        FROM unnest(p_topic, p_id, p_ts) WITH ORDINALITY AS x(topic, id, ts, ord)
        JOIN topics t ON t.name = x.topic
        WHERE x.ts < t.horizon_ms
          -- A scalar subquery, not EXISTS: it stays one probe per row (an EXISTS may be
          -- planned as a join that reads events whole; the lookup itself: `stored` below).
          AND (SELECT e.seq FROM events e WHERE e.id = x.id AND e.topic || '' = x.topic
               LIMIT 1) IS NULL
          AND NOT EXISTS (SELECT 1 FROM unnest(p_topic, p_id) WITH ORDINALITY
                              AS y(topic, id, ord)
                          WHERE y.topic = x.topic AND y.id = x.id AND y.ord < x.ord)
        ORDER BY x.ord LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'topic %: event ts % is below the topic''s horizon %',
                quote_literal(gone.topic), gone.ts, gone.h
                USING ERRCODE = 'PR410',
                      DETAIL = json_build_array(gone.topic, gone.ts, gone.h)::text;
        END IF;
    END IF;
    RETURN QUERY
    WITH input AS (
        SELECT x.* FROM unnest(p_topic, p_id, p_key, p_ts, p_payload, p_headers)
            WITH ORDINALITY AS x(topic, id, key, ts, payload, headers, ord)),
    -- One probe of events_by_id_topic per input row: a LATERAL with LIMIT is never turned
    -- into a join that reads events first, and `topic || ''` leaves no index starting with
    -- `topic` a condition to use (schema version 7, above).
    stored AS (
        SELECT x.ord, e.seq, e.ts FROM input x
        CROSS JOIN LATERAL (SELECT e.seq, e.ts FROM events e
                            WHERE e.id = x.id AND e.topic || '' = x.topic LIMIT 1) e),
    fresh AS (
        SELECT DISTINCT ON (x.topic, x.id) x.* FROM input x
        WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.ord = x.ord)
        ORDER BY x.topic, x.id, x.ord),
    numbered AS (
        SELECT f.*, t.last_seq + row_number() OVER (PARTITION BY f.topic ORDER BY f.ord) AS seq
        FROM fresh f JOIN topics t ON t.name = f.topic),
    ins AS (
        INSERT INTO events(topic, seq, id, key, ts, payload, headers)
        SELECT n.topic, n.seq, n.id, n.key, n.ts, n.payload, n.headers FROM numbered n),
    lat AS (
        INSERT INTO latest(topic, key, seq)
        SELECT DISTINCT ON (n.topic, n.key) n.topic, n.key, n.seq FROM numbered n
        ORDER BY n.topic, n.key, n.seq DESC
        ON CONFLICT ON CONSTRAINT latest_pkey DO UPDATE SET seq = excluded.seq),
    upd AS (
        UPDATE topics t SET last_seq = m.last_seq, count = t.count + m.n
        FROM (SELECT n.topic, max(n.seq) AS last_seq, count(*) AS n
              FROM numbered n GROUP BY n.topic) m
        WHERE t.name = m.topic),
    -- The snapshot append rule (store.hpp): a late event invalidates the key's snapshots
    -- with a greater ts, of every reducer.
    snap AS (
        DELETE FROM snapshots s
        USING (SELECT n.topic, n.key, min(n.ts) AS ts FROM numbered n GROUP BY n.topic, n.key) m
        WHERE s.topic = m.topic AND s.key = m.key AND s.ts > m.ts)
    SELECT COALESCE(s.seq, n.seq), COALESCE(s.ts, n.ts),
           s.seq IS NOT NULL OR n.ord <> x.ord
    FROM input x
    LEFT JOIN stored s ON s.ord = x.ord
    LEFT JOIN numbered n ON s.ord IS NULL AND n.topic = x.topic AND n.id = x.id
    ORDER BY x.ord;
    -- The topics this append grew, so that waiters on other nodes wake only theirs
    -- (on_remote_commit in pg_store.cpp); null when they would not fit in one NOTIFY.
    PERFORM pg_notify(p_channel, CASE WHEN length(j) < 7900 THEN j
                                      ELSE '{"appended":null}' END)
    FROM (SELECT json_build_object('appended', json_agg(json_build_array(t.name, t.last_seq)))::text AS j
          FROM topics t WHERE t.name = ANY(p_topic)) q;
END
$fn$;
)sql";

inline constexpr std::string_view schema_version = "7";

// The lock key (pg_advisory_xact_lock) that serializes schema changes across nodes.
inline constexpr long long schema_lock_key = 0x70726f6d5f736368;  // "prom_sch"

}  // namespace prom::storage::postgres
