#include "cli/signal_watch.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

#include "core/thread_name.hpp"

namespace prom::cli {

namespace {

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

[[noreturn]] void end_now(int status) {
    spdlog::default_logger()->flush();
    // Not exit(): destructors and atexit handlers would wait for the very threads that are
    // stuck. What was committed is on disk; the database recovers its journal on next open.
    ::_exit(status);
}

}  // namespace

signal_watch::signal_watch(const sigset_t& signals, std::chrono::milliseconds hard_limit)
    : signals_(signals), hard_limit_(hard_limit), thread_([this] { run(); }) {}

signal_watch::~signal_watch() {
    finish();
    if (thread_.joinable()) thread_.join();
}

int signal_watch::wait_for_signal() {
    // The watch thread requests the stop on the first signal, finish() when start-up failed.
    std::mutex mu;
    std::condition_variable_any never;
    std::unique_lock lock(mu);
    never.wait(lock, stop_.get_token(), [] { return false; });
    return signal_.load();
}

void signal_watch::finish() {
    if (finished_.exchange(true)) return;
    stop_.request_stop();
    // Wakes the watch thread from sigwait/sigtimedwait (SIGINT is one of the signals it
    // waits for, and only this thread gets it); it sees finished_ and returns.
    if (thread_.joinable()) pthread_kill(thread_.native_handle(), SIGINT);
}

void signal_watch::run() {
    name_this_thread("prom-signals");
    int got = 0;
    sigwait(&signals_, &got);
    if (finished_) return;
    signal_ = got;
    stop_.request_stop();
    wait_out_shutdown();
}

void signal_watch::wait_out_shutdown() {
    const auto limit = std::chrono::steady_clock::now() + hard_limit_;
    for (;;) {
        const auto left = limit - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) break;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timespec wait{.tv_sec = static_cast<time_t>(ns / 1'000'000'000),
                      .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
        const int again = sigtimedwait(&signals_, nullptr, &wait);
        if (finished_) return;
        if (again > 0) {
            spdlog::error("prom serve: a second signal ({}) while shutting down; exiting now",
                          signal_name(again));
            end_now(1);
        }
        // EAGAIN: the limit passed; EINTR: another signal interrupted the wait, wait on.
        if (again < 0 && errno != EAGAIN && errno != EINTR) break;
    }
    spdlog::error(
        "prom serve: shutdown not over {} ms after {} (something still waits, e.g. for a "
        "database another process holds locked); exiting now",
        hard_limit_.count(), signal_name(signal_.load()));
    end_now(1);
}

}  // namespace prom::cli
