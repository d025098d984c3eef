// The gateway against a WebSocket client nobody on this project wrote: Node's `ws`
// (Debian's node-ws, installed by scripts/setup.sh).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "prom/harness.hpp"
#include "support/test_support.hpp"

namespace prom {
namespace {

TEST(ws_interop, nodes_ws_package_subscribes_publishes_and_receives) {
    if (test::integration_backend_missing()) GTEST_SKIP() << "no PROM_TEST_PG_URL";
    test::temp_dir dir;
    auto h = harness::start({.db = test::integration_db_url(dir, "memory:")});
    ASSERT_TRUE(h) << h.error().message;
    std::string cmd = "NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs node " PROM_WS_INTEROP_JS " " +
                      std::to_string((*h)->port()) + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    std::array<char, 512> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int status = ::pclose(p);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << out;
    EXPECT_EQ(out, "ok interop:node:42\n");
}

}  // namespace
}  // namespace prom
