// Sleeping that a stop request cuts short. The background loops of `prom serve` (the
// database wait at start-up, SLO checks, retention rounds and a pass's pauses) must end at
// once on SIGINT/SIGTERM rather than finish their sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace prom {

// Sleeps until `when` or until `stop` is requested; false when it was stopped.
template <class Clock, class Duration>
bool sleep_until_stopped(std::stop_token stop, std::chrono::time_point<Clock, Duration> when) {
    std::mutex mu;
    std::condition_variable_any wake;
    std::unique_lock lock(mu);
    (void)wake.wait_until(lock, stop, when, [] { return false; });  // only a stop wakes it
    return !stop.stop_requested();
}

template <class Rep, class Period>
bool sleep_for_unless_stopped(std::stop_token stop, std::chrono::duration<Rep, Period> d) {
    return sleep_until_stopped(std::move(stop), std::chrono::steady_clock::now() + d);
}

}  // namespace prom
