// The prom binary runs on jemalloc when built with PROM_JEMALLOC (the default outside the
// sanitizers; CMakeLists.txt): the publish path's cost depends on it (docs/benchmarks.md,
// "jemalloc for the prom program"), so a build that fell back to glibc's malloc fails here.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace prom {
namespace {

#if PROM_JEMALLOC
// jemalloc prints its statistics at exit when MALLOC_CONF asks it to; glibc's malloc does
// not know the variable.
TEST(allocator, the_prom_binary_allocates_with_jemalloc) {
    std::string cmd =
        "MALLOC_CONF=stats_print:true " + std::string(PROM_BINARY) + " --version 2>&1 >/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string err;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) err.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    EXPECT_NE(err.find("jemalloc statistics"), std::string::npos) << err.substr(0, 500);
}
#endif

}  // namespace
}  // namespace prom
