// Small helpers shared by the benchmarks: run a scenario in a child process (so each one
// reports its own peak RSS), time it, print a table.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

// Callgrind's client requests (from Debian's valgrind): no-ops unless run under it.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define PROM_BENCH_CALLGRIND 1
#endif

namespace prom::bench {

struct measured {
    double events = 0;   // how many units of work
    double seconds = 0;  // how long they took
    long peak_rss_kb = 0;
    double cpu_seconds = 0;  // user + system time of the whole child (all its threads)
    double rate() const { return seconds > 0 ? events / seconds : 0; }
    double cpu_us_per_event() const { return events > 0 ? cpu_seconds * 1e6 / events : 0; }
};

// The middle value of rounds (the upper one of the two middle ones for an even count).
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

inline long peak_rss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// CPU time is steadier than rates on a shared machine (docs/benchmarks.md).
inline double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

// Instructions, counted by callgrind: a count that does not move with the machine's load,
// unlike any clock here (bench/instructions.sh). Each call writes out (and so restarts)
// every thread's count so far: instructions_from_here() as "setup", which is dropped,
// instructions_until_here() as "<name> events=<n>". (CALLGRIND_ZERO_STATS would restart
// only the calling thread's, leaving the writer's loading in the measured part.) Both do
// nothing unless the bench runs under callgrind.
inline void instructions_from_here() {
#ifdef PROM_BENCH_CALLGRIND
    CALLGRIND_DUMP_STATS_AT("setup");
#endif
}

inline void instructions_until_here([[maybe_unused]] const std::string& name,
                                    [[maybe_unused]] double events) {
#ifdef PROM_BENCH_CALLGRIND
    const std::string label = name + " events=" + std::to_string(static_cast<long>(events));
    CALLGRIND_DUMP_STATS_AT(label.c_str());
#endif
}

// Runs `scenario` in a forked child; the child reports {events, seconds} through a pipe,
// its own peak RSS and its CPU time (the scenario's own figure when it sets one).
// Returns seconds = -1 when the child failed.
inline measured in_child(const std::function<measured()>& scenario) {
    std::fflush(stdout);  // or the child prints the parent's buffered lines again
    int fds[2];
    if (pipe(fds) != 0) return {0, -1, 0};
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        double cpu0 = cpu_seconds();
        measured m = scenario();
        m.peak_rss_kb = peak_rss_kb();
        // A scenario that timed only part of its work (after loading) reports that part's.
        if (m.cpu_seconds == 0) m.cpu_seconds = cpu_seconds() - cpu0;
        (void)!write(fds[1], &m, sizeof m);
        _exit(0);
    }
    close(fds[1]);
    measured m{0, -1, 0};
    if (read(fds[0], &m, sizeof m) != static_cast<ssize_t>(sizeof m)) m = {0, -1, 0};
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return m;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A scratch directory for one benchmark run, removed at exit.
struct scratch_dir {
    std::filesystem::path path;
    scratch_dir() {
        path = std::filesystem::temp_directory_path() / ("prom-bench-" + std::to_string(getpid()));
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string db(const std::string& name) const { return "sqlite:" + (path / name).string(); }
};

}  // namespace prom::bench
