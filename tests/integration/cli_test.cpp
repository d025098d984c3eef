// The `prom` binary, driven exactly as README.md's CLI list says outside tests
// will drive it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "prom/harness.hpp"
#include "prom/json.hpp"
#include "support/cli_runner.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using test::ran;

ran run(const std::string& args, bool with_stderr = false) {
    return test::run_prom(args, with_stderr);
}

class cli : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        url_ = test::integration_db_url(dir_);
    }
    std::string db() const { return " --db '" + url_ + "'"; }
    std::string url_;
    test::temp_dir dir_;
};

TEST_F(cli, publish_then_scan_round_trips_the_payload_in_canonical_form) {
    auto p =
        run("publish orders '{ \"b\": [1, 2.50, {\"y\": null}], \"a\": \"é\" }' --key o-1" + db());
    ASSERT_EQ(p.exit_code, 0) << p.out;
    auto r = parse_json(p.out);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->at("seq").as_int64(), 1);
    EXPECT_FALSE(r->at("duplicate").as_bool());

    auto s = run("scan orders" + db());
    ASSERT_EQ(s.exit_code, 0);
    auto e = parse_json(s.out.substr(0, s.out.find('\n')));
    ASSERT_TRUE(e);
    EXPECT_EQ(canonical_json(e->at("payload")), R"({"a":"é","b":[1,2.5,{"y":null}]})");
    EXPECT_NE(s.out.find(R"("payload":{"a":"é","b":[1,2.5,{"y":null}]})"), std::string::npos);
    EXPECT_EQ(e->at("key").as_string(), "o-1");
}

TEST_F(cli, publish_with_expect_key_seq_appends_only_at_that_seq) {
    ASSERT_EQ(run("publish t 1 --key k --expect-key-seq 0" + db()).exit_code, 0);
    auto stale = run("publish t 2 --key k --expect-key-seq 0" + db(), true);
    EXPECT_EQ(stale.exit_code, 1);
    EXPECT_NE(stale.out.find("is at seq 1"), std::string::npos) << stale.out;
    EXPECT_EQ(run("publish t 3 --key k --expect-key-seq 1" + db()).exit_code, 0);
    auto negative = run("publish t 4 --key k --expect-key-seq -1" + db(), true);
    EXPECT_EQ(negative.exit_code, 2);
    EXPECT_NE(negative.out.find("--expect-key-seq: '-1' is not a whole number"), std::string::npos)
        << negative.out;
    auto s = run("scan t" + db());
    EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 2);
}

TEST_F(cli, a_duplicate_id_reports_the_original_seq) {
    ASSERT_EQ(run("publish t 1 --id same --ts 2026-11-26T14:03:00Z" + db()).exit_code, 0);
    ASSERT_EQ(run("publish t 2" + db()).exit_code, 0);
    auto again = run("publish t 3 --id same" + db());
    ASSERT_EQ(again.exit_code, 0);
    auto r = parse_json(again.out);
    EXPECT_TRUE(r->at("duplicate").as_bool());
    EXPECT_EQ(r->at("seq").as_int64(), 1);
    EXPECT_EQ(r->at("ts").as_int64(), 1795701780000);
}

TEST_F(cli, options_may_come_before_or_after_positionals) {
    ASSERT_EQ(run("publish" + db() + " --key k t '{}'").exit_code, 0);
    ASSERT_EQ(run("publish t --key k '{}'" + db()).exit_code, 0);
    auto s = run("scan --key k" + db() + " t --limit 1");
    EXPECT_EQ(s.exit_code, 0);
    EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 1);
}

TEST_F(cli, scan_bounds_are_inclusive) {
    for (int i = 1; i <= 5; ++i) {
        ASSERT_EQ(run("publish t " + std::to_string(i) + " --ts " + std::to_string(i * 1000) + db())
                      .exit_code,
                  0);
    }
    auto s = run("scan t --from-ts 2000 --to-ts 4000" + db());
    EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 3);
    auto q = run("scan t --from-seq 4" + db());
    EXPECT_EQ(std::count(q.out.begin(), q.out.end(), '\n'), 2);
    auto iso = run("scan t --to-ts 1970-01-01T00:00:02Z" + db());
    EXPECT_EQ(std::count(iso.out.begin(), iso.out.end(), '\n'), 2);
}

TEST_F(cli, cursor_and_topics) {
    ASSERT_EQ(run("publish a 1" + db()).exit_code, 0);
    ASSERT_EQ(run("publish a 2" + db()).exit_code, 0);
    ASSERT_EQ(run("tail a --group somebody --from earliest --limit 1" + db()).exit_code, 0);
    auto c = run("cursor a somebody" + db());
    ASSERT_EQ(c.exit_code, 0);
    EXPECT_EQ(c.out, "{\"group\":\"somebody\",\"seq\":1,\"topic\":\"a\"}\n");
    EXPECT_EQ(run("cursor a nobody" + db()).exit_code, 1);  // never subscribed
    auto t = run("topics" + db());
    EXPECT_EQ(t.out, "{\"count\":2,\"last_seq\":2,\"topic\":\"a\"}\n");
}

TEST_F(cli, bad_input_gets_a_clear_error_and_a_non_zero_exit) {
    ASSERT_EQ(run("publish other 1" + db()).exit_code, 0);  // the database exists
    struct bad_case {
        std::string args;
        std::string says;
    };
    for (const auto& c : std::vector<bad_case>{
             {"publish t '{bad json'", "malformed JSON"},
             {"publish 'bad topic' 1", "topic"},
             {"publish t 1 --ts yesterday", "bad time"},
             {"publish t 1 --ts 2026-11-26T14:03:00", "timezone"},
             {"cursor unknown-topic g", "(the topic has no events yet)"},
             {"scan unknown-topic", "no topic"},
             {"scan t --limit -1", "limit"},
             {"nosuchcommand", ""},
         }) {
        auto r = run(c.args + db(), true);
        EXPECT_NE(r.exit_code, 0) << c.args;
        EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << " said: " << r.out;
    }
    auto unwritable = run("publish t 1 --db sqlite:/proc/no/such/dir/x.db", true);
    EXPECT_NE(unwritable.exit_code, 0);
    EXPECT_NE(unwritable.out.find("cannot"), std::string::npos) << unwritable.out;
    // nothing was written by any of them
    auto t = run("topics" + db());
    EXPECT_EQ(t.out, "{\"count\":1,\"last_seq\":1,\"topic\":\"other\"}\n");
}

TEST_F(cli, tail_reads_over_the_gateway_and_from_the_database) {
    auto h = harness::start(
        {.db = test::integration_db_url(dir_, "memory:"), .process_projectors = false});
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->bus().publish({.topic = "t", .payload = 1}));
    ASSERT_TRUE((*h)->bus().publish({.topic = "t", .payload = 2}));
    auto over_ws = run("tail t --url " + (*h)->ws_url() + " --group g --from earliest --limit 2");
    EXPECT_EQ(over_ws.exit_code, 0);
    EXPECT_EQ(std::count(over_ws.out.begin(), over_ws.out.end(), '\n'), 2) << over_ws.out;
    EXPECT_EQ((*h)->bus().cursor("t", "g").value(), 2);  // it acked what it printed

    ASSERT_EQ(run("publish t 1" + db()).exit_code, 0);
    auto on_db = run("tail t --from earliest --limit 1" + db());
    EXPECT_EQ(on_db.exit_code, 0);
    EXPECT_NE(on_db.out.find("\"seq\":1"), std::string::npos);
    EXPECT_NE(run("tail t --url http://x" + db()).exit_code, 0);
}

TEST_F(cli, every_command_has_help) {
    for (auto c : {"publish", "scan", "cursor", "topics", "tail"}) {
        auto r = run(std::string(c) + " --help");
        EXPECT_EQ(r.exit_code, 0) << c;
        EXPECT_NE(r.out.find("--db"), std::string::npos) << c;
    }
}

}  // namespace
}  // namespace prom
