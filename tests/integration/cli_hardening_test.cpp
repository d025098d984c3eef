// The `prom` CLI defects of issue 12, each pinned: read-only commands never create a
// database, unknown commands name what was typed, a group that never existed is not "seq 0",
// an anonymous `tail --url` leaves no group behind, errors carry no Boost source locations,
// leap seconds only where they exist.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

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

class cli_hardening : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        url_ = test::integration_db_url(dir_);
    }
    std::string db() const { return " --db '" + url_ + "'"; }
    std::string url_;
    test::temp_dir dir_;
};

TEST_F(cli_hardening, read_only_commands_refuse_a_missing_database_and_create_nothing) {
    const std::filesystem::path missing_dir = dir_.file("no/such/dir");
    const std::string missing = " --db 'sqlite:" + (missing_dir / "x.db").string() + "'";
    const std::string missing_file = " --db 'sqlite:" + dir_.file("typo.db") + "'";
    for (const std::string cmd : {"topics", "scan t", "cursor t g", "at t k 1000",
                                  "at t --all 1000", "process-at h:n:1 1000", "tail t --limit 1",
                                  "projector ls", "projector show p", "projector rm p"}) {
        for (const auto& where : {missing, missing_file}) {
            auto r = run(cmd + where, true);
            EXPECT_EQ(r.exit_code, 1) << cmd << where << ": " << r.out;
            EXPECT_NE(r.out.find("no database at"), std::string::npos) << cmd << ": " << r.out;
        }
    }
    EXPECT_FALSE(std::filesystem::exists(dir_.file("no")));
    EXPECT_FALSE(std::filesystem::exists(dir_.file("typo.db")));
    // The message names the absolute path, whatever the working directory.
    auto relative = run("topics --db sqlite:relative-typo/x.db", true);
    EXPECT_EQ(relative.exit_code, 1);
    EXPECT_NE(relative.out.find((std::filesystem::current_path() / "relative-typo/x.db").string()),
              std::string::npos)
        << relative.out;
    EXPECT_FALSE(std::filesystem::exists("relative-typo"));
    // An empty file is no database either, and stays empty (found from outside: read
    // commands made it one).
    const std::string empty = dir_.file("empty.db");
    { std::ofstream touch(empty); }
    const std::string on_empty = " --db 'sqlite:" + empty + "'";
    for (const std::string cmd : {"topics", "scan t", "groups"}) {
        auto r = run(cmd + on_empty, true);
        EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("(an empty file)"), std::string::npos) << cmd << ": " << r.out;
    }
    EXPECT_EQ(std::filesystem::file_size(empty), 0u);
    EXPECT_FALSE(std::filesystem::exists(empty + "-keys"));
    // Writing still creates it.
    ASSERT_EQ(run("publish t 1" + missing).exit_code, 0);
    EXPECT_EQ(run("topics" + missing).exit_code, 0);
}

// `--db` naming another application's SQLite file, a text file or a directory: refused
// before prom's schema, WAL mode or keys file could touch it.
TEST_F(cli_hardening, a_file_that_is_not_a_prom_database_is_refused_and_left_as_it_was) {
    const std::string other = dir_.file("other.db");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE events(id, what)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    const std::string text = dir_.file("notes.txt");
    std::FILE* f = std::fopen(text.c_str(), "w");
    std::fputs("not a database\n", f);
    std::fclose(f);
    std::filesystem::create_directory(dir_.file("adir"));
    const auto before = std::filesystem::file_size(other);
    const std::string other_db = " --db 'sqlite:" + other + "'";
    const std::string text_db = " --db 'sqlite:" + text + "'";
    for (const std::string cmd : {"topics", "scan t", "publish t 1"}) {
        auto r = run(cmd + other_db, true);
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("prom did not make (tables: events)"), std::string::npos) << r.out;
        r = run(cmd + text_db, true);
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("is not a SQLite database"), std::string::npos) << r.out;
    }
    // Read commands too (found from outside: they said "no database", exit 1).
    for (const std::string cmd : {"publish t 1", "topics", "scan t"}) {
        auto r = run(cmd + " --db 'sqlite:" + dir_.file("adir") + "'", true);
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("is a directory"), std::string::npos) << cmd << ": " << r.out;
    }
    EXPECT_EQ(std::filesystem::file_size(other), before);
    for (const auto& name : {"other.db-keys", "other.db-keys-state", "other.db-wal",
                             "notes.txt-keys", "notes.txt-keys-state", "adir-keys-state"}) {
        EXPECT_FALSE(std::filesystem::exists(dir_.file(name))) << name;
    }
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "delete");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

// An empty PROM_DB is a mistake (`PROM_DB=$TYPO`), not "use the default database".
TEST_F(cli_hardening, an_empty_prom_db_is_refused_unless_db_is_given) {
    const std::filesystem::path cwd = dir_.file("cwd");
    std::filesystem::create_directory(cwd);
    const auto was = std::filesystem::current_path();
    std::filesystem::current_path(cwd);  // where the default database would be made
    ::setenv("PROM_DB", "", 1);
    auto r = run("publish t 1", true);
    auto given = run("publish t 1" + db(), true);
    ::unsetenv("PROM_DB");
    std::filesystem::current_path(was);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("PROM_DB is set but empty"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(cwd / "prom-data"));
    EXPECT_EQ(given.exit_code, 0) << given.out;
}

// The same for PROM_TOKEN: an empty one is not "no token" (found from outside).
TEST_F(cli_hardening, an_empty_prom_token_is_refused_unless_token_is_given) {
    ::setenv("PROM_TOKEN", "", 1);
    auto r = run("tail t --url ws://127.0.0.1:1/ws --limit 1", true);
    ::unsetenv("PROM_TOKEN");
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("PROM_TOKEN is set but empty"), std::string::npos) << r.out;
}

// A token typed for a tail of the database would be ignored without a word (found from
// outside); PROM_TOKEN, set for other commands, is no error there.
TEST_F(cli_hardening, a_token_without_url_is_refused_but_prom_token_is_not) {
    ASSERT_EQ(run("publish t 1" + db()).exit_code, 0);
    auto r = run("tail t --from earliest --limit 1 --token some-token-0001" + db(), true);
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("--token is for --url"), std::string::npos) << r.out;
    ::setenv("PROM_TOKEN", "some-token-0001", 1);
    auto from_env = run("tail t --from earliest --limit 1" + db(), true);
    ::unsetenv("PROM_TOKEN");
    EXPECT_EQ(from_env.exit_code, 0) << from_env.out;
}

// A tail in a user-defined projector's group acknowledged what the projector, stopped, then
// never applied (found from outside): prom's own groups are refused, nothing is stored.
TEST_F(cli_hardening, a_tail_may_not_join_the_group_of_a_projector_or_replay) {
    ASSERT_EQ(run("publish t 1" + db()).exit_code, 0);
    for (const std::string group : {"projector.rv", "projector.rv@fec98210cb", "replay:t"}) {
        auto r = run("tail t --group " + group + " --from earliest --limit 1" + db(), true);
        EXPECT_EQ(r.exit_code, 2) << group << ": " << r.out;
        EXPECT_NE(r.out.find("is reserved for prom's own projectors"), std::string::npos) << r.out;
    }
    auto groups = run("groups" + db());
    EXPECT_EQ(groups.out.find("projector.rv"), std::string::npos) << groups.out;
}

TEST_F(cli_hardening, read_only_commands_refuse_a_postgresql_schema_without_prom_tables) {
    if (!url_.starts_with("postgres")) GTEST_SKIP() << "PostgreSQL only";
    std::string other = url_.substr(0, url_.find("schema=")) + "schema=prom_typo_never_made";
    auto r = run("topics --db '" + other + "'", true);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find("no prom database"), std::string::npos) << r.out;
}

TEST_F(cli_hardening, an_unknown_command_names_what_was_typed_and_the_nearest_command) {
    auto r = run("pubish t 1", true);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "prom: unknown command 'pubish'; did you mean 'publish'?\n");
    auto far = run("frobnicate", true);
    EXPECT_EQ(far.exit_code, 2);
    EXPECT_NE(far.out.find("unknown command 'frobnicate'; commands:"), std::string::npos)
        << far.out;
    EXPECT_NE(far.out.find("publish"), std::string::npos);
    EXPECT_EQ(run("--version").exit_code, 0);
    // A mistyped option and no command is named too (found from outside: "A subcommand is
    // required").
    auto versio = run("--versio", true);
    EXPECT_EQ(versio.exit_code, 2);
    EXPECT_EQ(versio.out, "prom: unknown option '--versio'; did you mean '--version'?\n");
    // The topic of `schema set` is checked before its file (it spoke of the file's JSON).
    auto topic = run("schema set 'bad topic' /dev/null" + db(), true);
    EXPECT_EQ(topic.exit_code, 2);
    EXPECT_NE(topic.out.find("invalid_topic: topic 'bad topic' may only contain"),
              std::string::npos)
        << topic.out;
    EXPECT_EQ(run("", true).exit_code, 2);  // no command at all: CLI11's usage message
    // Inside a group too (it said "A subcommand is required"). Found from outside.
    auto inner = run("projector aply x.json", true);
    EXPECT_EQ(inner.exit_code, 2);
    EXPECT_EQ(inner.out,
              "prom: unknown command 'aply' for 'prom projector'; did you mean 'apply'?\n");
    auto gen = run("gen frobnicate", true);
    EXPECT_EQ(gen.exit_code, 2);
    EXPECT_EQ(gen.out, "prom: unknown command 'frobnicate' for 'prom gen'; commands: ts\n");
    // A command that lists without a subcommand but has one (`prom groups`, `prom groups
    // rm`): a mistyped subcommand is named too, options and their values before it skipped
    // (CLI11 said "The following arguments were not expected: b a rmm"). Found from outside.
    auto groups = run("groups" + db() + " rmm a b", true);
    EXPECT_EQ(groups.exit_code, 2);
    EXPECT_EQ(groups.out, "prom: unknown command 'rmm' for 'prom groups'; did you mean 'rm'?\n");
    ASSERT_EQ(run("publish a 1" + db()).exit_code, 0);
    EXPECT_EQ(run("groups" + db()).exit_code, 0) << "the listing itself still runs";
    // An option given before the command: said so (found from outside).
    auto early = run("--db sqlite:/tmp/x.db topics", true);
    EXPECT_EQ(early.exit_code, 2);
    EXPECT_NE(early.out.find("'--db' is an option of a command and goes after it"),
              std::string::npos)
        << early.out;
    // Before a group's subcommand too (found from outside: "unknown command 'sqlite:c.db'").
    auto in_group = run("projector --db sqlite:c.db ls", true);
    EXPECT_EQ(in_group.exit_code, 2);
    EXPECT_NE(in_group.out.find("'--db' is an option of a command and goes after it (prom "
                                "projector COMMAND --db sqlite:c.db)"),
              std::string::npos)
        << in_group.out;
    // A '*' anywhere but last is no pattern prom knows: a usage error, not "nothing matched".
    auto pattern = run("gen ts --out " + dir_.file("ts") + " --topic 'a*b'", true);
    EXPECT_EQ(pattern.exit_code, 2) << pattern.out;
    EXPECT_NE(pattern.out.find("'*' only last"), std::string::npos) << pattern.out;
    // So is one with a character no topic holds (found from outside: it said "no topic schema
    // matches", exit 1).
    auto spaced = run("gen ts --out " + dir_.file("ts") + " --topic 'bad pattern'", true);
    EXPECT_EQ(spaced.exit_code, 2) << spaced.out;
    EXPECT_NE(spaced.out.find("A-Z a-z 0-9"), std::string::npos) << spaced.out;
}

// An unknown option before the positional arguments is named, not taken for a missing
// argument (found from outside: "prom publish --bogus" said "topic is required").
TEST_F(cli_hardening, an_unknown_option_is_named_even_before_the_arguments) {
    for (const char* cmd : {"publish --bogus", "publish t --bogus", "scan --bogus", "erase --bogus",
                            "replay --bogus", "process-at --bogus"}) {
        auto r = run(cmd, true);
        EXPECT_EQ(r.exit_code, 2) << cmd;
        EXPECT_NE(r.out.find("not expected: --bogus"), std::string::npos) << cmd << ": " << r.out;
    }
    auto missing = run("publish", true);  // a missing argument is still said as such
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.out.find("topic is required"), std::string::npos) << missing.out;
}

TEST_F(cli_hardening, cursor_of_a_group_that_never_existed_says_so) {
    ASSERT_EQ(run("publish a 1" + db()).exit_code, 0);
    auto r = run("cursor a nobody" + db(), true);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("no consumer group 'nobody' on topic 'a'"), std::string::npos) << r.out;
    ASSERT_EQ(run("tail a --group g --from earliest --limit 1" + db()).exit_code, 0);
    auto g = run("cursor a g" + db());
    EXPECT_EQ(g.exit_code, 0);
    EXPECT_EQ(g.out, "{\"group\":\"g\",\"seq\":1,\"topic\":\"a\"}\n");
}

TEST_F(cli_hardening, an_anonymous_tail_over_the_gateway_leaves_no_group_behind) {
    const std::string file = dir_.file("gateway.db");
    auto h = harness::start({.db = "sqlite:" + file, .process_projectors = false});
    ASSERT_TRUE(h);
    ASSERT_TRUE((*h)->bus().publish({.topic = "t", .payload = 1}));
    ASSERT_TRUE((*h)->bus().publish({.topic = "t", .payload = 2}));
    for (int i = 0; i < 2; ++i) {
        auto r = run("tail t --url " + (*h)->ws_url() + " --from earliest --limit 2");
        EXPECT_EQ(r.exit_code, 0);
        EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2)
            << r.out;  // from the start each time
    }
    (*h)->stop();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> conn(raw, &sqlite3_close);
    // No cursor and no lease of any group: the rows a `tail-<uuid>` group used to leave.
    for (const char* sql : {"SELECT topic || '/' || grp FROM cursors", "SELECT name FROM leases"}) {
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(conn.get(), sql, -1, &st, nullptr), SQLITE_OK);
        std::string rows;
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            rows += " ";
        }
        sqlite3_finalize(st);
        EXPECT_EQ(rows, "") << sql;
    }
}

// A name no topic can have is bad input (exit 2) for the reading commands too, as for
// `prom at`; a group that subscribed to a topic with no events yet has a cursor to print
// (found from outside: both said "no topic", exit 1).
TEST_F(cli_hardening, reading_commands_refuse_bad_topic_names_and_find_groups_of_empty_topics) {
    ASSERT_EQ(run("publish other 1" + db()).exit_code, 0);
    for (const std::string cmd : {"scan 'bad topic'", "cursor 'bad!' g", "schema show 'bad!'"}) {
        auto r = run(cmd + db(), true);
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("may only contain"), std::string::npos) << cmd << ": " << r.out;
    }
    {
        auto s = test::open_or_die(url_);
        ASSERT_TRUE(s->set_cursor("ghost", "g", seq_t{0}));
    }
    auto r = run("cursor ghost g" + db(), true);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find(R"("seq":0)"), std::string::npos) << r.out;
    auto typo = run("cursor ghost nobody" + db(), true);
    EXPECT_EQ(typo.exit_code, 1) << typo.out;
    EXPECT_NE(typo.out.find("no consumer group 'nobody' on topic 'ghost'"), std::string::npos)
        << typo.out;
}

// A file a user names is read up to a bound, not until memory runs out (found from
// outside: `serve --config /dev/zero` ended in std::bad_alloc); a directory is named as one.
TEST_F(cli_hardening, files_named_on_the_command_line_have_a_size_bound) {
    for (const std::string& cmd :
         std::vector<std::string>{"serve --config /dev/zero", "projector apply /dev/zero" + db(),
                                  "schema set t /dev/zero" + db()}) {
        auto r = run(cmd, true);
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
        EXPECT_NE(r.out.find("is larger than 64 MiB"), std::string::npos) << cmd << ": " << r.out;
    }
    auto dir = run("replay a b --lua /tmp" + db(), true);
    EXPECT_EQ(dir.exit_code, 2) << dir.out;
    EXPECT_NE(dir.out.find("is a directory"), std::string::npos) << dir.out;
    // Under the bound, a JSON file is read whole: one of 20 MB was refused as "larger than
    // 16777216 bytes" (found from outside).
    const std::string big = dir_.file("big.json");
    {
        std::string def = R"({"name":"big","topic":"a","writes":[{"collection":"c",)"
                          R"("key":"{key}","replace":"$payload"}]})";
        def.resize(20'000'000, ' ');
        std::ofstream(big) << def;
    }
    auto applied = run("projector apply " + big + db(), true);
    EXPECT_EQ(applied.exit_code, 0) << applied.out;
    EXPECT_NE(applied.out.find(R"("result":"created")"), std::string::npos) << applied.out;
}

// A port no TCP address has is bad input, not an unreachable gateway (found from outside).
TEST_F(cli_hardening, tail_refuses_a_url_port_out_of_range) {
    for (const std::string url : {"ws://127.0.0.1:99999/ws", "ws://127.0.0.1:0/ws"}) {
        auto r = run("tail t --url " + url + " --limit 1", true);
        EXPECT_EQ(r.exit_code, 2) << url << ": " << r.out;
        EXPECT_NE(r.out.find("the port must be a number from 1 to 65535"), std::string::npos)
            << r.out;
    }
}

TEST_F(cli_hardening, connection_errors_carry_no_boost_source_locations) {
    // Port 1 on loopback: nothing listens there.
    auto r = run("tail t --url ws://127.0.0.1:1/ws --limit 1", true);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("cannot reach the gateway at 127.0.0.1:1: "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("/usr/include"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("[system"), std::string::npos) << r.out;
}

// prom serve waiting for its database at start-up (db_wait, 60 s by default) stops at once
// on SIGTERM or SIGINT. Nothing listens on port 1, so the database stays unavailable.
TEST_F(cli_hardening, serve_waiting_for_its_database_stops_at_once_on_a_signal) {
    for (int sig : {SIGTERM, SIGINT}) {
        std::vector<std::string> args{PROM_BINARY, "serve",
                                      "--listen",  "127.0.0.1:0",
                                      "--db",      "postgresql://postgres@127.0.0.1:1/none"};
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        ASSERT_EQ(::posix_spawn(&pid, PROM_BINARY, nullptr, nullptr, argv.data(), environ), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // inside the wait by now
        auto sent = std::chrono::steady_clock::now();
        ::kill(pid, sig);
        int status = 0;
        pid_t done = 0;
        while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
               std::chrono::steady_clock::now() - sent < std::chrono::seconds(10)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (done == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            FAIL() << "prom serve ignored signal " << sig << " during its start-up wait";
        }
        EXPECT_TRUE(WIFEXITED(status)) << sig;
        EXPECT_EQ(WEXITSTATUS(status), 1) << sig;  // it did not start
    }
}

TEST_F(cli_hardening, second_60_is_a_bad_time_except_for_a_real_leap_second) {
    ASSERT_EQ(run("publish t '{\"a\":1}' --key k --ts 2016-12-31T23:59:59Z" + db()).exit_code, 0);
    auto bad = run("at t k 2023-11-14T22:13:60Z" + db(), true);
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.out.find("second 60"), std::string::npos) << bad.out;
    EXPECT_EQ(run("publish t 1 --ts 2023-11-14T22:13:60Z" + db()).exit_code, 2);
    auto leap = run("at t k 2016-12-31T23:59:60Z" + db());
    EXPECT_EQ(leap.exit_code, 0);
    EXPECT_EQ(leap.out, "{\"seq\":1,\"state\":{\"a\":1},\"ts\":1483228799000}\n");
}

TEST_F(cli_hardening, publish_refuses_a_number_too_large_for_a_double_and_stores_nothing) {
    for (const auto& payload : std::vector<std::string>{"'{\"cpu_pct\":1e400}'", "'[-1e400]'",
                                                        "'[" + std::string(5000, '9') + "]'"}) {
        auto r = run("publish t " + payload + db(), true);
        EXPECT_EQ(r.exit_code, 2) << payload.substr(0, 30);
        EXPECT_NE(r.out.find("number out of range"), std::string::npos) << r.out;
    }
    EXPECT_EQ(run("topics" + db()).out, "");
}

// An unset shell variable gives '' and a typo a number out of range: neither may act as if
// the option were left out (a fresh id, an ignored bound, every topic compacted) or be clamped
// into another number. Exit 2, nothing changed.
TEST_F(cli_hardening, empty_values_and_numbers_out_of_range_are_refused_and_change_nothing) {
    ASSERT_EQ(run("publish t 1 --key k" + db()).exit_code, 0);
    ASSERT_EQ(run("topic policy t --retain-events 5" + db()).exit_code, 0);
    const std::string huge = "18446744073709551616";
    for (const std::string& cmd : std::vector<std::string>{
             "publish t 2 --id ''", "publish t 2 --ts ''", "publish t 2 --key ''", "publish '' 2",
             "publish t 2 --expect-key-seq " + huge, "publish t 2 --expect-key-seq -1",
             "scan t --from-seq -1", "scan t --limit " + huge, "scan t --from-ts ''", "compact ''",
             "topic policy t --retain-events " + huge, "topic policy t --retain-age ''",
             "cursor set t g --to-seq " + huge, "replay t u --batch -1",
             "replay t u --batch " + huge, "tail t --limit -1", "tail '' --limit 1",
             "schema builtin ''"}) {
        auto r = run(cmd + db(), true);
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out;
        EXPECT_TRUE(r.out.find("not allowed") != std::string::npos ||
                    r.out.find("must not be empty") != std::string::npos ||
                    r.out.find("is not a whole number") != std::string::npos)
            << cmd << ": " << r.out;
    }
    // prom's own ids: an erasure marker's, taken first, hid the erasure (found from outside).
    auto reserved = run("publish t 2 --id prom-erased-0123456789abcdef-1" + db(), true);
    EXPECT_EQ(reserved.exit_code, 2) << reserved.out;
    EXPECT_NE(reserved.out.find("reserved"), std::string::npos) << reserved.out;
    auto tail = run("tail 'bad topic' --limit 1" + db(), true);
    EXPECT_EQ(tail.exit_code, 2) << tail.out;
    auto scan = run("scan t" + db());
    EXPECT_EQ(std::count(scan.out.begin(), scan.out.end(), '\n'), 1) << scan.out;
    auto policy = run("topic policy t" + db());
    EXPECT_NE(policy.out.find(R"("max_events":5)"), std::string::npos) << policy.out;
    EXPECT_EQ(run("topics" + db()).out.find("\"u\""), std::string::npos);
}

// A definition or schema the command refuses leaves no new database behind.
TEST_F(cli_hardening, refused_definitions_create_no_database) {
    const std::string fresh = " --db 'sqlite:" + dir_.file("fresh.db") + "'";
    const std::string def = dir_.file("bad.json"), schema = dir_.file("schema.json");
    std::FILE* f = std::fopen(def.c_str(), "w");
    std::fputs(R"({"name":"p","version":1,"topic":"","writes":[]})", f);
    std::fclose(f);
    f = std::fopen(schema.c_str(), "w");
    std::fputs(R"({"type":"object"})", f);
    std::fclose(f);
    EXPECT_EQ(run("projector apply '" + def + "'" + fresh, true).exit_code, 2);
    EXPECT_EQ(run("schema set 'bad topic' '" + schema + "'" + fresh, true).exit_code, 2);
    // prom.alerts holds prom's alarms only: refused before the database is opened.
    auto alarm = run("publish prom.alerts '{}'" + fresh, true);
    EXPECT_EQ(alarm.exit_code, 2);
    EXPECT_NE(alarm.out.find("SLO alarms only"), std::string::npos) << alarm.out;
    EXPECT_FALSE(std::filesystem::exists(dir_.file("fresh.db")));
    EXPECT_EQ(run("schema set good '" + schema + "'" + fresh).exit_code, 0);
    EXPECT_TRUE(std::filesystem::exists(dir_.file("fresh.db")));
}

}  // namespace
}  // namespace prom
