// A watch on node B streams the documents a projector on node A writes (docs/watches.md):
// B learns of A's commits through NOTIFY and reads the shared change log. A reconnect to B
// with Last-Event-ID replays exactly what it missed. Only for postgres.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "prom/json.hpp"
#include "server/node.hpp"
#include "support/http_client.hpp"
#include "support/sse_client.hpp"
#include "support/test_support.hpp"
#include "support/two_nodes.hpp"

namespace prom {
namespace {

using namespace std::chrono_literals;

class pg_two_nodes_watch : public test::two_nodes_test {
  protected:
    void SetUp() override {
        two_nodes_test::SetUp();
        // Only A projects: every document B streams was written by another node.
        auto c = node_config();
        c.projectors = {"process"};
        a_ = start(c);
        c.projectors.clear();
        b_ = start(c);
        ASSERT_TRUE(a_ && b_);
    }

    void publish_on_a(const std::string& id, int n) {
        auto p = test::http_request(
            a_->port(), "POST", "/publish", {{"Content-Type", "application/json"}},
            R"({"topic":"process.state","key":")" + id + R"(","payload":{"processId":")" + id +
                R"(","host":"h","status":"alive","n":)" + std::to_string(n) + "}}");
        ASSERT_EQ(p.status, 200) << p.body;
    }

    static std::string key_of(const test::sse_event& e) {
        auto v = parse_json(e.data);
        if (!v || !v->is_object()) return {};
        return std::string(v->at("key").as_string());
    }
};

TEST_P(pg_two_nodes_watch, a_watch_on_b_sees_what_a_projects_and_resumes_without_gaps) {
    publish_on_a("w-first", 0);
    auto until = std::chrono::steady_clock::now() + 10s;
    while (test::http_request(b_->port(), "GET", "/collections/processes/snap/w-first").status !=
               200 &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(20ms);
    }
    std::string resume_from;
    {
        test::sse_client w(b_->port(), "/collections/processes/watch?prefix=w-");
        ASSERT_TRUE(w.streaming()) << w.reply().status << " " << w.reply().body;
        std::this_thread::sleep_for(200ms);  // the watch is registered once the stream began
        std::set<std::string> want;
        for (int i = 0; i < 20; ++i) {
            want.insert("w-" + std::to_string(i));
            publish_on_a("w-" + std::to_string(i), i);
        }
        std::set<std::string> got;
        std::int64_t last = 0;
        while (got.size() < want.size()) {
            auto e = w.next(10s);
            ASSERT_TRUE(e) << "got " << got.size() << " of " << want.size();
            std::int64_t id = std::stoll(e->id);
            EXPECT_GT(id, last);  // in seq order, each once
            last = id;
            got.insert(key_of(*e));
        }
        EXPECT_EQ(got, want);
        resume_from = w.last_event_id();
    }
    for (int i = 20; i < 25; ++i) publish_on_a("w-" + std::to_string(i), i);
    test::sse_client again(b_->port(), "/collections/processes/watch?prefix=w-",
                           {{"Last-Event-ID", resume_from}});
    ASSERT_TRUE(again.streaming()) << again.reply().body;
    std::set<std::string> missed;
    while (missed.size() < 5) {
        auto e = again.next(10s);
        ASSERT_TRUE(e) << "got " << missed.size() << " of 5";
        EXPECT_GT(std::stoll(e->id), std::stoll(resume_from));
        auto k = key_of(*e);
        EXPECT_TRUE(missed.insert(k).second) << k << " twice";
    }
    EXPECT_EQ(missed, (std::set<std::string>{"w-20", "w-21", "w-22", "w-23", "w-24"}));
    EXPECT_TRUE(again.drain(500ms).empty());
}

INSTANTIATE_TEST_SUITE_P(postgres, pg_two_nodes_watch, testing::ValuesIn(test::postgres_backends()),
                         test::backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(pg_two_nodes_watch);

}  // namespace
}  // namespace prom
