// `prom at` and `prom process-at`, driven as README.md's CLI list and docs/time-travel.md say:
// output, exit codes, times.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "prom/json.hpp"
#include "support/cli_runner.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

using test::ran;

ran run(const std::string& args, bool with_stderr = false) {
    return test::run_prom(args, with_stderr);
}

class at_cli : public testing::Test {
  protected:
    void SetUp() override {
        if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
        // Out of order on purpose: seq 3 (10:30) folds before seq 2 (11:00).
        publish("t", "k", R"({"a":1,"b":2})", "2026-11-26T10:00:00Z");
        publish("t", "k", R"({"b":null,"c":3})", "2026-11-26T11:00:00Z");
        publish("t", "k", R"({"a":5})", "2026-11-26T10:30:00Z");
        publish("t", "j", R"({"z":1})", "2026-11-26T10:15:00Z");
    }
    void publish(const std::string& topic, const std::string& key, const std::string& payload,
                 const std::string& ts) {
        ASSERT_EQ(
            run("publish " + topic + " '" + payload + "' --key '" + key + "' --ts " + ts + db())
                .exit_code,
            0);
    }
    std::string db() const { return " --db '" + url_ + "'"; }
    test::temp_dir dir_;
    std::string url_ = test::integration_db_url(dir_);  // after dir_: made from it
};

TEST_F(at_cli, prints_the_replaced_state_at_t_with_its_position) {
    auto r = run("at t k 2026-11-26T10:45:00Z" + db());
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "{\"seq\":3,\"state\":{\"a\":5},\"ts\":1795689000000}\n");
}

TEST_F(at_cli, merge_folds_patches_in_ts_order_and_takes_a_zoned_time) {
    auto r = run("at --reducer merge t k 2026-11-26T12:00:00+01:00" + db());
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "{\"seq\":2,\"state\":{\"a\":5,\"c\":3},\"ts\":1795690800000}\n");
    auto ms = run("at t k 1795689000000 --reducer merge" + db());
    EXPECT_EQ(ms.out, "{\"seq\":3,\"state\":{\"a\":5,\"b\":2},\"ts\":1795689000000}\n");
}

TEST_F(at_cli, no_event_at_or_before_t_is_a_message_and_exit_1) {
    auto r = run("at t k 2026-11-26T09:59:59.999Z" + db(), true);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.out.find("no state"), std::string::npos) << r.out;
    EXPECT_EQ(run("at nope k 2026-11-26T12:00:00Z" + db()).exit_code, 1);
}

TEST_F(at_cli, bad_time_or_reducer_or_arity_is_exit_2) {
    auto r = run("at t k yesterday" + db(), true);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.out.find("bad time"), std::string::npos) << r.out;
    EXPECT_EQ(run("at t k 2026-11-26T12:00:00" + db()).exit_code, 2);  // no zone
    EXPECT_EQ(run("at t k 5 --reducer sum" + db()).exit_code, 2);
    EXPECT_EQ(run("at t k" + db()).exit_code, 2);
    EXPECT_EQ(run("at t --all" + db()).exit_code, 2);
}

TEST_F(at_cli, all_streams_every_key_with_a_state_as_ndjson) {
    auto r = run("at t --all 2026-11-26T10:20:00Z --reducer merge" + db());
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out,
              "{\"key\":\"j\",\"seq\":4,\"state\":{\"z\":1},\"ts\":1795688100000}\n"
              "{\"key\":\"k\",\"seq\":1,\"state\":{\"a\":1,\"b\":2},\"ts\":1795687200000}\n");
    EXPECT_EQ(run("at t --all 1000" + db()).exit_code, 1);
}

TEST_F(at_cli, process_at_reads_process_state) {
    publish("process.state", "h:api:7", R"({"status":"alive"})", "1000");
    publish("process.state", "h:api:7", R"({"status":"stale"})", "2000");
    auto r = run("process-at h:api:7 1999" + db());
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "{\"seq\":1,\"state\":{\"status\":\"alive\"},\"ts\":1000}\n");
    EXPECT_EQ(run("process-at h:api:7 999" + db()).exit_code, 1);
}

}  // namespace
}  // namespace prom
