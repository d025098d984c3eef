// A database made before cursors had an ack time (cursors.acked_ms) opens, gets the column,
// keeps its cursors, and records ack times from then on: SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_url.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

// Turns the database at `url` back into the shape it had before the column existed.
void drop_ack_time_column(const std::string& url) {
    if (url.starts_with("sqlite:")) {
        auto c = storage::sqlite::connection::open(url.substr(7), false, 1000);
        ASSERT_TRUE(c) << c.error().message;
        ASSERT_TRUE((*c)->exec("ALTER TABLE cursors DROP COLUMN acked_ms"));
        return;
    }
    auto t = storage::postgres::parse_pg_url(url);
    ASSERT_TRUE(t);
    auto c = storage::postgres::connection::open(
        t->conninfo, {"SET search_path TO " + storage::postgres::quote_ident(t->schema)});
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE(
        (*c)->exec("ALTER TABLE cursors DROP COLUMN acked_ms; "
                   "UPDATE meta SET v = '1' WHERE k = 'schema_version'"));
}

class cursor_ack_time_migration : public testing::TestWithParam<test::backend> {};

TEST_P(cursor_ack_time_migration, an_old_database_gets_the_column_and_keeps_its_cursors) {
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    {
        auto s = test::open_or_die(url, {.durable = false});
        ASSERT_TRUE(s->append({{.topic = "t", .payload = 1}, {.topic = "t", .payload = 2}}));
        ASSERT_TRUE(s->set_cursor("t", "g", seq_t{1}));
    }
    drop_ack_time_column(url);
    auto s = test::open_or_die(url, {.durable = false});
    auto cs = s->list_cursors();
    ASSERT_TRUE(cs) << cs.error().message;
    ASSERT_EQ(cs->size(), 1u);
    EXPECT_EQ((*cs)[0].seq, 1);
    EXPECT_FALSE((*cs)[0].acked_at);  // unknown: written before the column
    const ts_ms before = now_ms();
    ASSERT_TRUE(s->set_cursor("t", "g", seq_t{2}));
    cs = s->list_cursors();
    ASSERT_TRUE(cs);
    ASSERT_TRUE((*cs)[0].acked_at);
    EXPECT_GE(*(*cs)[0].acked_at, before);
    // Opening again changes nothing more.
    s.reset();
    s = test::open_or_die(url, {.durable = false});
    cs = s->list_cursors();
    ASSERT_TRUE(cs);
    EXPECT_EQ((*cs)[0].seq, 2);
}

INSTANTIATE_TEST_SUITE_P(backends, cursor_ack_time_migration,
                         testing::ValuesIn(test::durable_backends()), test::backend_name);

}  // namespace
}  // namespace prom
