// prom_append's statements are planned once per session. A node that starts on a new schema
// plans them before its tables have statistics, and that plan must still probe indexes: one
// that read the whole of events for the id lookup made every append slower as the log grew
// (docs/benchmarks.md, "PostgreSQL: a plan made before the statistics"). Checked through the
// session's own counters (pg_stat_xact_user_tables, this transaction's table accesses).
#include <gtest/gtest.h>

#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_url.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

class pg_append_plan : public testing::TestWithParam<test::backend> {};

TEST_P(pg_append_plan, an_append_on_a_schema_without_statistics_scans_no_table_whole) {
    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    {
        auto s = test::open_or_die(url, {.durable = false});  // creates the schema, empty
        ASSERT_TRUE(s->append({{.topic = "t", .key = "k", .ts = ts_ms{1}, .payload = 1}}));
    }
    auto t = storage::postgres::parse_pg_url(url);
    ASSERT_TRUE(t);
    auto c = storage::postgres::connection::open(
        t->conninfo, {"SET search_path TO " + storage::postgres::quote_ident(t->schema)});
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE((*c)->exec("BEGIN"));
    // A duplicate id ('a' twice), an existing key and a late event: every step of the
    // function runs (the id lookup, numbering, latest, the snapshot rule, the topic row).
    auto appended = (*c)->exec(
        "SELECT count(*) FROM prom_append(ARRAY['t','t','t'], ARRAY['a','b','a'], "
        "ARRAY['k','j','k'], ARRAY[5,0,5]::bigint[], ARRAY['1','2','1'], "
        "ARRAY['{}','{}','{}'], 'prom_plan_test')");
    ASSERT_TRUE(appended) << appended.error().message;
    EXPECT_EQ(appended->int64(0, 0), 3);
    auto scans = (*c)->query(
        "SELECT relname::text, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = $1 "
        "AND relname IN ('events', 'latest', 'snapshots', 'topics') ORDER BY 1",
        {t->schema});
    ASSERT_TRUE(scans) << scans.error().message;
    ASSERT_EQ(scans->size(), 4);
    for (int i = 0; i < scans->size(); ++i) {
        EXPECT_EQ(scans->int64(i, 1), 0) << "sequential scans of " << scans->text(i, 0);
    }
    ASSERT_TRUE((*c)->exec("ROLLBACK"));
}

// Without PROM_TEST_PG_URL (outside scripts/test.sh) there is no PostgreSQL backend.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_append_plan);
INSTANTIATE_TEST_SUITE_P(backends, pg_append_plan, testing::ValuesIn(test::postgres_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
