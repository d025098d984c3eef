// Requests that wait for projectors' cursors (read-your-writes, publish?wait_for), without
// a thread per request (docs/http-api.md, "Read-your-writes").
//
// A waiter is a list of conditions "cursor(topic, group) >= seq" and a deadline. One
// watcher thread serves them all: whenever the store's change counter moves (any commit:
// this node's, another process's through SQLite's data_version, another node's through
// PostgreSQL NOTIFY) it reads the cursors that pending waiters name, once per (topic,
// group) however many wait on it, and completes every waiter whose conditions now hold;
// it also completes waiters whose deadline passed. A projector commits its documents and
// its cursor in one transaction, so "cursor >= seq" means the documents include event seq.
//
// The cursors it last read stay in a small cache, so a waiter whose conditions already
// hold is answered on the calling thread without touching the store; cursors only move
// forward, so a cached value is never too high.
//
// Thread-safe. Callbacks run on the watcher thread, or on the calling thread of wait()
// (already caught up) and cancel() (cancelled); they must be quick and must not call back
// into this object. stop() (or destruction) answers every pending waiter as if its deadline
// had passed, and later waiters at once the same way; the store must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.hpp"
#include "prom/store.hpp"

namespace prom::consistency {

struct cursor_condition {
    std::string projector;  // for the not_caught_up answer
    std::string topic;
    std::string group;
    seq_t seq{};  // met when cursor(topic, group) >= seq
};

struct cursor_wait_outcome {
    enum class kind { caught_up, timed_out, cancelled };
    kind what = kind::caught_up;
    // timed_out: the first condition still unmet and the cursor last read for it (0: none).
    std::optional<cursor_condition> behind;
    seq_t cursor{};
    // timed_out with the store unable to say where that cursor is (the database away): why,
    // so that it is answered as unavailable rather than with a cursor it did not read.
    std::optional<std::string> unreadable;
};

using cursor_wait_callback = std::move_only_function<void(cursor_wait_outcome)>;

class cursor_waiters {
  public:
    using clock = std::chrono::steady_clock;

    // `tick`: how long the watcher sleeps at most between looks at new waiters and
    // deadlines when nothing commits.
    explicit cursor_waiters(store& s,
                            std::chrono::milliseconds tick = std::chrono::milliseconds(10));
    ~cursor_waiters();
    cursor_waiters(const cursor_waiters&) = delete;
    cursor_waiters& operator=(const cursor_waiters&) = delete;

    // The groups whose cursors decide a condition now, all of which must reach its seq
    // (written into `groups`, cleared first). Unset: the condition's own group. A projector
    // whose rebuild swaps in is decided by both its groups while the swap commits and by the
    // new one after it (userproj::supervisor::groups_deciding), so that a wait answered
    // around a swap is one the collection read next has applied. Set before the first wait;
    // it runs under this object's lock and must not call back into it.
    using group_resolver =
        std::function<void(const cursor_condition& c, std::vector<std::string>& groups)>;
    void set_group_resolver(group_resolver r);

    // Registers a waiter; returns its id (for cancel). Never blocks on the store.
    std::uint64_t wait(std::vector<cursor_condition> conditions, clock::time_point deadline,
                       cursor_wait_callback done);
    // Drops a pending waiter (its client went away): `done` runs with cancelled on this
    // thread. Nothing when it already completed.
    void cancel(std::uint64_t id);
    // Joins the thread, then completes every pending waiter as at its deadline (caught up or
    // timed out, by the cursors last read); later waiters are completed at once the same way.
    void stop();

    std::size_t active() const;  // pending waiters, for /metrics
    std::uint64_t completed() const;

  private:
    struct waiter {
        std::vector<cursor_condition> conditions;
        clock::time_point deadline;
        cursor_wait_callback done;
    };
    using cursor_key = std::pair<std::string, std::string>;  // (topic, group)

    void run();
    // The outcome if `w` is complete now (caught up, or past its deadline).
    std::optional<cursor_wait_outcome> settled(const waiter& w, clock::time_point now) const
        PROM_REQUIRES(mu_);
    void deciding_groups(const cursor_condition& c, std::vector<std::string>& groups) const
        PROM_REQUIRES(mu_);

    store& store_;
    const std::chrono::milliseconds tick_;
    mutable prom::mutex mu_;
    std::condition_variable idle_cv_;  // the watcher, without waiters, waits here
    std::map<std::uint64_t, waiter> pending_ PROM_GUARDED_BY(mu_);
    std::map<cursor_key, seq_t> cursors_ PROM_GUARDED_BY(mu_);  // the values last read
    // Cursors whose last read failed, with the store's error (cleared by the next success).
    std::map<cursor_key, std::string> unreadable_ PROM_GUARDED_BY(mu_);
    std::uint64_t next_id_ PROM_GUARDED_BY(mu_) = 1;
    bool fresh_waiters_ PROM_GUARDED_BY(mu_) = false;  // added since the last read
    bool stopping_ PROM_GUARDED_BY(mu_) = false;
    std::uint64_t completed_ PROM_GUARDED_BY(mu_) = 0;
    group_resolver resolver_ PROM_GUARDED_BY(mu_);
    std::thread watcher_;  // last: starts once the above exist
};

}  // namespace prom::consistency
