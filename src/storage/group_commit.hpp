// Group commit, the one mechanism of the backends that write through one connection
// (SQLite, PostgreSQL): appends from any number of callers are queued; one writer thread
// takes everything queued, writes it in one transaction with one commit (one fsync or WAL
// flush), then completes each request. While it writes, the next group queues up, so the
// group grows with the load and is not bounded by how many threads the callers have.
//
// Callers either wait (append: the library's blocking call, one wake-up per call) or do
// not (submit: the callback runs on the writer thread after the commit; network threads
// use it to finish requests without a thread held per request; see src/http/README.md).
//
// Thread-safe. The write function and whatever it uses must outlive the group_commit;
// destruction writes what is still queued, then stops the writer.
#pragma once

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
    struct request {
        std::vector<event_input> batch;  // prepared (ids and ts filled, validated)
        append_callback done;
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

  private:
    void run();

    write_function write_;
    const std::size_t max_group_events_;

    prom::mutex mu_;
    std::condition_variable wake_;  // the writer waits here when the queue is empty
    std::vector<request> queue_ PROM_GUARDED_BY(mu_);
    bool writer_waiting_ PROM_GUARDED_BY(mu_) = false;  // only then does a submit notify
    bool stopping_ PROM_GUARDED_BY(mu_) = false;
    std::thread writer_;  // last: starts once everything above exists
};

}  // namespace prom::storage
