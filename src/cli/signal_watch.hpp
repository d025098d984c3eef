// prom serve's signals: the first SIGINT/SIGTERM starts the shutdown, and from then on the
// shutdown has a hard limit, so that nothing a request, a projector or another process holding
// the database can do keeps the process alive (docs/config.md, shutdown_deadline_ms).
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <thread>

namespace prom::cli {

class signal_watch {
  public:
    // `signals` (SIGINT among them: finish() wakes the watch with it) must already be blocked
    // in every thread (the caller blocks them before any thread starts). After the first of
    // them, the process ends with status 1 if the shutdown is not over within `hard_limit`,
    // or at once on a second signal: every acknowledged publish and every projector batch is
    // committed before it is reported, so ending there loses nothing that was reported done,
    // as after kill -9.
    signal_watch(const sigset_t& signals, std::chrono::milliseconds hard_limit);
    ~signal_watch();
    signal_watch(const signal_watch&) = delete;
    signal_watch& operator=(const signal_watch&) = delete;

    std::stop_token token() const { return stop_.get_token(); }
    // Blocks until the first signal; 0 if finish() came first.
    int wait_for_signal();
    // The shutdown is over (or never started): the watch ends without ending the process.
    void finish();

  private:
    void run();
    void wait_out_shutdown();

    sigset_t signals_;
    std::chrono::milliseconds hard_limit_;
    std::stop_source stop_;
    std::atomic<int> signal_{0};
    std::atomic<bool> finished_{false};
    std::thread thread_;
};

}  // namespace prom::cli
