// Per-key reads over a log longer than SQLite's key index lag (storage/sqlite/
// sqlite_key_index.hpp: the index follows the log in steps, readers add the log's tail):
// scan_key_by_time, paged and whole, after deletions and an erasure, against a filter of
// the whole log; every backend. And a SQLite database of schema 4 (the key index on events)
// gets key_events at open, with the same answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "storage/sqlite/sqlite_db.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

constexpr int events_total = 10'000;  // more than twice the lag of 4096
const std::vector<std::string> keys = {"a", "b", "c", "d", "e", "f", "g"};

// Appends `events_total` events over `keys` in batches of 250, with timestamps that go
// back and forth and repeat (so (ts, seq) order is not seq order).
void append_long_log(store& s) {
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
std::vector<event> expected(store& s, const std::string& key, ts_ms to) {
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

std::vector<seq_t> seqs_of(const std::vector<event>& es) {
    std::vector<seq_t> out;
    out.reserve(es.size());
    for (const auto& e : es) out.push_back(e.seq);
    return out;
}

// Every key, whole and in pages of 97, at a few times: the same events as the filter.
void expect_key_reads_match(store& s) {
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

// Each key's latest seq in the whole log (what latest_per_key and a conditional append
// must see), by a filter of the whole log.
std::map<std::string, seq_t> latest_by_filter(store& s) {
    std::map<std::string, seq_t> out;
    auto all = s.scan({.topic = "t"});
    EXPECT_TRUE(all);
    for (auto& e : *all) out[e.key] = e.seq;
    return out;
}

// latest_per_key, and a conditional append of each key: one expecting a wrong seq is refused
// with the key's latest, one expecting that seq is taken (and becomes the key's latest).
void expect_latest_matches(store& s) {
    auto want = latest_by_filter(s);
    auto got = s.latest_per_key("t");
    ASSERT_TRUE(got) << got.error().message;
    std::map<std::string, seq_t> got_by_key;
    for (auto& e : *got) got_by_key[e.key] = e.seq;
    EXPECT_EQ(got_by_key, want);
    for (const auto& [key, seq] : want) {
        std::vector<event_input> wrong;
        wrong.push_back(
            {.topic = "t", .key = key, .payload = 0, .expect_key_seq = seq_t{seq.value - 1}});
        auto refused = s.append(std::move(wrong));
        ASSERT_FALSE(refused) << key;
        ASSERT_TRUE(refused.error().key_seq) << key;
        EXPECT_EQ(*refused.error().key_seq, seq) << key;
        std::vector<event_input> right;
        right.push_back({.topic = "t", .key = key, .payload = 0, .expect_key_seq = seq});
        auto taken = s.append(std::move(right));
        ASSERT_TRUE(taken) << key << ": " << taken.error().message;
    }
}

class key_reads_long_log : public testing::TestWithParam<test::backend> {};

TEST_P(key_reads_long_log, key_reads_see_every_event_after_appends_deletes_and_an_erasure) {
    test::temp_dir dir;
    auto s = test::open_or_die(GetParam().fresh_url(dir), {.durable = false});
    append_long_log(*s);
    expect_key_reads_match(*s);
    expect_latest_matches(*s);

    // Delete every 7th event (some behind the key index, some in the tail), erase a key.
    std::vector<seq_t> gone;
    for (std::int64_t q = 1; q <= events_total; q += 7) gone.push_back(seq_t{q});
    auto txn = s->begin();
    ASSERT_TRUE(txn);
    auto deleted = (*txn)->delete_events("t", gone);
    ASSERT_TRUE(deleted) << deleted.error().message;
    EXPECT_EQ(*deleted, gone.size());
    auto erased = (*txn)->erase_key("t", "c");
    ASSERT_TRUE(erased) << erased.error().message;
    EXPECT_GT(*erased, 0U);
    ASSERT_TRUE((*txn)->commit());
    expect_key_reads_match(*s);
    auto c = s->scan_key_by_time({.topic = "t", .key = "c", .to_ts = ts_ms::max()});
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->empty());
    expect_latest_matches(*s);

    // More appends after the deletions: the index catches up with the log again.
    append_long_log(*s);
    expect_key_reads_match(*s);
    expect_latest_matches(*s);
}

INSTANTIATE_TEST_SUITE_P(backends, key_reads_long_log, testing::ValuesIn(test::contract_backends()),
                         test::backend_name);

// Two stores on one SQLite file, as two processes would be: what one appends to a key's tail
// (and what one deletes there), the other's conditional appends see, though its writer keeps
// the tail's latest seqs in memory (sqlite_latest_tail.hpp).
TEST(key_reads_long_log_sqlite, a_conditional_append_sees_what_another_store_wrote) {
    test::temp_dir dir;
    const std::string url = "sqlite:" + dir.file("shared.db");
    auto a = test::open_or_die(url, {.durable = false});
    auto b = test::open_or_die(url, {.durable = false});
    append_long_log(*a);
    expect_latest_matches(*a);  // a's writer now holds the tail in memory
    auto latest = latest_by_filter(*a);

    std::vector<event_input> other;
    other.push_back({.topic = "t", .key = "a", .payload = 1, .expect_key_seq = latest["a"]});
    auto by_b = b->append(std::move(other));
    ASSERT_TRUE(by_b) << by_b.error().message;
    std::vector<event_input> stale;
    stale.push_back({.topic = "t", .key = "a", .payload = 2, .expect_key_seq = latest["a"]});
    auto refused = a->append(std::move(stale));
    ASSERT_FALSE(refused);
    ASSERT_TRUE(refused.error().key_seq);
    EXPECT_EQ(*refused.error().key_seq, by_b->front().seq);
    expect_latest_matches(*a);

    // b deletes a's latest event of "b" (only the count of the topic's row moves)
    latest = latest_by_filter(*a);
    auto txn = b->begin();
    ASSERT_TRUE(txn);
    ASSERT_TRUE((*txn)->delete_events("t", {latest["b"]}));
    ASSERT_TRUE((*txn)->commit());
    expect_latest_matches(*a);
    expect_latest_matches(*b);
}

// A SQLite database of schema 4 had the index events_by_key_ts on events and no key_events:
// opening it copies the index into key_events, drops the old index, and answers as before.
TEST(key_reads_long_log_sqlite, a_schema_4_database_gets_key_events_at_open) {
    test::temp_dir dir;
    const std::string path = dir.file("old.db");
    {
        auto s = test::open_or_die("sqlite:" + path, {.durable = false});
        append_long_log(*s);
    }
    {
        auto c = storage::sqlite::connection::open(path, false, 1000);
        ASSERT_TRUE(c) << c.error().message;
        ASSERT_TRUE(
            (*c)->exec("DROP TABLE key_events;"
                       "ALTER TABLE topics DROP COLUMN keyed_seq;"
                       "CREATE INDEX events_by_key_ts ON events(topic, key, ts, seq);"
                       "UPDATE meta SET v = '4' WHERE k = 'schema_version'"));
    }
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    expect_key_reads_match(*s);
    auto c = storage::sqlite::connection::open(path, false, 1000);
    ASSERT_TRUE(c);
    auto st = (*c)->prepare(
        "SELECT (SELECT count(*) FROM key_events), (SELECT keyed_seq FROM topics),"
        " (SELECT count(*) FROM sqlite_master WHERE name = 'events_by_key_ts'),"
        " (SELECT v FROM meta WHERE k = 'schema_version')");
    ASSERT_TRUE(st);
    ASSERT_EQ(st->step(), SQLITE_ROW);
    EXPECT_EQ(st->int64(0), events_total);
    EXPECT_EQ(st->int64(1), events_total);
    EXPECT_EQ(st->int64(2), 0);
    EXPECT_EQ(st->text(3), "7");
}

}  // namespace
}  // namespace prom
