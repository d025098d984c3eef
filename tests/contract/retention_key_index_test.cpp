// SQLite's key index under retention (docs/storage-schema.md, "The key index behind the
// log"): deleting events leaves their key_events rows, which no read returns, and a pass
// tidies them before it ends, so the index holds exactly the surviving events' rows; erasure
// takes all of a key's rows. A database of schema 5, whose trigger deleted the rows with
// their events, loses the trigger at open.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "retention/retention.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_key_index.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

constexpr int keys = 40;
constexpr int per_key = 300;  // more than key_index_lag in all: most rows are in key_events
static_assert(std::int64_t{keys} * per_key > storage::sqlite::key_index_lag);

void fill(store& s) {
    for (int round = 0; round < per_key; ++round) {
        std::vector<event_input> batch;
        batch.reserve(keys);
        for (int k = 0; k < keys; ++k) {
            batch.push_back({.topic = "t",
                             .key = "k" + std::to_string(k),
                             .ts = ts_ms{1000 + round * keys + k},
                             .payload = json::object{{"round", round}}});
        }
        auto r = s.append(std::move(batch));
        ASSERT_TRUE(r) << r.error().message;
    }
}

// (rows of key_events, of them without an event) of topic "t".
std::pair<std::int64_t, std::int64_t> key_rows(const std::string& path) {
    auto c = storage::sqlite::connection::open(path, false, 1000);
    EXPECT_TRUE(c);
    if (!c) return {-1, -1};
    auto st = (*c)->prepare(
        "SELECT count(*), coalesce(sum(NOT EXISTS (SELECT 1 FROM events e "
        "WHERE e.topic = k.topic AND e.seq = k.seq)), 0) FROM keys.key_events k WHERE topic = 't'");
    EXPECT_TRUE(st);
    if (!st || st->step() != SQLITE_ROW) return {-1, -1};
    return {st->int64(0), st->int64(1)};
}

// The rows of key_events once the indexer's thread has made its first step, which takes the
// log up to where it is once key_index_lag events are not indexed (sqlite_key_indexer.hpp):
// it runs behind the writer, and on a loaded machine (the test command runs two tests at a
// time) it may not have started when fill() returns.
std::pair<std::int64_t, std::int64_t> key_rows_once_indexed(const std::string& path) {
    constexpr std::int64_t indexed = storage::sqlite::key_index_lag;
    auto rows = key_rows(path);
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
         rows.first < indexed && std::chrono::steady_clock::now() < deadline;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        rows = key_rows(path);
    }
    return rows;
}

TEST(retention_key_index, a_pass_leaves_exactly_the_surviving_events_rows) {
    test::temp_dir dir;
    const std::string path = dir.file("k.db");
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    fill(*s);
    const auto before = key_rows_once_indexed(path);
    EXPECT_GT(before.first, keys * (per_key - 110));
    EXPECT_EQ(before.second, 0);

    auto p = retention::parse_policy("t", *parse_json(R"({"compact":{"horizon":"1d"}})"));
    ASSERT_TRUE(p);
    auto pass = retention::run_pass(*s, "t", *p, {.now = ts_ms{10 * 86'400'000LL}, .pause = {}});
    ASSERT_TRUE(pass) << pass.error().message;
    EXPECT_EQ(pass->compacted, keys * (per_key - 1));

    const auto after = key_rows(path);
    EXPECT_EQ(after.second, 0) << "rows of deleted events left in key_events";
    EXPECT_LE(after.first, keys);
    // Every key still reads its one surviving event.
    for (int k = 0; k < keys; ++k) {
        auto events = s->scan_key_by_time(
            {.topic = "t", .key = "k" + std::to_string(k), .to_ts = ts_ms::max()});
        ASSERT_TRUE(events);
        ASSERT_EQ(events->size(), 1u) << "k" << k;
        EXPECT_EQ(events->front().payload.at("round").as_int64(), per_key - 1);
    }
}

TEST(retention_key_index, deleted_events_rows_are_never_read_and_erasure_takes_them) {
    test::temp_dir dir;
    const std::string path = dir.file("k.db");
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    fill(*s);
    ASSERT_EQ(key_rows_once_indexed(path).second, 0);
    // Delete k0's first 100 events without a record: their rows stay in key_events.
    auto all = s->scan_key_by_time({.topic = "t", .key = "k0", .to_ts = ts_ms::max()});
    ASSERT_TRUE(all);
    std::vector<seq_t> first;
    first.reserve(100);
    for (int i = 0; i < 100; ++i) first.push_back((*all)[static_cast<std::size_t>(i)].seq);
    {
        auto txn = s->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->delete_events("t", first));
        ASSERT_TRUE((*txn)->commit());
    }
    EXPECT_EQ(key_rows(path).second, 100);
    auto left = s->scan_key_by_time({.topic = "t", .key = "k0", .to_ts = ts_ms::max()});
    ASSERT_TRUE(left);
    EXPECT_EQ(left->size(), all->size() - 100);
    EXPECT_EQ(left->front().seq, (*all)[100].seq);

    {
        auto txn = s->begin();
        ASSERT_TRUE(txn);
        auto erased = (*txn)->erase_key("t", "k0");
        ASSERT_TRUE(erased) << erased.error().message;
        EXPECT_EQ(*erased, all->size() - 100);
        ASSERT_TRUE((*txn)->commit());
    }
    auto c = storage::sqlite::connection::open(path, false, 1000);
    ASSERT_TRUE(c);
    auto st =
        (*c)->prepare("SELECT count(*) FROM keys.key_events WHERE topic = 't' AND key = 'k0'");
    ASSERT_TRUE(st);
    ASSERT_EQ(st->step(), SQLITE_ROW);
    EXPECT_EQ(st->int64(0), 0);
}

TEST(retention_key_index, a_schema_5_database_loses_its_trigger_at_open) {
    test::temp_dir dir;
    const std::string path = dir.file("old.db");
    { test::open_or_die("sqlite:" + path, {.durable = false}); }
    {
        auto c = storage::sqlite::connection::open(path, false, 1000);
        ASSERT_TRUE(c);
        // Schema 5 kept key_events in the database file, with this trigger on events.
        ASSERT_TRUE((*c)->exec(
            "CREATE TABLE main.key_events(topic TEXT NOT NULL, key TEXT NOT NULL, "
            "ts INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(topic, key, ts, seq)) "
            "WITHOUT ROWID;"
            "CREATE TRIGGER key_events_follow_deletes AFTER DELETE ON events BEGIN "
            "DELETE FROM key_events WHERE topic = old.topic AND key = old.key AND ts = old.ts "
            "AND seq = old.seq; END; UPDATE meta SET v = '5' WHERE k = 'schema_version'"));
    }
    { test::open_or_die("sqlite:" + path, {.durable = false}); }
    auto c = storage::sqlite::connection::open(path, false, 1000);
    ASSERT_TRUE(c);
    auto st = (*c)->prepare(
        "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'trigger'),"
        " (SELECT v FROM meta WHERE k = 'schema_version')");
    ASSERT_TRUE(st);
    ASSERT_EQ(st->step(), SQLITE_ROW);
    EXPECT_EQ(st->int64(0), 0);
    EXPECT_EQ(st->text(1), "8");
}

}  // namespace
}  // namespace prom
