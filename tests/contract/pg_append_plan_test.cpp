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

// Each test: a fresh schema holding one event (made by a store, which creates the schema),
// and a connection of its own on it, as an operator's psql would be.
class pg_append_plan : public testing::TestWithParam<test::backend> {
  protected:
    void SetUp() override {
        {
            auto s = test::open_or_die(url, {.durable = false});
            ASSERT_TRUE(
                s->append({{.topic = "t", .id = "a", .key = "k", .ts = ts_ms{1}, .payload = 1}}));
        }
        auto parsed = storage::postgres::parse_pg_url(url);
        ASSERT_TRUE(parsed);
        target = *parsed;
        auto opened = storage::postgres::connection::open(
            target.conninfo,
            {"SET search_path TO " + storage::postgres::quote_ident(target.schema)});
        ASSERT_TRUE(opened) << opened.error().message;
        c = std::move(*opened);
    }

    test::temp_dir dir;
    const std::string url = GetParam().fresh_url(dir);
    storage::postgres::pg_target target;
    std::unique_ptr<storage::postgres::connection> c;
};

TEST_P(pg_append_plan, an_append_on_a_schema_without_statistics_scans_no_table_whole) {
    ASSERT_TRUE(c->exec("BEGIN"));
    // A duplicate id ('a' twice), an existing key and a late event: every step of the
    // function runs (the id lookup, numbering, latest, the snapshot rule, the topic row).
    auto appended = c->exec(
        "SELECT count(*) FROM prom_append(ARRAY['t','t','t'], ARRAY['a','b','a'], "
        "ARRAY['k','j','k'], ARRAY[5,0,5]::bigint[], ARRAY['1','2','1'], "
        "ARRAY['{}','{}','{}'], 'prom_plan_test')");
    ASSERT_TRUE(appended) << appended.error().message;
    EXPECT_EQ(appended->int64(0, 0), 3);
    auto scans = c->query(
        "SELECT relname::text, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = $1 "
        "AND relname IN ('events', 'latest', 'snapshots', 'topics') ORDER BY 1",
        {target.schema});
    ASSERT_TRUE(scans) << scans.error().message;
    ASSERT_EQ(scans->size(), 4);
    for (int i = 0; i < scans->size(); ++i) {
        EXPECT_EQ(scans->int64(i, 1), 0) << "sequential scans of " << scans->text(i, 0);
    }
    ASSERT_TRUE(c->exec("ROLLBACK"));
}

// After an ANALYZE of a nearly empty log (a new node, a whole-database `vacuumdb
// --analyze`), every index that starts with `topic` looked as good as the id index for
// prom_append's id lookup, and the plan took one of them: each input row then read the whole
// topic, until autovacuum analyzed the grown table again (docs/storage-schema.md). The lookup
// may only use the index that starts with `id`, whatever the statistics.
TEST_P(pg_append_plan, the_id_lookup_reads_no_topic_whole_after_an_analyze_of_an_empty_log) {
    // Statistics of one event, and none newer while the test grows the log.
    ASSERT_TRUE(c->exec("ALTER TABLE events SET (autovacuum_enabled = off)"));
    ASSERT_TRUE(c->exec("ANALYZE events; ANALYZE latest; ANALYZE topics; ANALYZE snapshots"));
    const std::string grow =
        "SELECT count(*) FROM prom_append(array_fill('t'::text, ARRAY[500]), "
        "ARRAY(SELECT 'id-' || i FROM generate_series(1, 500) i), "
        "ARRAY(SELECT 'k' || (i % 7) FROM generate_series(1, 500) i), "
        "ARRAY(SELECT 10 + i FROM generate_series(1, 500) i)::bigint[], "
        "array_fill('1'::text, ARRAY[500]), array_fill('{}'::text, ARRAY[500]), 'prom_plan_test')";
    auto grown = c->exec(grow);
    ASSERT_TRUE(grown) << grown.error().message;
    ASSERT_EQ(grown->int64(0, 0), 500);
    ASSERT_TRUE(c->exec("BEGIN"));
    // A new id and a stored one (idempotency): both looked up by id.
    auto appended = c->exec(
        "SELECT count(*) FROM prom_append(ARRAY['t','t'], ARRAY['new','id-3'], "
        "ARRAY['k1','k3'], ARRAY[600,13]::bigint[], ARRAY['1','1'], ARRAY['{}','{}'], "
        "'prom_plan_test')");
    ASSERT_TRUE(appended) << appended.error().message;
    EXPECT_EQ(appended->int64(0, 0), 2);
    auto fetched = c->query(
        "SELECT idx_tup_fetch, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = $1 "
        "AND relname = 'events'",
        {target.schema});
    ASSERT_TRUE(fetched) << fetched.error().message;
    ASSERT_EQ(fetched->size(), 1);
    EXPECT_LT(fetched->int64(0, 0), 20) << "rows of events read by index for two ids";
    EXPECT_EQ(fetched->int64(0, 1), 0);
    ASSERT_TRUE(c->exec("ROLLBACK"));
}

// A schema of version 6 (ids indexed as (topic, id)) opened by this version: the index is
// replaced by events_by_id_topic, the events stay, and a stored id is still a duplicate.
TEST_P(pg_append_plan, a_version_6_schema_gets_the_id_first_index_and_keeps_idempotency) {
    ASSERT_TRUE(c->exec(
        "CREATE UNIQUE INDEX events_by_id ON events(topic, id); DROP INDEX events_by_id_topic; "
        "UPDATE meta SET v = '6' WHERE k = 'schema_version'"));
    auto s = test::open_or_die(url, {.durable = false});
    auto indexes = c->query(
        "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
        "WHERE schemaname = $1 AND tablename = 'events' AND indexname LIKE 'events_by_id%'",
        {target.schema});
    ASSERT_TRUE(indexes) << indexes.error().message;
    EXPECT_EQ(indexes->text(0, 0), "events_by_id_topic");
    auto again = s->append({{.topic = "t", .id = "a", .key = "k", .payload = 2},
                            {.topic = "t", .id = "b", .key = "k", .payload = 3}});
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE((*again)[0].duplicate);
    EXPECT_EQ((*again)[0].seq, seq_t{1});
    EXPECT_FALSE((*again)[1].duplicate);
    EXPECT_EQ((*again)[1].seq, seq_t{2});
    auto has = s->has_event_id("t", "a");
    ASSERT_TRUE(has);
    EXPECT_TRUE(*has);
}

// Without PROM_TEST_PG_URL (outside scripts/test.sh) there is no PostgreSQL backend.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_append_plan);
INSTANTIATE_TEST_SUITE_P(backends, pg_append_plan, testing::ValuesIn(test::postgres_backends()),
                         test::backend_name);

}  // namespace
}  // namespace prom
