// Erasure leaves no trace of the erased payload in storage (docs/retention.md): on SQLite no
// byte of the database, -wal or -shm file holds it after reclaim_space (and after a
// VACUUM), and new databases are made with auto_vacuum=INCREMENTAL; on PostgreSQL no row of
// any prom table holds it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_url.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class erase_leaves_no_trace : public testing::TestWithParam<test::backend> {
  protected:
    // Many keys and events (large payloads too, so rows move between pages and spill into
    // overflow pages), the victim's events spread among them, snapshots and a key horizon
    // of the victim whose state holds the marker too.
    void fill(store& s) {
        for (int round = 0; round < 40; ++round) {
            std::vector<event_input> batch;
            for (int i = 0; i < 50; ++i) {
                const bool victim = i == round % 50 && round % 3 == 0;
                event_input in;
                in.topic = "people";
                in.key = victim ? "victim" : "k" + std::to_string(i);
                in.ts = ts_ms{round * 100 + i};
                const std::size_t pad = i % 10 == 0 ? 6000 : 200;  // some overflow pages
                in.payload =
                    json::object{{"name", victim ? marker_ : "someone else"},
                                 {"pad", std::string(pad, static_cast<char>('a' + i % 26))}};
                batch.push_back(std::move(in));
            }
            auto r = s.append(std::move(batch));
            ASSERT_TRUE(r) << r.error().message;
        }
        const std::string state = canonical_json(json::object{{"name", marker_}});
        auto snaps = s.put_snapshots("people", "victim", "merge", seq_t{1'000'000},
                                     {{ts_ms{100}, seq_t{1}, 1, state}});
        ASSERT_TRUE(snaps) << snaps.error().message;
        auto txn = s.begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->put_key_horizon("people", {"victim", ts_ms{1}, ts_ms{2}, seq_t{3}}));
        ASSERT_TRUE((*txn)->commit());
    }

    void erase(store& s) {
        auto txn = s.begin();
        ASSERT_TRUE(txn);
        auto n = (*txn)->erase_key("people", "victim");
        ASSERT_TRUE(n) << n.error().message;
        EXPECT_GT(*n, 0u);
        ASSERT_TRUE((*txn)->commit());
    }

    // How often the marker occurs in the bytes of the SQLite database's files.
    std::size_t marker_in_files(const std::string& db) {
        std::size_t n = 0;
        for (const std::string suffix : {"", "-wal", "-shm"}) {
            std::ifstream f(db + suffix, std::ios::binary);
            if (!f) continue;
            std::string bytes((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
            for (auto at = bytes.find(marker_); at != std::string::npos;
                 at = bytes.find(marker_, at + 1)) {
                ++n;
            }
        }
        return n;
    }

    const std::string marker_ = "MARKER-" + new_event_id();
    test::temp_dir dir_;
};

TEST_P(erase_leaves_no_trace, on_sqlite_no_byte_of_the_files_holds_the_payload) {
    if (GetParam().name != "sqlite") GTEST_SKIP() << "SQLite files only";
    const std::string url = GetParam().fresh_url(dir_);
    const std::string path = url.substr(7);
    auto s = test::open_or_die(url, {.durable = false});
    fill(*s);
    ASSERT_TRUE(s->reclaim_space());
    ASSERT_GT(marker_in_files(path), 0u);  // the search finds it while it is there
    erase(*s);
    ASSERT_TRUE(s->reclaim_space());
    EXPECT_EQ(marker_in_files(path), 0u) << "after reclaim_space";
    // The other keys are all there.
    auto sizes = s->topic_sizes();
    ASSERT_TRUE(sizes);
    EXPECT_EQ(sizes->at(0).events, 40 * 50 - 14);
    s.reset();
    {
        auto c = storage::sqlite::connection::open(path, false, 1000);
        ASSERT_TRUE(c);
        ASSERT_TRUE((*c)->exec("VACUUM"));
    }
    EXPECT_EQ(marker_in_files(path), 0u) << "after VACUUM";
}

TEST_P(erase_leaves_no_trace, new_sqlite_databases_vacuum_incrementally) {
    if (GetParam().name != "sqlite") GTEST_SKIP() << "SQLite only";
    const std::string url = GetParam().fresh_url(dir_);
    auto s = test::open_or_die(url, {.durable = false});
    ASSERT_TRUE(s->append({{.topic = "t", .payload = 1}}));
    auto c = storage::sqlite::connection::open(url.substr(7), false, 1000);
    ASSERT_TRUE(c);
    auto st = (*c)->prepare("PRAGMA auto_vacuum");
    ASSERT_TRUE(st);
    ASSERT_EQ(st->step(), SQLITE_ROW);
    EXPECT_EQ(st->int64(0), 2);  // INCREMENTAL
}

TEST_P(erase_leaves_no_trace, on_postgres_no_row_of_any_prom_table_holds_the_payload) {
    if (GetParam().name != "postgres") GTEST_SKIP() << "PostgreSQL only";
    const std::string url = GetParam().fresh_url(dir_);
    auto s = test::open_or_die(url, {.durable = false});
    fill(*s);
    auto t = storage::postgres::parse_pg_url(url);
    ASSERT_TRUE(t);
    auto c = storage::postgres::connection::open(
        t->conninfo, {"SET search_path TO " + storage::postgres::quote_ident(t->schema)});
    ASSERT_TRUE(c) << c.error().message;
    auto tables = (*c)->query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
        "AND table_type = 'BASE TABLE' ORDER BY 1",
        {t->schema});
    ASSERT_TRUE(tables) << tables.error().message;
    ASSERT_GE(tables->size(), 10);
    auto rows_with_marker = [&] {
        std::int64_t n = 0;
        for (int i = 0; i < tables->size(); ++i) {
            const std::string table(tables->text(i, 0));
            auto r =
                (*c)->query_once("SELECT count(*) FROM " + storage::postgres::quote_ident(table) +
                                     " x WHERE strpos(x::text, $1) > 0",
                                 std::vector<storage::postgres::param>{marker_});
            EXPECT_TRUE(r) << r.error().message;
            if (r) n += r->int64(0, 0);
        }
        return n;
    };
    ASSERT_GT(rows_with_marker(), 0);  // the search finds it while it is there
    erase(*s);
    ASSERT_TRUE(s->reclaim_space());
    EXPECT_EQ(rows_with_marker(), 0);
}

INSTANTIATE_TEST_SUITE_P(backends, erase_leaves_no_trace,
                         testing::ValuesIn(test::durable_backends()), test::backend_name);

}  // namespace
}  // namespace prom
