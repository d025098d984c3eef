// prom groups, prom groups rm, prom cursor set, prom dlq ls|replay, prom replay: the
// operations commands as an operator runs them (docs/operations.md), on SQLite and
// PostgreSQL.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "prom/json.hpp"
#include "prom/store.hpp"
#include "support/cli_runner.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using test::ran;

// NDJSON output, one value per line.
std::vector<json::value> lines(const std::string& out) { return test::ndjson_lines(out); }

class ops_cli : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        url_ = test::integration_db_url(dir_);
        auto s = test::open_or_die(url_, {.durable = false});
        std::vector<event_input> batch;
        for (int i = 1; i <= 20; ++i) {
            batch.push_back({.topic = "orders",
                             .id = "o" + std::to_string(i),
                             .key = "k" + std::to_string(i % 3),
                             .ts = ts_ms{std::int64_t{1000} * i},
                             .payload = json::object{{"n", i}, {"big", i > 10}}});
        }
        ASSERT_TRUE(s->append(std::move(batch)));
        ASSERT_TRUE(s->set_cursor("orders", "billing", seq_t{15}));
        ASSERT_TRUE(s->append({{.topic = "orders.dlq",
                                .id = "o3",
                                .key = "k0",
                                .ts = ts_ms{3000},
                                .payload = json::object{{"n", 3}},
                                .headers = {{"prom-error", "boom"}, {"prom-group", "billing"}}}}));
    }
    ran run(const std::string& args, bool with_stderr = false) {
        return test::run_prom(args + " --db '" + url_ + "'", with_stderr);
    }
    std::string url_;
    test::temp_dir dir_;
};

TEST_F(ops_cli, groups_lists_every_group_with_its_lag) {
    auto r = run("groups");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto v = lines(r.out);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].at("group"), "billing");
    EXPECT_EQ(v[0].at("cursor").as_int64(), 15);
    EXPECT_EQ(v[0].at("lag_events").as_int64(), 5);
    EXPECT_GT(v[0].at("lag_seconds").to_number<double>(), 1e6);  // ts 16000 is in 1970
    EXPECT_EQ(v[0].at("active"), false);
}

TEST_F(ops_cli, a_tail_group_shows_its_lag) {
    auto t = run("tail orders --group tailer --from earliest --limit 6");
    ASSERT_EQ(t.exit_code, 0) << t.out;
    EXPECT_EQ(lines(t.out).size(), 6u);
    auto v = lines(run("groups").out);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[1].at("group"), "tailer");
    EXPECT_EQ(v[1].at("cursor").as_int64(), 6);
    EXPECT_EQ(v[1].at("lag_events").as_int64(), 14);
    // now - ts of seq 7 (7000 ms after the epoch), to the second.
    const double expected = static_cast<double>(now_ms() - ts_ms{7000}) / 1000;
    EXPECT_NEAR(v[1].at("lag_seconds").to_number<double>(), expected, 60);
}

TEST_F(ops_cli, cursor_set_moves_a_group_and_refuses_bad_targets) {
    auto r = run("cursor set orders billing --to-seq 3");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(lines(r.out)[0].at("previous").as_int64(), 15);
    EXPECT_EQ(lines(run("cursor orders billing").out)[0].at("seq").as_int64(), 3);
    EXPECT_EQ(run("cursor set orders billing --to-ts 1970-01-01T00:00:10Z").exit_code, 0);
    EXPECT_EQ(lines(run("cursor orders billing").out)[0].at("seq").as_int64(), 9);
    EXPECT_EQ(run("cursor set orders billing --to-latest").exit_code, 0);
    EXPECT_EQ(lines(run("cursor orders billing").out)[0].at("seq").as_int64(), 20);
    for (std::string bad :
         {"cursor set orders billing --to-seq 21", "cursor set orders billing --to-seq -1",
          "cursor set orders billing --to-ts yesterday", "cursor set orders billing",
          "cursor set orders billing --to-seq 1 --to-latest", "cursor set orders nobody --to-seq 1",
          "cursor set nothing billing --to-seq 1"}) {
        auto b = run(bad, true);
        EXPECT_EQ(b.exit_code, 2) << bad << ": " << b.out;
        EXPECT_NE(b.out.find("prom: "), std::string::npos) << b.out;
    }
    EXPECT_EQ(lines(run("cursor orders billing").out)[0].at("seq").as_int64(), 20);
}

TEST_F(ops_cli, groups_rm_deletes_an_inactive_group) {
    EXPECT_EQ(run("groups rm orders nobody").exit_code, 2);
    auto r = run("groups rm orders billing");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(lines(run("groups").out).empty());
}

TEST_F(ops_cli, dlq_ls_and_replay_are_idempotent) {
    auto ls = run("dlq ls orders");
    ASSERT_EQ(ls.exit_code, 0) << ls.out;
    auto v = lines(ls.out);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].at("error"), "boom");
    EXPECT_EQ(v[0].at("group"), "billing");
    auto r = run("dlq replay orders --group billing");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(lines(r.out)[0].at("replayed").as_int64(), 1);
    r = run("dlq replay orders --group billing --id o3");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(lines(r.out)[0].at("replayed").as_int64(), 0);
    EXPECT_EQ(lines(r.out)[0].at("already_replayed").as_int64(), 1);
    EXPECT_EQ(run("dlq replay orders --id nope").exit_code, 2);
    EXPECT_EQ(run("dlq ls nothing").exit_code, 2);
    // --limit and --after page through the entries.
    auto first = lines(run("dlq ls orders --limit 1").out);
    ASSERT_EQ(first.size(), 1u);
    auto after = std::to_string(first[0].at("dlq_seq").as_int64());
    EXPECT_TRUE(lines(run("dlq ls orders --after " + after).out).empty());
    EXPECT_EQ(lines(run("dlq ls orders --after 0").out).size(), 1u);
    EXPECT_EQ(run("dlq ls orders --limit 0").exit_code, 2);
    EXPECT_EQ(run("dlq ls orders --after -1").exit_code, 2);
}

TEST_F(ops_cli, replay_copies_filtered_and_mapped_events_once) {
    auto r =
        run("replay orders big-orders --where '{\"payload.big\": true}' "
            "--map '{\"n\": \"$payload.n\", \"src\": \"$id\"}' --from-ts 12000 --progress=json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto v = lines(r.out);
    ASSERT_FALSE(v.empty());
    auto summary = v.back();
    EXPECT_EQ(summary.at("state"), "done");
    EXPECT_EQ(summary.at("copied").as_int64(), 9);  // 12..20
    EXPECT_EQ(summary.at("total").as_int64(), 20);
    auto scan = lines(run("scan big-orders").out);
    ASSERT_EQ(scan.size(), 9u);
    EXPECT_EQ(scan[0].at("payload").at("n").as_int64(), 12);
    EXPECT_EQ(scan[0].at("payload").at("src"), "o12");
    // Again: nothing more.
    r = run("replay orders big-orders --where '{\"payload.big\": true}' --progress=none");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(lines(r.out).back().at("copied").as_int64(), 0);
    EXPECT_EQ(lines(run("scan big-orders").out).size(), 9u);
    // With Lua.
    {
        std::ofstream lua(dir_.file("map.lua"));
        lua << "function map(event)\n  return {twice = event.payload.n * 2}\nend\n";
    }
    r = run("replay orders doubled --lua " + dir_.file("map.lua"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto doubled = lines(run("scan doubled").out);
    ASSERT_EQ(doubled.size(), 20u);
    EXPECT_EQ(doubled[19].at("payload").at("twice").as_int64(), 40);
}

// A replay over an erased key: the marker is passed over and counted, never copied; the
// progress counts seqs (done/total) and events read (found from outside: a rate of millions
// of "events" a second over an erased stretch, and a marker left out without a word).
TEST_F(ops_cli, a_replay_counts_the_erasure_markers_it_leaves_out_and_the_events_it_read) {
    ASSERT_EQ(run("erase orders k0").exit_code, 0);  // seqs 3, 6, …, 18 go; the marker is 21
    auto r = run("replay orders copied --progress=none");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    auto summary = lines(r.out).back();
    EXPECT_EQ(summary.at("state"), "done");
    EXPECT_EQ(summary.at("copied").as_int64(), 14);
    EXPECT_EQ(summary.at("skipped_markers").as_int64(), 1);
    EXPECT_EQ(summary.at("events_read").as_int64(), 15);
    EXPECT_EQ(summary.at("total").as_int64(), 21);  // seqs
    EXPECT_EQ(summary.at("done").as_int64(), 21);
    auto copies = lines(run("scan copied").out);
    ASSERT_EQ(copies.size(), 14u);
    for (const auto& c : copies) EXPECT_FALSE(c.at("payload").is_null()) << c;
}

// A run that fails on the data (a map path an event lacks) is a failure, exit 1, and ends
// with its summary line like every run, naming the error.
TEST_F(ops_cli, a_replay_that_fails_part_way_exits_1_after_its_summary_line) {
    auto r = run("replay orders mapped --map '{\"x\": \"$payload.missing\"}' --progress=none");
    EXPECT_EQ(r.exit_code, 1) << r.out;
    auto v = lines(r.out);
    ASSERT_FALSE(v.empty()) << r.out;
    EXPECT_EQ(v.back().at("state"), "failed");
    EXPECT_NE(v.back().at("error").as_string().find("payload.missing"), std::string_view::npos)
        << r.out;
    EXPECT_EQ(v.back().at("copied").as_int64(), 0);
    // Where it stands, though it failed in its first batch: not a row of zeros.
    EXPECT_EQ(v.back().at("end").as_int64(), 20) << r.out;
    EXPECT_EQ(v.back().at("total").as_int64(), 20) << r.out;
}

// A copy its destination's schema refuses is named by its source seq, not by its place in
// the replay's own batch (found from outside: "event 1 of the batch").
TEST_F(ops_cli, a_copy_refused_by_a_schema_is_named_by_its_source_seq) {
    {
        std::ofstream schema(dir_.file("small.json"));
        schema << R"({"type":"object","properties":{"n":{"type":"integer","maximum":4}}})";
    }
    ASSERT_EQ(run("schema set small " + dir_.file("small.json")).exit_code, 0);
    for (std::string batch : {"", " --batch 1"}) {
        auto r = run("replay orders small" + batch + " --progress=none");
        EXPECT_EQ(r.exit_code, 1) << r.out;
        auto v = lines(r.out);
        ASSERT_FALSE(v.empty()) << r.out;
        const std::string error(v.back().at("error").as_string());
        EXPECT_NE(error.find("the copy of seq 5:"), std::string::npos) << batch << ": " << error;
        EXPECT_EQ(error.find("of the batch"), std::string::npos) << error;
    }
}

TEST_F(ops_cli, replay_refuses_bad_input_with_exit_2) {
    for (std::string bad :
         {"replay orders orders", "replay nothing x", "replay orders x --where '{\"a\":'",
          "replay orders x --where '{\"payload.n\": {\"$near\": 1}}'",
          "replay orders x --map '\"$nowhere\"'", "replay orders x --from-ts 5 --to-ts 4",
          "replay orders x --from-ts never", "replay orders x --lua /no/such/file",
          "replay orders x --progress=loud"}) {
        auto b = run(bad, true);
        EXPECT_EQ(b.exit_code, 2) << bad << ": " << b.out;
    }
    auto s = test::open_or_die(url_, {.durable = false});
    EXPECT_FALSE(*s->topic("x"));
    EXPECT_NE(test::run_prom("--help", true).out.find("replay"), std::string::npos);
    EXPECT_NE(test::run_prom("--help", true).out.find("groups"), std::string::npos);
}

TEST_F(ops_cli, serve_refuses_a_bad_slo_rule_with_exit_2) {
    for (std::string rule :
         {R"({"name":"x","max_lag_events":-1})", R"({"name":"x","max_lag_seconds":30,"typo":1})",
          R"({"name":"x","max_error_rate":2})"}) {
        {
            std::ofstream cfg(dir_.file("bad.json"));
            cfg << R"({"listen":"127.0.0.1:0","slo":[)" << rule << "]}";
        }
        auto b = run("serve --config " + dir_.file("bad.json"), true);
        EXPECT_EQ(b.exit_code, 2) << rule << ": " << b.out;
        EXPECT_NE(b.out.find("slo[0]"), std::string::npos) << b.out;
    }
}

// A start refused for its address or a projector file changes nothing: no database is made
// and the config's retention policy and projectors are not stored for a later server.
TEST(serve_refused_start, leaves_no_database_and_stores_nothing) {
    test::temp_dir dir;
    const std::string db = dir.file("never.db");
    {
        std::ofstream bad(dir.file("bad.json"));
        bad << R"({"name":"p","version":1,"topic":"","writes":[]})";
    }
    // A port that is taken: a listener held open by this process.
    const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(taken, 1), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string busy = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    const std::string policy =
        R"("retention":{"policies":[{"topic":"orders*","retain":{"max_events":1}}]})";
    // Each config: its listen and projectors, then the policy; the exit code expected.
    for (const auto& [head, code] : std::vector<std::pair<std::string, int>>{
             {R"({"listen":"127.0.0.1:0","projectors":[{"file":"bad.json"}],)", 2},
             {R"({"listen":")" + busy + R"(",)", 1},
             {R"({"listen":"no-such-host:1",)", 2}}) {
        const std::string config = head + policy + "}";
        {
            std::ofstream cfg(dir.file("serve.json"));
            cfg << config;
        }
        auto r =
            test::run_prom("serve --db sqlite:" + db + " --config " + dir.file("serve.json"), true);
        EXPECT_EQ(r.exit_code, code) << config << ": " << r.out;
        EXPECT_FALSE(std::filesystem::exists(db)) << config;
    }
    ::close(taken);
}

}  // namespace
}  // namespace prom
