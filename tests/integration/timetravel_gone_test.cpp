// Time travel after a compaction pass, from the outside (docs/time-travel.md, "The horizon
// rule"): GET /at answers 410 {"error":"gone","horizon","message"} between a key's first
// dropped ts and its base, and `prom at` prints the message and exits 1; after the base both
// answer exactly as before the pass. SQLite, and PostgreSQL with the `.postgres` suffix.
#include "retention/retention.hpp"
#include "support/cli_runner.hpp"
#include "support/server_fixture.hpp"

namespace prom::test {
namespace {

class timetravel_gone : public server_test {
  protected:
    void publish(std::int64_t ts, std::string_view payload) {
        auto r =
            post_json("/publish", R"({"topic":"orders","key":"o1","ts":)" + std::to_string(ts) +
                                      R"(,"payload":)" + std::string(payload) + "}");
        ASSERT_EQ(r.status, 200) << r.body;
    }
    void compact() {
        retention::policy p;
        p.pattern = "orders";
        p.compact = retention::compact_rule{std::chrono::milliseconds(100)};
        // cutoff 4000 - 100: (1000) and (2000) go, (3000) is the last before it.
        auto r = retention::run_pass(db(), "orders", p, {.now = ts_ms{4000}});
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_EQ(r->compacted, 2);
    }
};

TEST_F(timetravel_gone, at_is_410_with_the_horizon_between_the_drops_and_exact_after) {
    publish(1000, R"({"a":1})");
    publish(2000, R"({"b":2})");
    publish(3000, R"({"c":3})");
    publish(5000, R"({"d":4})");
    auto before = get("/at/orders/o1?t=2500&reducer=merge");
    ASSERT_EQ(before.status, 200) << before.body;
    compact();

    auto gone = get("/at/orders/o1?t=1500&reducer=merge");
    EXPECT_EQ(gone.status, 410) << gone.body;
    auto v = parse_json(gone.body);
    ASSERT_TRUE(v && v->is_object()) << gone.body;
    EXPECT_EQ(v->at("error").as_string(), "gone");
    EXPECT_EQ(v->at("horizon").as_int64(), 2000);
    EXPECT_FALSE(v->at("message").as_string().empty());
    auto all = get("/at/orders?t=1500");
    EXPECT_EQ(all.status, 410) << all.body;
    EXPECT_NE(all.body.find(R"("horizon":2000)"), std::string::npos) << all.body;

    auto after = get("/at/orders/o1?t=2500&reducer=merge");
    EXPECT_EQ(after.status, 200) << after.body;
    EXPECT_EQ(after.body, before.body);  // exactly as before the pass
    auto early = get("/at/orders/o1?t=999");
    EXPECT_EQ(early.status, 404) << early.body;  // before the first drop: exact (no state)

    // A late event below the horizon is refused with the horizon; at it, accepted.
    auto late = post_json("/publish", R"({"topic":"orders","key":"o1","ts":1999,"payload":1})");
    EXPECT_EQ(late.status, 410) << late.body;
}

TEST_F(timetravel_gone, prom_at_prints_the_message_and_exits_1) {
    publish(1000, R"({"a":1})");
    publish(2000, R"({"b":2})");
    publish(3000, R"({"c":3})");
    compact();
    const std::string db_arg = " --db '" + db_url_ + "'";
    auto gone = run_prom("at orders o1 1500 --reducer merge" + db_arg, true);
    EXPECT_EQ(gone.exit_code, 1);
    EXPECT_NE(gone.out.find("gone"), std::string::npos) << gone.out;
    EXPECT_NE(gone.out.find("2000"), std::string::npos) << gone.out;
    auto all = run_prom("at orders --all 1500" + db_arg, true);
    EXPECT_EQ(all.exit_code, 1);
    EXPECT_EQ(all.out.find("\"key\""), std::string::npos) << "no half answer: " << all.out;
    auto after = run_prom("at orders o1 2000 --reducer merge" + db_arg);
    EXPECT_EQ(after.exit_code, 0);
    EXPECT_EQ(after.out, "{\"seq\":2,\"state\":{\"a\":1,\"b\":2},\"ts\":2000}\n");
}

}  // namespace
}  // namespace prom::test
