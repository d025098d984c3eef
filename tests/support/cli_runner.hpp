// Runs the `prom` binary (PROM_BINARY, set by tests/CMakeLists.txt for integration tests)
// through the shell, as a user would.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace prom::test {

struct ran {
    int exit_code;
    std::string out;  // stdout, and stderr too when asked
};

inline ran run_prom(const std::string& args, bool with_stderr = false) {
    std::string cmd =
        std::string(PROM_BINARY) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace prom::test
