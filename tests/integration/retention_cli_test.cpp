// prom topic policy, prom compact, prom erase, prom doc rm and prom topics as an operator runs
// them (docs/retention.md), with their exit codes: 2 for bad usage (nothing changes), 1 for
// nothing found or a pass already running. On SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <sstream>

#include "prom/json.hpp"
#include "prom/store.hpp"
#include "retention/retention.hpp"
#include "support/cli_runner.hpp"
#include "support/outside_sqlite_reader.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;
using test::ran;

// NDJSON output, one value per line.
std::vector<json::value> lines(const std::string& out) { return test::ndjson_lines(out); }

class retention_cli : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        url_ = test::integration_db_url(dir_);
        s_ = test::open_or_die(url_, {.durable = false});
        // orders: 5 keys x 6 events, old ts; audit: no policy.
        std::vector<event_input> batch;
        for (int i = 1; i <= 30; ++i) {
            batch.push_back({.topic = "orders",
                             .key = "k" + std::to_string(i % 5),
                             .ts = ts_ms{std::int64_t{1000} * i},
                             .payload = json::object{{"n", i}}});
        }
        batch.push_back({.topic = "audit", .key = "a", .ts = ts_ms{1000}, .payload = 1});
        ASSERT_TRUE(s_->append(std::move(batch)));
    }
    ran prom(const std::string& args, bool with_stderr = false) {
        return test::run_prom(args + " --db '" + url_ + "'", with_stderr);
    }
    std::int64_t count(std::string_view topic) {
        auto t = s_->topic(topic);
        return t && *t ? (*t)->count : -1;
    }
    std::size_t policies() {
        auto all = retention::load_policies(*s_);
        EXPECT_TRUE(all);
        return all ? all->size() : 0;
    }

    test::temp_dir dir_;
    std::string url_;
    std::unique_ptr<store> s_;
};

TEST_F(retention_cli, every_command_has_help) {
    for (const char* cmd : {"topic policy", "compact", "erase", "doc rm", "topics"}) {
        auto r = test::run_prom(std::string(cmd) + " --help");
        EXPECT_EQ(r.exit_code, 0) << cmd;
        EXPECT_NE(r.out.find("--db"), std::string::npos) << r.out;
    }
}

TEST_F(retention_cli, policy_set_show_clear_and_bad_usage) {
    auto set = prom("topic policy orders --compact-horizon 1d --retain-events 1000 --behind wait");
    ASSERT_EQ(set.exit_code, 0) << set.out;
    auto shown = prom("topic policy orders");
    ASSERT_EQ(shown.exit_code, 0);
    auto v = lines(shown.out);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].at("pattern"), "orders");
    EXPECT_EQ(v[0].at("policy").at("compact").at("horizon"), "1d");
    EXPECT_EQ(v[0].at("policy").at("retain").at("max_events").as_int64(), 1000);
    EXPECT_EQ(v[0].at("policy").at("behind"), "wait");

    // A pattern, shown for a topic it governs: the exact one wins for orders.
    ASSERT_EQ(prom("topic policy 'ord*' --retain-age 7d").exit_code, 0);
    EXPECT_EQ(lines(prom("topic policy orders").out)[0].at("pattern"), "orders");

    // A duration in whole milliseconds, up to int64 (found from outside: more than 18
    // digits was refused as no duration at all); past it, too large.
    auto past = prom("topic policy 'ord*' --retain-age 9223372036854775808", true);
    EXPECT_EQ(past.exit_code, 2);
    EXPECT_NE(past.out.find("too large"), std::string::npos) << past.out;
    ASSERT_EQ(prom("topic policy 'ord*' --retain-age 9223372036854775807").exit_code, 0);

    for (const char* bad :
         {"topic policy orders --retain-events 0", "topic policy orders --retain-age soon",
          "topic policy orders --compact-horizon -1d", "topic policy orders --behind later",
          "topic policy orders --clear --retain-events 5",
          "topic policy 'bad name' --retain-events 5", "topic policy nothing --retain-events 5",
          "topic policy 'nothing.*' --retain-events 5", "topic policy",
          "topic policy 'bad name'"}) {
        auto r = prom(bad, true);
        EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.out;
        EXPECT_FALSE(r.out.empty()) << bad;  // a message on stderr
    }
    EXPECT_EQ(policies(), 2u);
    EXPECT_EQ(lines(prom("topic policy orders").out)[0].at("policy").at("behind"), "wait");

    EXPECT_EQ(prom("topic policy audit").exit_code, 1);  // none applies
    // Neither a topic nor a policy's pattern: names nothing (found from outside: exit 1).
    auto nothing = prom("topic policy nosuchtopic", true);
    EXPECT_EQ(nothing.exit_code, 2) << nothing.out;
    EXPECT_NE(nothing.out.find("no topic 'nosuchtopic'"), std::string::npos) << nothing.out;
    EXPECT_EQ(prom("topic policy 'zzz.*'").exit_code, 2);  // a pattern matching no topic
    EXPECT_EQ(prom("topic policy 'aud*'").exit_code, 1);   // matches audit, no policy
    EXPECT_EQ(prom("topic policy orders --clear").exit_code, 0);
    EXPECT_EQ(prom("topic policy orders --clear").exit_code, 1);
    EXPECT_EQ(lines(prom("topic policy orders").out)[0].at("pattern"), "ord*");
    EXPECT_EQ(policies(), 1u);
}

TEST_F(retention_cli, compact_dry_run_then_for_real) {
    ASSERT_EQ(prom("topic policy orders --compact-horizon 1d").exit_code, 0);
    auto dry = prom("compact orders --dry-run --progress=json");
    ASSERT_EQ(dry.exit_code, 0) << dry.out;
    auto v = lines(dry.out);
    ASSERT_FALSE(v.empty());
    EXPECT_EQ(v.back().at("dry_run"), true);
    EXPECT_EQ(v.back().at("compacted").as_int64(), 25);
    EXPECT_EQ(count("orders"), 30);

    EXPECT_EQ(prom("compact nosuch").exit_code, 2);
    // A name no topic can have says so (found from outside: "no topic").
    auto bad_name = prom("compact 'bad t'", true);
    EXPECT_EQ(bad_name.exit_code, 2);
    EXPECT_NE(bad_name.out.find("may only contain"), std::string::npos) << bad_name.out;
    EXPECT_EQ(prom("compact audit").exit_code, 2);  // no policy
    EXPECT_EQ(prom("compact --progress=sideways").exit_code, 2);

    // A pass of the topic already runs elsewhere: exit 1, nothing dropped.
    ASSERT_TRUE(s_->acquire_lease("prom.retention/orders", "someone-else", 30s).value_or(false));
    auto busy = prom("compact orders --progress=none", true);
    EXPECT_EQ(busy.exit_code, 1) << busy.out;
    EXPECT_NE(busy.out.find("already running"), std::string::npos) << busy.out;
    EXPECT_EQ(count("orders"), 30);
    ASSERT_TRUE(s_->release_lease("prom.retention/orders", "someone-else"));

    // Every topic with a policy; the bar when asked for.
    auto done = prom("compact --progress=bar", true);
    ASSERT_EQ(done.exit_code, 0) << done.out;
    EXPECT_NE(done.out.find("events"), std::string::npos) << done.out;
    EXPECT_NE(done.out.find("\"compacted\":25"), std::string::npos) << done.out;
    EXPECT_EQ(count("orders"), 5);
    EXPECT_EQ(count("audit"), 1);

    // prom topics: the horizon once a pass dropped events; bytes with --bytes.
    auto plain = lines(prom("topics").out);
    ASSERT_EQ(plain.size(), 2u);
    for (const auto& t : plain) {
        EXPECT_FALSE(t.as_object().contains("bytes")) << t;
        EXPECT_EQ(t.as_object().contains("horizon"), t.at("topic") == "orders") << t;
    }
    auto topics = lines(prom("topics --bytes").out);
    ASSERT_EQ(topics.size(), 2u);
    for (const auto& t : topics) {
        EXPECT_GT(t.at("bytes").as_int64(), 0);
        if (t.at("topic") == "orders") {
            EXPECT_EQ(t.at("count").as_int64(), 5);
            EXPECT_GT(t.at("horizon").as_int64(), 0);
        }
    }
    // Time travel into what went: a message and exit 1.
    auto gone = prom("at orders k1 2000", true);
    EXPECT_EQ(gone.exit_code, 1) << gone.out;
}

TEST_F(retention_cli, erase_and_doc_rm) {
    auto erased = prom("erase orders k1");
    ASSERT_EQ(erased.exit_code, 0) << erased.out;
    auto v = lines(erased.out);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].at("events").as_int64(), 6);
    EXPECT_EQ(count("orders"), 25);                   // 24 left + the marker
    EXPECT_EQ(prom("erase orders k1").exit_code, 1);  // only the marker is left: no such key
    EXPECT_EQ(prom("erase orders nobody").exit_code, 1);
    EXPECT_EQ(prom("erase nosuch k1").exit_code, 2);
    EXPECT_EQ(prom("erase orders ''").exit_code, 2);
    EXPECT_EQ(count("orders"), 25);

    {
        auto txn = s_->begin();
        ASSERT_TRUE(txn);
        ASSERT_TRUE((*txn)->update_one("people", "alice", json::object{{"name", "Alice"}}, true));
        ASSERT_TRUE((*txn)->commit());
    }
    EXPECT_EQ(prom("doc rm people alice").exit_code, 0);
    EXPECT_FALSE(*s_->find_one("people", "alice"));
    EXPECT_EQ(prom("doc rm people alice").exit_code, 1);
    EXPECT_EQ(prom("doc rm _prom.topic_policies orders").exit_code, 2);
    EXPECT_EQ(prom("doc rm 'bad name' x").exit_code, 2);
}

// Found from outside: a key no event can have was "not found" (exit 1), not bad input.
TEST_F(retention_cli, erasing_a_key_no_event_can_have_is_bad_input) {
    auto r = prom("erase orders " + std::string(1025, 'k'), true);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("key is longer than 1024 bytes"), std::string::npos) << r.out;
    auto at = prom("at orders " + std::string(1025, 'k') + " 2000", true);
    EXPECT_EQ(at.exit_code, 2) << at.out;
    EXPECT_EQ(count("orders"), 30);
}

// Found from outside: a second erasure of a key counted the first one's marker as an erased
// event; the report counts the key's events, and the new marker stands for both erasures.
TEST_F(retention_cli, a_key_erased_again_counts_its_events_not_the_earlier_marker) {
    ASSERT_EQ(prom("erase orders k1").exit_code, 0);
    ASSERT_EQ(prom("publish orders '{\"n\":99}' --key k1").exit_code, 0);
    auto again = prom("erase orders k1");
    ASSERT_EQ(again.exit_code, 0) << again.out;
    auto v = lines(again.out);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].at("events").as_int64(), 1);
    auto k1 = s_->scan({.topic = "orders", .key = "k1"});
    ASSERT_TRUE(k1);
    ASSERT_EQ(k1->size(), 1u);  // the new marker only
    EXPECT_EQ(k1->front().seq.value, v[0].at("marker_seq").as_int64());
}

// A SQLite reader outside prom that holds a read transaction keeps the WAL from being
// checkpointed: the CLI's erasure says, as the HTTP answer does, that the WAL may still hold
// the erased content (found from outside: it said only that space was not given back).
TEST_F(retention_cli, an_erasure_whose_wal_cannot_be_cleared_says_so) {
    if (!url_.starts_with("sqlite:")) GTEST_SKIP() << "a SQLite WAL only";
    s_.reset();  // this test's own store would checkpoint too
    test::outside_sqlite_reader outside(url_.substr(7));
    auto held = prom("erase orders k1", true);
    outside.release();
    ASSERT_EQ(held.exit_code, 0) << held.out;
    EXPECT_NE(held.out.find("prom: warning: the erased content may remain in the database's WAL "
                            "file"),
              std::string::npos)
        << held.out;
    EXPECT_NE(held.out.find("\"warning\":\"the erased content may remain"), std::string::npos)
        << held.out;
    auto clear = prom("erase orders k2", true);
    ASSERT_EQ(clear.exit_code, 0) << clear.out;
    EXPECT_EQ(clear.out.find("warning"), std::string::npos) << clear.out;
}

}  // namespace
}  // namespace prom
