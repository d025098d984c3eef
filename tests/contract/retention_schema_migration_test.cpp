// A database made before retention (SQLite schema 3, PostgreSQL schema 4) opens, gets the
// topic horizon (0: none) and the key_horizons table, keeps its events, and then refuses
// events below a raised horizon: SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_url.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

// Turns the database at `url` back into the shape it had before retention.
void drop_retention_schema(const std::string& url) {
    if (url.starts_with("sqlite:")) {
        auto c = storage::sqlite::connection::open(url.substr(7), false, 1000);
        ASSERT_TRUE(c) << c.error().message;
        ASSERT_TRUE(
            (*c)->exec("ALTER TABLE topics DROP COLUMN horizon_ms; DROP TABLE key_horizons; "
                       "UPDATE meta SET v = '3' WHERE k = 'schema_version'"));
        return;
    }
    auto t = storage::postgres::parse_pg_url(url);
    ASSERT_TRUE(t);
    auto c = storage::postgres::connection::open(
        t->conninfo, {"SET search_path TO " + storage::postgres::quote_ident(t->schema)});
    ASSERT_TRUE(c) << c.error().message;
    // prom_append of version 5 reads horizon_ms: dropping the column leaves it broken until
    // the upgrade replaces it, as a version-4 function would be.
    auto r = (*c)->exec(
        "ALTER TABLE topics DROP COLUMN horizon_ms; DROP TABLE key_horizons; "
        "UPDATE meta SET v = '4' WHERE k = 'schema_version'");
    ASSERT_TRUE(r) << r.error().message;
}

class retention_schema_migration : public testing::TestWithParam<test::backend> {};

TEST_P(retention_schema_migration, an_old_database_gets_the_horizon_and_key_horizons) {
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    {
        auto s = test::open_or_die(url, {.durable = false});
        ASSERT_TRUE(s->append({{.topic = "t", .key = "k", .ts = ts_ms{100}, .payload = 1},
                               {.topic = "t", .key = "k", .ts = ts_ms{200}, .payload = 2}}));
    }
    drop_retention_schema(url);
    auto s = test::open_or_die(url, {.durable = false});
    auto t = s->topic("t");
    ASSERT_TRUE(t && *t) << (t ? "no topic" : t.error().message);
    EXPECT_EQ((*t)->count, 2);
    EXPECT_EQ((*t)->last_seq, 2);
    EXPECT_EQ((*t)->horizon, 0);
    auto hs = s->key_horizons("t");
    ASSERT_TRUE(hs) << hs.error().message;
    EXPECT_TRUE(hs->empty());
    // Appends work (on PostgreSQL: prom_append was replaced) and the horizon applies.
    ASSERT_TRUE(s->append({{.topic = "t", .key = "k", .ts = ts_ms{300}, .payload = 3}}));
    auto h = s->raise_horizon("t", ts_ms{250});
    ASSERT_TRUE(h) << h.error().message;
    auto late = s->append({{.topic = "t", .key = "k", .ts = ts_ms{240}, .payload = 4}});
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, errc::gone);
    {
        // A transaction must not outlive its store (it returns its connection to the pool).
        auto txn = s->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->put_key_horizon("t", {"k", ts_ms{100}, ts_ms{200}, seq_t{2}}));
        ASSERT_TRUE((*txn)->commit());
    }
    // Opening again changes nothing more.
    s.reset();
    s = test::open_or_die(url, {.durable = false});
    t = s->topic("t");
    ASSERT_TRUE(t && *t);
    EXPECT_EQ((*t)->horizon, 250);
    EXPECT_EQ((*t)->count, 3);
    auto kh = s->find_key_horizon("t", "k");
    ASSERT_TRUE(kh && *kh);
    EXPECT_EQ((*kh)->base_seq, 2);
}

INSTANTIATE_TEST_SUITE_P(backends, retention_schema_migration,
                         testing::ValuesIn(test::durable_backends()), test::backend_name);

}  // namespace
}  // namespace prom
