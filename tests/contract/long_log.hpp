// A SQLite log longer than the key index lag, and what checks it (key_reads_long_log and
// keys_guard tests): the log of topic "t", per-key reads against a filter of the whole log,
// and the keys file's state read straight from the files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "prom/store.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_key_index.hpp"

namespace prom::long_log {

inline constexpr int events_total = 20'000;  // more than twice the lag
static_assert(events_total > 2 * storage::sqlite::key_index_lag);
inline const std::vector<std::string> keys = {"a", "b", "c", "d", "e", "f", "g"};

// Appends `events_total` events over `keys` in batches of 250, with timestamps that go
// back and forth and repeat (so (ts, seq) order is not seq order).
inline void append_long_log(store& s) {
    std::mt19937 rng(11);
    int n = 0;
    while (n < events_total) {
        std::vector<event_input> batch;
        for (int i = 0; i < 250 && n < events_total; ++i, ++n) {
            batch.push_back({.topic = "t",
                             .key = keys[rng() % keys.size()],
                             .ts = ts_ms{1000 + static_cast<std::int64_t>(rng() % 5000)},
                             .payload = n});
        }
        auto ok = s.append(std::move(batch));
        ASSERT_TRUE(ok) << ok.error().message;
    }
}

// What scan_key_by_time must answer: the key's events with ts <= to, in (ts, seq) order.
inline std::vector<event> expected(store& s, const std::string& key, ts_ms to) {
    auto all = s.scan({.topic = "t"});
    EXPECT_TRUE(all);
    std::vector<event> out;
    for (auto& e : *all) {
        if (e.key == key && e.ts <= to) out.push_back(e);
    }
    std::stable_sort(out.begin(), out.end(), [](const event& x, const event& y) {
        return std::pair(x.ts, x.seq) < std::pair(y.ts, y.seq);
    });
    return out;
}

inline std::vector<seq_t> seqs_of(const std::vector<event>& es) {
    std::vector<seq_t> out;
    out.reserve(es.size());
    for (const auto& e : es) out.push_back(e.seq);
    return out;
}

// Every key, whole and in pages of 97, at a few times: the same events as the filter.
inline void expect_key_reads_match(store& s) {
    for (const auto& key : keys) {
        for (ts_ms to : {ts_ms{999}, ts_ms{2500}, ts_ms{6000}}) {
            auto want = seqs_of(expected(s, key, to));
            auto whole = s.scan_key_by_time({.topic = "t", .key = key, .to_ts = to});
            ASSERT_TRUE(whole) << whole.error().message;
            EXPECT_EQ(seqs_of(*whole), want) << key << " to " << to.value;
            std::vector<seq_t> paged;
            std::optional<std::pair<ts_ms, seq_t>> after;
            for (;;) {
                auto page = s.scan_key_by_time(
                    {.topic = "t", .key = key, .after = after, .to_ts = to, .limit = 97});
                ASSERT_TRUE(page) << page.error().message;
                for (auto& e : *page) paged.push_back(e.seq);
                if (page->size() < 97) break;
                after = std::pair(page->back().ts, page->back().seq);
            }
            EXPECT_EQ(paged, want) << key << " to " << to.value << ", paged";
        }
    }
}

// Reads one row of a statement over the database and its keys file.
struct row {
    std::int64_t count, keyed, progress, in_main;
    std::string version;
};
inline row read_state(const std::string& path) {
    auto c = storage::sqlite::connection::open(path, false, 1000);
    EXPECT_TRUE(c);
    auto st = (*c)->prepare(
        "SELECT (SELECT count(*) FROM keys.key_events), (SELECT keyed_seq FROM topics),"
        " COALESCE((SELECT seq FROM keys.key_progress WHERE topic = 't'), 0),"
        " (SELECT count(*) FROM main.sqlite_master WHERE name IN ('key_events',"
        " 'events_by_key_ts')), (SELECT v FROM meta WHERE k = 'schema_version')");
    EXPECT_TRUE(st);
    EXPECT_EQ(st->step(), SQLITE_ROW);
    return {st->int64(0), st->int64(1), st->int64(2), st->int64(3), std::string(st->text(4))};
}

// Waits until the key indexer has brought topic "t" up to `seq` (or 10 s have passed).
inline std::int64_t wait_for_progress(const std::string& path, std::int64_t seq) {
    auto r = read_state(path);
    for (int i = 0; i < 1000 && r.progress < seq; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        r = read_state(path);
    }
    return r.progress;
}

}  // namespace prom::long_log
