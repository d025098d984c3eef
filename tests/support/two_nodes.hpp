// Two `prom serve` nodes in process on one fresh PostgreSQL schema: the fixture of the
// two-node fault tests (fail-over, NOTIFY between nodes, leases). A test's SetUp() calls
// this SetUp(), then starts a_ and b_ (or more nodes) from node_config() with what it
// changes: which projectors run where, pool sizes, timeouts.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "server/node.hpp"
#include "support/test_support.hpp"

namespace prom::test {

class two_nodes_test : public testing::TestWithParam<backend> {
  protected:
    void SetUp() override { url_ = GetParam().fresh_url(dir_); }
    void TearDown() override {
        if (a_) a_->stop();
        if (b_) b_->stop();
    }

    // What every node here starts from: the shared schema, a free loopback port, small
    // pools, no fsync wait, a short shutdown; the default projectors.
    server::serve_config node_config() const {
        using namespace std::chrono_literals;
        server::serve_config c;
        c.db = url_;
        c.port = 0;
        c.threads = 2;
        c.blocking_threads = 4;
        c.durable = false;
        c.shutdown_deadline = 2s;
        return c;
    }
    // A started node, or null after a test failure saying why it did not start.
    static std::unique_ptr<server::node> start(const server::serve_config& c) {
        auto n = server::node::start(c);
        EXPECT_TRUE(n) << n.error().message;
        return n ? std::move(*n) : nullptr;
    }

    temp_dir dir_;
    std::string url_;
    std::unique_ptr<server::node> a_, b_;
};

}  // namespace prom::test
