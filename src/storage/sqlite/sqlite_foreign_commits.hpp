// Notices the commits of other processes (the CLI, another `prom serve` on the same file),
// which SQLite tells a connection about only when asked (PRAGMA data_version): one thread
// asks every few milliseconds and reports a move, which the store turns into a change of
// unknown extent (change_log.hpp): it wakes every waiter, and the append listeners look for
// themselves what grew.
//
// Each waiting thread used to ask by itself, every 5 ms, and the background threads with
// nothing to wait for woke as often only to ask: the five of `prom serve` kept an idle server
// at ~4% of a core, with ~1,000 wake-ups a second (docs/benchmarks.md, "One thread asks
// about other processes' commits"). Now they sleep until a change, or until work arrives.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace prom::storage::sqlite {

class foreign_commit_watcher {
  public:
    // How often another process's commit is looked for: the longest it goes unnoticed.
    static constexpr std::chrono::milliseconds interval{5};

    // `moved`: whether another process committed since the last call (false when it cannot
    // tell now; the next interval asks again). `changed`: called after a move. Both run on
    // this object's thread, and must outlive it.
    foreign_commit_watcher(std::function<bool()> moved, std::function<void()> changed);
    ~foreign_commit_watcher();
    foreign_commit_watcher(const foreign_commit_watcher&) = delete;
    foreign_commit_watcher& operator=(const foreign_commit_watcher&) = delete;

  private:
    void run();

    std::function<bool()> moved_;
    std::function<void()> changed_;
    std::mutex mu_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;  // guarded by mu_
    std::thread thread_;     // last: starts once everything above exists
};

}  // namespace prom::storage::sqlite
