// The floor an append is held to (issue 11): the same rows as bench/append_scenarios.hpp's
// batches, inserted by hand with one prepared statement into a table that has only a
// primary key, one transaction per batch, SQLite synchronous=FULL in WAL mode (as prom).
// It does what any application must do for such a row (make the id, serialize the payload)
// and nothing prom adds: no dedupe index, no time or key index, no latest-per-key row, no
// topic counters, no snapshot rule.
#pragma once

#include <sqlite3.h>

#include <string>

#include "append_scenarios.hpp"
#include "bench_util.hpp"

namespace prom::bench {

// `extra_ddl` (run after the table is made) and `latest_per_event` let
// bench/index_cost_bench.cpp price each of prom's indexes on top of the bare row.
inline measured bare_insert_batches(const std::string& path, int batch, double secs,
                                    const char* extra_ddl = "", bool latest_per_event = false) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return {0, -1, 0};
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE rows(topic TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,"
                 " key TEXT NOT NULL, ts INTEGER NOT NULL, payload TEXT NOT NULL,"
                 " headers TEXT NOT NULL, PRIMARY KEY(topic, seq)) WITHOUT ROWID;"
                 "CREATE TABLE latest(topic TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,"
                 " PRIMARY KEY(topic, key)) WITHOUT ROWID",
                 nullptr, nullptr, nullptr);
    sqlite3_exec(db, extra_ddl, nullptr, nullptr, nullptr);
    sqlite3_stmt* lat = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO latest(topic, key, seq) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(topic, key) DO UPDATE SET seq = excluded.seq",
                       -1, &lat, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO rows VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &ins,
                       nullptr);
    long done = 0;
    instructions_from_here();
    auto t0 = std::chrono::steady_clock::now();
    while (seconds_since(t0) < secs) {
        std::vector<event_input> b;
        b.reserve(static_cast<std::size_t>(batch));
        for (int i = 0; i < batch; ++i) b.push_back(one_event(done + i));
        sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        ts_ms now = now_ms();
        for (auto& e : b) {
            std::string id = new_event_id();
            std::string payload = canonical_json(e.payload);
            sqlite3_bind_text(ins, 1, e.topic.data(), static_cast<int>(e.topic.size()),
                              SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, ++done);
            sqlite3_bind_text(ins, 3, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
            sqlite3_bind_text(ins, 4, e.key.data(), static_cast<int>(e.key.size()), SQLITE_STATIC);
            sqlite3_bind_int64(ins, 5, now.value);
            sqlite3_bind_text(ins, 6, payload.data(), static_cast<int>(payload.size()),
                              SQLITE_STATIC);
            sqlite3_bind_text(ins, 7, "{}", 2, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) return {0, -1, 0};
            sqlite3_reset(ins);
            if (latest_per_event) {
                sqlite3_bind_text(lat, 1, e.topic.data(), static_cast<int>(e.topic.size()),
                                  SQLITE_STATIC);
                sqlite3_bind_text(lat, 2, e.key.data(), static_cast<int>(e.key.size()),
                                  SQLITE_STATIC);
                sqlite3_bind_int64(lat, 3, done);
                if (sqlite3_step(lat) != SQLITE_DONE) return {0, -1, 0};
                sqlite3_reset(lat);
            }
        }
        if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return {0, -1, 0};
    }
    double elapsed = seconds_since(t0);
    instructions_until_here("floor", static_cast<double>(done));
    sqlite3_finalize(ins);
    sqlite3_finalize(lat);
    sqlite3_close(db);
    return {static_cast<double>(done), elapsed, 0};
}

}  // namespace prom::bench
