// Group commit, the one mechanism of the backends that write through one connection
// (SQLite, PostgreSQL): appends from any number of callers are queued; one writer thread
// takes everything queued, writes it in one transaction with one commit (one fsync or WAL
// flush), then completes each request. While it writes, the next group queues up, so the
// group grows with the load and is not bounded by how many threads the callers have.
//
// Callers either wait (append: the library's blocking call, one wake-up per call) or do
// not (submit: the callback runs on the writer thread after the commit; network threads
// use it to finish requests without a thread held per request; see src/http/README.md).
// The writer wakes only the first of a group's blocked callers; each woken caller wakes two
// more before it returns, so the wake-ups (a kernel call each, the writer's largest cost
// after the transaction with 64 callers) run on the callers' threads, not the writer's.
//
// Thread-safe. The write function and whatever it uses must outlive the group_commit;
// destruction writes what is still queued, then stops the writer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "core/thread_annotations.hpp"
#include "prom/store.hpp"

namespace prom::storage {

class group_commit {
  public:
    class waiter;  // a caller of append, blocked until its request is answered
    struct request {
        std::vector<event_input> batch;  // prepared (ids and ts filled, validated)
        append_callback done;            // submit's: called with `out`
        waiter* blocked = nullptr;       // append's, instead of `done`
        result<std::vector<append_result>> out = fail(errc::internal, "not written");
    };

    // Writes every request of `group` in one transaction and fills each one's `out` (a
    // request may fail alone, or the database fails them all). Runs on the writer thread
    // only, so it may keep per-connection state without a lock.
    using write_function = std::function<void(std::vector<request>& group)>;

    // `max_group_events`: a group closes once it holds this many events (a bound on the
    // transaction's size and on the latency the first request of a big group sees).
    explicit group_commit(write_function write, std::size_t max_group_events = 8192);
    ~group_commit();
    group_commit(const group_commit&) = delete;
    group_commit& operator=(const group_commit&) = delete;

    // Validates and prepares the batch (prepare_inputs) on the calling thread: a bad batch
    // is answered at once through `done`, on this thread. Otherwise `done` runs on the
    // writer thread after the commit.
    void submit(std::vector<event_input> batch, append_callback done);

    // The blocking form: returns once the batch is durable, or failed.
    result<std::vector<append_result>> append(std::vector<event_input> batch);

    // Every group written so far: its duration (the write function's, which commits) and
    // its events, failed ones included.
    const commit_statistics& stats() const { return stats_; }

  private:
    // Queues a prepared request and wakes the writer if it waits.
    void enqueue(request r);
    void run();
    // Answers the group's requests: callbacks here, blocked callers through the wake tree.
    void answer(std::vector<request>& group);

    write_function write_;
    const std::size_t max_group_events_;

    prom::mutex mu_;
    std::condition_variable wake_;  // the writer waits here when the queue is empty
    std::vector<request> queue_ PROM_GUARDED_BY(mu_);
    bool writer_waiting_ PROM_GUARDED_BY(mu_) = false;  // only then does a submit notify
    bool stopping_ PROM_GUARDED_BY(mu_) = false;
    commit_statistics stats_;
    std::vector<waiter*> woken_;  // the writer's, reused: the blocked callers of a group
    std::thread writer_;          // last: starts once everything above exists
};

// One blocked caller of append, on its own stack. The writer fills `out` and the children
// of every waiter of a group, then wakes the first; each wakes its children, and only then
// returns (and its waiter goes away). Nobody touches a waiter after waking it: the wake is
// a store and a futex call on its address, which the kernel does not read.
class group_commit::waiter {
  public:
    result<std::vector<append_result>> out;  // always set before the wake-up
    waiter* children[2] = {nullptr, nullptr};

    void wake() {
        state_.store(1, std::memory_order_release);
        state_.notify_one();
    }
    // Returns once woken, after waking its children.
    void wait() {
        while (state_.load(std::memory_order_acquire) == 0) {
            state_.wait(0, std::memory_order_acquire);
        }
        for (waiter* c : children) {
            if (c) c->wake();
        }
    }

  private:
    std::atomic<int> state_{0};
};

}  // namespace prom::storage
