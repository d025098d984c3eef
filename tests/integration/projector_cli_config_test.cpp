// `prom projector apply|ls|show|rm` and the "projectors" / "projectors_dir" settings of
// `prom serve` (docs/projectors.md).
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "prom/json.hpp"
#include "server/node.hpp"
#include "support/cli_runner.hpp"
#include "support/http_client.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view counts_v1 =
    R"({"name":"counts","version":1,"topic":"order.*",)"
    R"("writes":[{"collection":"orders","key":"{key}","update":{"$inc":{"n":1}}}]})";

using test::eventually;

class projector_files : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        url_ = test::integration_db_url(dir_);
    }
    std::string db() const { return " --db '" + url_ + "'"; }
    std::string write(const std::string& name, std::string_view text) {
        auto path = dir_.file(name);
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        std::ofstream(path) << text;
        return path;
    }
    test::ran run(const std::string& args) { return test::run_prom(args, true); }

    server::serve_config config() {
        server::serve_config c;
        c.db = url_;
        c.port = 0;
        c.threads = 1;
        c.blocking_threads = 2;
        c.durable = false;
        c.projectors.clear();
        c.shutdown_deadline = 2s;
        return c;
    }

    // config() with what the config file `conf` sets, on this test's database and a free
    // port, without the built-in projectors (not under test here).
    server::serve_config serve_config_of(const std::string& conf) {
        auto c = config();
        EXPECT_TRUE(server::load_config_file(conf, c));
        c.db = url_;
        c.port = 0;
        c.projectors.clear();
        return c;
    }
    json::value doc(std::uint16_t port, std::string_view target) {
        auto r = test::http_request(port, "GET", target);
        return r.status == 200 ? *parse_json(r.body) : json::value(nullptr);
    }

    test::temp_dir dir_;
    std::string url_;
};

TEST_F(projector_files, apply_ls_show_rm_round_trip) {
    auto file = write("counts.json", counts_v1);
    auto a = run("projector apply " + file + db());
    ASSERT_EQ(a.exit_code, 0) << a.out;
    EXPECT_EQ(parse_json(a.out)->at("result"), "created");
    auto again = run("projector apply " + file + db());
    EXPECT_EQ(parse_json(again.out)->at("result"), "unchanged");
    auto from_stdin = run("projector apply -" + db() + " < " + file);
    EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.out;

    auto ls = run("projector ls" + db());
    ASSERT_EQ(ls.exit_code, 0) << ls.out;
    auto line = parse_json(ls.out.substr(0, ls.out.find('\n')));
    ASSERT_TRUE(line) << ls.out;
    EXPECT_EQ(line->at("name"), "counts");
    EXPECT_EQ(line->at("version"), 1);
    EXPECT_EQ(line->at("state"), "running");

    auto show = run("projector show counts" + db());
    ASSERT_EQ(show.exit_code, 0) << show.out;
    EXPECT_EQ(parse_json(show.out)->at("definition").at("topic"), "order.*");
    EXPECT_EQ(run("projector show nope" + db()).exit_code, 1);

    EXPECT_EQ(run("projector rm counts" + db()).exit_code, 0);
    EXPECT_EQ(run("projector rm counts" + db()).exit_code, 1);
    EXPECT_EQ(run("projector ls" + db()).out, "");
}

TEST_F(projector_files, a_bad_definition_prints_its_pointer_and_exits_2) {
    auto bad = write(
        "bad.json",
        R"({"name":"b","version":1,"topic":"a","writes":[{"collection":"c","key":"{key}","update":{"$inc":{"n":"x"}}}]})");
    auto r = run("projector apply " + bad + db());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.out.find("invalid projector at /writes/0/update"), std::string::npos) << r.out;
    // A problem of the whole body reads as one too (found from outside: "invalid projector a
    // definition needs writes, emit or lua").
    auto whole =
        run("projector apply " + write("bare.json", R"({"name":"x","topic":"t.x"})") + db());
    EXPECT_EQ(whole.exit_code, 2);
    EXPECT_NE(whole.out.find("invalid projector: "), std::string::npos) << whole.out;
    EXPECT_EQ(run("projector apply " + write("nojson.json", "{oops") + db()).exit_code, 2);
    EXPECT_EQ(run("projector apply " + dir_.file("missing.json") + db()).exit_code, 2);
    // Nothing stored: refused definitions do not even create the database.
    auto ls = run("projector ls" + db());
    EXPECT_EQ(ls.exit_code, 1) << ls.out;
    EXPECT_NE(ls.out.find("nothing was created"), std::string::npos) << ls.out;
    auto help = run("projector --help");
    EXPECT_NE(help.out.find("apply"), std::string::npos);
    EXPECT_NE(help.out.find("rm"), std::string::npos);
}

// A rebuild says the version applied, and the one serving until its swap (found from
// outside: it printed the serving version alone).
TEST_F(projector_files, applying_a_rebuild_names_both_versions) {
    ASSERT_EQ(run("projector apply " + write("counts.json", counts_v1) + db()).exit_code, 0);
    std::string v2(counts_v1);
    v2.replace(v2.find(R"("version":1)"), 11, R"("version":2,"rebuild":true)");
    auto rebuild = run("projector apply " + write("counts2.json", v2) + db());
    ASSERT_EQ(rebuild.exit_code, 0) << rebuild.out;
    auto said = parse_json(rebuild.out);
    ASSERT_TRUE(said) << rebuild.out;
    EXPECT_EQ(said->at("version"), 2);
    EXPECT_EQ(said->at("serving_version"), 1);
    EXPECT_EQ(said->at("rebuilding"), true);
}

TEST_F(projector_files, a_running_server_picks_up_a_cli_apply_live) {
    auto n = server::node::start(config());
    ASSERT_TRUE(n) << n.error().message;
    auto port = (*n)->port();
    ASSERT_EQ(run("publish order.created '{}' --key o1" + db()).exit_code, 0);
    ASSERT_EQ(run("projector apply " + write("counts.json", counts_v1) + db()).exit_code, 0);
    ASSERT_TRUE(eventually([&] {
        auto d = doc(port, "/collections/orders/snap/o1");
        return d.is_object() && d.at("n") == 1;
    }));
    ASSERT_EQ(run("projector rm counts" + db()).exit_code, 0);
    ASSERT_TRUE(eventually(
        [&] { return test::http_request(port, "GET", "/projectors/counts").status == 404; }));
    (*n)->stop();
}

TEST_F(projector_files, serve_applies_the_files_and_the_folder_of_its_config) {
    write("conf/projectors/orders.json", counts_v1);
    write(
        "conf/more/a.json",
        R"({"name":"a","version":1,"topic":"x","writes":[{"collection":"xa","key":"{key}","update":{"$inc":{"n":1}}}]})");
    write(
        "conf/more/b.json",
        R"({"name":"b","version":1,"topic":"x","writes":[{"collection":"xb","key":"{key}","update":{"$inc":{"n":1}}}]})");
    write("conf/more/ignored.txt", "not a definition");
    auto conf = write(
        "conf/prom.json",
        R"({"projectors":["process",{"file":"projectors/orders.json"}],"projectors_dir":"more"})");
    auto c = serve_config_of(conf);
    auto n = server::node::start(c);
    ASSERT_TRUE(n) << n.error().message;
    auto list = parse_json(test::http_request((*n)->port(), "GET", "/projectors").body);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->at("count"), 3);
    (*n)->stop();
    n->reset();

    // A bad definition file stops the start-up, naming the file and the field.
    write(
        "conf/more/c.json",
        R"({"name":"c","version":1,"topic":"x","writes":[{"collection":"xc","key":"{key}","update":{"$inc":{"n":"x"}}}]})");
    auto refused = server::node::start(c);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("c.json"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("/writes/0/update"), std::string::npos)
        << refused.error().message;
}

// One file named in `projectors` and found in projectors_dir too is one definition (found
// from outside: the start was refused, naming that file twice).
TEST_F(projector_files, a_file_named_in_both_places_is_read_once) {
    write("conf/more/a.json", counts_v1);
    auto conf = write("conf/prom.json",
                      R"({"projectors":[{"file":"more/a.json"},{"file":"./more/a.json"}],)"
                      R"("projectors_dir":"more"})");
    auto c = serve_config_of(conf);
    auto n = server::node::start(c);
    ASSERT_TRUE(n) << n.error().message;
    auto list = parse_json(test::http_request((*n)->port(), "GET", "/projectors").body);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->at("count"), 1);
    (*n)->stop();
}

// Found from outside: two files of one projector were applied in turn at every start, the
// last winning without a word; and a start refused for a file's version left the files
// before it applied.
TEST_F(projector_files, a_start_refused_for_its_files_applies_none_of_them) {
    write("conf/more/a.json", counts_v1);
    write("conf/more/b.json", counts_v1);
    auto conf = write("conf/prom.json", R"({"projectors_dir":"more"})");
    auto c = serve_config_of(conf);
    auto twice = server::node::start(c);
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().message.find("projector 'counts' is defined in "), std::string::npos)
        << twice.error().message;
    EXPECT_EQ(run("projector show counts" + db()).exit_code, 1);  // nothing applied

    std::filesystem::remove(dir_.file("conf/more/b.json"));
    ASSERT_EQ(run("projector apply " +
                  write("v2.json", std::string(counts_v1).replace(counts_v1.find("\"version\":1"),
                                                                  11, "\"version\":2")) +
                  db())
                  .exit_code,
              0);
    write(
        "conf/more/0-other.json",
        R"({"name":"other","version":1,"topic":"x","writes":[{"collection":"xo","key":"{key}","update":{"$inc":{"n":1}}}]})");
    c = serve_config_of(conf);
    auto refused = server::node::start(c);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("is lower than the stored version 2"), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(run("projector show other" + db()).exit_code, 1);  // not applied
}

}  // namespace
}  // namespace prom
