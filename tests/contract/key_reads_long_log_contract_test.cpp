// Per-key reads over a log longer than SQLite's key index lag (storage/sqlite/
// sqlite_key_index.hpp: the index follows the log in steps, readers add the log's tail):
// scan_key_by_time, paged and whole, after deletions and an erasure, against a filter of
// the whole log; every backend. And SQLite's keys file (sqlite_db.hpp, keys_path): a
// database of schema 4 (the key index on events) or 7 (key_events in the database file) gets
// it at open, and one deleted, or left ahead of a database restored from a copy, is filled
// again; with the same answers throughout.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "contract/long_log.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_key_index.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace long_log;

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
    // topic_keys lists the same keys, in pages, in key order.
    std::vector<std::string> paged;
    for (std::string after;;) {
        auto page = s.topic_keys("t", after, 2);
        ASSERT_TRUE(page) << page.error().message;
        paged.insert(paged.end(), page->begin(), page->end());
        if (page->size() < 2) break;
        after = page->back();
    }
    std::vector<std::string> want_keys;
    for (const auto& [key, seq] : want) {
        if (!key.empty()) want_keys.push_back(key);
    }
    EXPECT_EQ(paged, want_keys);
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

TEST_P(key_reads_long_log, topic_keys_pages_in_byte_order_without_the_empty_key) {
    test::temp_dir dir;
    auto s = test::open_or_die(GetParam().fresh_url(dir), {.durable = false});
    std::vector<event_input> batch;
    for (const char* key : {"b", "", "a", "\xc3\xa9", "B", "b", "a1"}) {
        batch.push_back({.topic = "t", .key = key, .payload = 1});
    }
    ASSERT_TRUE(s->append(std::move(batch)));
    auto all = s->topic_keys("t", "", 100);
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(*all, (std::vector<std::string>{"B", "a", "a1", "b", "\xc3\xa9"}));
    auto after_a = s->topic_keys("t", "a", 2);
    ASSERT_TRUE(after_a);
    EXPECT_EQ(*after_a, (std::vector<std::string>{"a1", "b"}));
    auto none = s->topic_keys("nope", "", 100);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
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

void remove_keys_file(const std::string& path) {
    for (const char* tail : {"", "-wal", "-shm"}) {
        std::filesystem::remove(storage::sqlite::keys_path(path) + tail);
    }
}

// Every event's row as `latest` had it before schema 7 (one row per key, always current).
constexpr const char* latest_of_every_key =
    "INSERT OR REPLACE INTO latest(topic, key, seq) SELECT topic, key, max(seq) FROM events "
    "GROUP BY topic, key;";

// A database of the long log as an older prom left it: `latest` current for every key, then
// `sql` run over it, and no keys file.
void make_old_database(const std::string& path, const char* sql) {
    {
        auto s = test::open_or_die("sqlite:" + path, {.durable = false});
        append_long_log(*s);
    }
    {
        auto c = storage::sqlite::connection::open(path, false, 1000);
        ASSERT_TRUE(c) << c.error().message;
        ASSERT_TRUE((*c)->exec(latest_of_every_key));
        ASSERT_TRUE((*c)->exec(sql));
    }
    remove_keys_file(path);
}

// A SQLite database of schema 4 had the index events_by_key_ts on events and no key_events:
// opening it fills key_events from the log, drops the old index, and answers as before.
TEST(key_reads_long_log_sqlite, a_schema_4_database_gets_key_events_at_open) {
    test::temp_dir dir;
    const std::string path = dir.file("old.db");
    ASSERT_NO_FATAL_FAILURE(
        make_old_database(path,
                          "ALTER TABLE topics DROP COLUMN keyed_seq;"
                          "CREATE INDEX events_by_key_ts ON events(topic, key, ts, seq);"
                          "UPDATE meta SET v = '4' WHERE k = 'schema_version'"));
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    expect_key_reads_match(*s);
    expect_latest_matches(*s);
    auto r = read_state(path);
    EXPECT_EQ(r.count, events_total);
    EXPECT_EQ(r.keyed, events_total);
    EXPECT_EQ(r.progress, events_total);
    EXPECT_EQ(r.in_main, 0);
    EXPECT_EQ(r.version, "8");
}

// Schema 7 kept key_events in the database file, behind topics.keyed_seq: opening it moves
// the rows to the keys file with that progress, and drops the table.
TEST(key_reads_long_log_sqlite, a_schema_7_database_moves_key_events_to_the_keys_file) {
    test::temp_dir dir;
    const std::string path = dir.file("old.db");
    ASSERT_NO_FATAL_FAILURE(make_old_database(
        path,
        "CREATE TABLE main.key_events(topic TEXT NOT NULL, key TEXT NOT NULL, "
        "ts INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(topic, key, ts, seq)) "
        "WITHOUT ROWID;"
        "INSERT INTO main.key_events SELECT topic, key, ts, seq FROM events WHERE seq <= 8000;"
        "UPDATE topics SET keyed_seq = 8000;"
        "UPDATE meta SET v = '7' WHERE k = 'schema_version'"));
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    expect_key_reads_match(*s);
    expect_latest_matches(*s);
    auto r = read_state(path);
    EXPECT_EQ(r.in_main, 0);
    EXPECT_EQ(r.version, "8");
    EXPECT_GE(r.progress, 8000);  // the indexer may have gone on since
    EXPECT_EQ(r.count, r.progress);
}

// Appends `n` events to topic `topic` over `keys`, in batches of 200.
void append_few(store& s, const std::string& topic, int n) {
    for (int done = 0; done < n; done += 200) {
        std::vector<event_input> batch;
        batch.reserve(200);
        for (int i = 0; i < 200; ++i) {
            batch.push_back({.topic = topic,
                             .key = keys[static_cast<std::size_t>(i) % keys.size()],
                             .ts = ts_ms{1000 + done + i},
                             .payload = done + i});
        }
        auto ok = s.append(std::move(batch));
        ASSERT_TRUE(ok) << ok.error().message;
    }
}

// A tail shorter than the lag is indexed too once its topic has been quiet for a while
// (key_indexer::quiet_after), so that reads of a log at rest walk none of it.
TEST(key_reads_long_log_sqlite, a_quiet_topics_short_tail_is_indexed) {
    test::temp_dir dir;
    const std::string path = dir.file("db");
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    constexpr int few = 600;
    static_assert(few < storage::sqlite::key_index_lag);
    ASSERT_NO_FATAL_FAILURE(append_few(*s, "t", few));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(wait_for_progress(path, few), few);
    EXPECT_EQ(read_state(path).count, few);
    // Not at the first commit: only after the quiet (less a margin for the clocks).
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
    expect_key_reads_match(*s);
}

// The quiet is each topic's own: a topic at rest is indexed while another is written on.
TEST(key_reads_long_log_sqlite, a_quiet_topic_is_indexed_while_another_is_written) {
    test::temp_dir dir;
    const std::string path = dir.file("db");
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    constexpr int few = 600;
    ASSERT_NO_FATAL_FAILURE(append_few(*s, "t", few));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::int64_t progress = 0;
    for (int n = 0; progress < few && std::chrono::steady_clock::now() < deadline; ++n) {
        auto ok = s->append({{.topic = "hot", .key = "h", .payload = n}});
        ASSERT_TRUE(ok) << ok.error().message;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        progress = read_state(path).progress;
    }
    EXPECT_EQ(progress, few);
}

// Seconds of CPU this process has used.
double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Two stores on one file (as two processes), both appending to one topic: once the tail is
// indexed (by either indexer's quiet pass) both go idle, neither waking over and over for a
// tail that is done. (Guards the quiet rounds against busy loops; the case of a quiet topic
// whose progress another process moved first is not forced here: the other store's pass
// over every topic records that progress before this one's quiet comes.)
TEST(key_reads_long_log_sqlite, two_stores_on_one_file_go_idle_once_a_tail_is_indexed) {
    test::temp_dir dir;
    const std::string path = dir.file("db");
    auto a = test::open_or_die("sqlite:" + path, {.durable = false});
    auto b = test::open_or_die("sqlite:" + path, {.durable = false});
    ASSERT_TRUE(b->append({{.topic = "t", .key = "a", .payload = 0}}));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    constexpr int few = 600;
    ASSERT_NO_FATAL_FAILURE(append_few(*a, "t", few));
    EXPECT_EQ(wait_for_progress(path, few + 1), few + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // every quiet pass is done
    const double before = cpu_seconds();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_LT(cpu_seconds() - before, 0.3) << "an indexer keeps working on a done tail";
}

// The keys file holds nothing that is not in the log: without it, reads walk the log, and
// the indexer fills it again.
TEST(key_reads_long_log_sqlite, a_deleted_keys_file_is_filled_again) {
    test::temp_dir dir;
    const std::string path = dir.file("db");
    {
        auto s = test::open_or_die("sqlite:" + path, {.durable = false});
        append_long_log(*s);
    }
    remove_keys_file(path);
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    expect_key_reads_match(*s);
    EXPECT_EQ(wait_for_progress(path, events_total), events_total);
    EXPECT_EQ(read_state(path).count, events_total);
    expect_key_reads_match(*s);
}

// A database restored from a copy without its keys file's copy: the keys file is ahead of
// it, and its rows name events the database does not have, or different ones. Opening it
// forgets that topic's rows, which the indexer then fills again.
TEST(key_reads_long_log_sqlite, a_keys_file_ahead_of_a_restored_database_is_filled_again) {
    test::temp_dir dir;
    const std::string path = dir.file("db");
    const std::string copy = dir.file("copy");
    {
        auto s = test::open_or_die("sqlite:" + path, {.durable = false});
        append_long_log(*s);
    }
    std::filesystem::copy_file(path, copy);  // closed: the WAL is in the file
    {
        auto s = test::open_or_die("sqlite:" + path, {.durable = false});
        append_long_log(*s);
        EXPECT_GT(wait_for_progress(path, events_total + 1), events_total);
    }
    std::filesystem::copy_file(copy, path, std::filesystem::copy_options::overwrite_existing);
    auto s = test::open_or_die("sqlite:" + path, {.durable = false});
    expect_key_reads_match(*s);
    expect_latest_matches(*s);
    EXPECT_LE(read_state(path).progress, events_total);
}

}  // namespace
}  // namespace prom
