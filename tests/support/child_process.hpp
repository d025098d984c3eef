// A child process for the kill -9 tests: started with execv (no shell, so its pid is the
// program's and SIGKILL reaches it), waited for with its exit code or signal.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace prom::test {

// args[0] is the program's path. quiet: its stdout goes to /dev/null.
inline pid_t spawn(const std::vector<std::string>& args, bool quiet = false) {
    pid_t pid = ::fork();
    if (pid == 0) {
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        if (quiet) {
            if (FILE* null = std::fopen("/dev/null", "w")) ::dup2(fileno(null), STDOUT_FILENO);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// The exit code, or -signal when a signal ended it.
inline int wait_exit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

}  // namespace prom::test
