// The transactional projector: applies each event's effects exactly once.
//
// A batch of events and the projector's cursor advance commit in one transaction, so a
// crash at any instant either keeps the whole batch or none of it. A failing batch is
// retried with backoff, then split to isolate the failing event; a poison event goes to
// `<topic>.dlq` (with the error in its headers) or stops the projector, as configured.
//
// A projector must not outlive its store. start() returns at once; the work runs on the
// projector's own thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "prom/bus.hpp"
#include "prom/latency_histogram.hpp"
#include "prom/store.hpp"

namespace prom {

using projector_handler = std::function<status(const event& e, transaction& txn)>;

enum class on_poison { dead_letter, stop };

struct projector_options {
    std::string topic;
    std::string group;
    projector_handler handler;
    // Called on the projector's thread before each attempt to apply a batch (one
    // transaction), so that a handler can keep state per transaction. Optional.
    std::function<void()> on_batch;
    // Optional. Projectors given the same mutex apply their batches one at a time: the
    // per-topic projectors of one topic pattern write the same documents, and on PostgreSQL
    // two of their transactions locking them in opposite orders deadlock (one is aborted
    // after `deadlock_timeout`, a second each time; docs/projectors.md).
    std::shared_ptr<std::mutex> batch_mutex;
    // Run the handler over a batch before opening the write transaction, reading the store
    // and recording the effects, then replay them in the transaction (projector/
    // recorded_batch.hpp): the store's write lock is not held while the handler runs. For
    // handlers that may be slow (user code); a handler must then read and write only
    // through the transaction it is given. Documents another projector writes too are
    // checked at the replay: one it changed, or created, since this batch read it makes the
    // batch start over (exact, but slower).
    bool evaluate_before_writing = false;
    start_from from = start_from::earliest;
    std::size_t batch_size = 500;
    int retries = 3;
    std::chrono::milliseconds backoff{50};  // doubles each retry
    on_poison poison = on_poison::dead_letter;
    std::chrono::milliseconds lease_ttl{5000};
    // 0: never. Otherwise, after this many consecutive dead-lettered events with no event
    // applied in between, the projector stops and sets metrics().failed (the supervisor of
    // user-defined projectors reports that as `failed`; docs/projectors.md).
    std::size_t fail_after_dead_letters = 0;
    // Optional. Called on the projector's thread for each erasure marker it is delivered
    // (docs/retention.md), with the erased key: whoever keeps this projector's error texts
    // elsewhere drops those that may quote the key's payloads.
    std::function<void(std::string_view key)> on_erasure_marker;
};

// The last failure of a projector, for status pages. Thread-safe.
class last_error_note {
  public:
    // `keys`: the keys of the events the text is about, whose payloads it may quote (a
    // handler's message).
    void set(std::string text, std::vector<std::string> keys = {}) {
        std::lock_guard lock(mu_);
        text_ = std::move(text);
        keys_ = std::move(keys);
    }
    std::string get() const {
        std::lock_guard lock(mu_);
        return text_;
    }
    // `key` was erased (its marker went by): a text about its events goes, since it may
    // quote the erased payload (docs/retention.md).
    void forget_key(std::string_view key) {
        std::lock_guard lock(mu_);
        if (std::ranges::find(keys_, key) == keys_.end()) return;
        text_.clear();
        keys_.clear();
    }

  private:
    mutable std::mutex mu_;
    std::string text_;
    std::vector<std::string> keys_;
};

struct projector_metrics {
    std::atomic<std::uint64_t> applied{0};
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> retries{0};
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::int64_t> cursor{0};
    std::atomic<std::int64_t> last_seq{0};
    std::atomic<bool> stopped_on_poison{false};
    std::atomic<std::uint64_t> errors{0};  // failed attempts: handler errors and storage errors
    std::atomic<std::uint64_t> dead_letter_streak{0};  // dead-lettered since the last applied event
    std::atomic<bool> failed{false};                   // stopped by options.fail_after_dead_letters
    last_error_note last_error;  // "seq N: message" of the latest failed attempt
    // Time to apply and commit one batch that committed (transaction, handlers, cursor).
    latency_histogram apply_latency;
};

class projector {
  public:
    virtual ~projector() = default;  // stops
    virtual void stop() = 0;
    virtual const projector_metrics& metrics() const = 0;
    virtual const projector_options& options() const = 0;
    // Blocks until the cursor reaches seq or timeout; true when reached. For tests and tools.
    virtual bool wait_until(seq_t seq, std::chrono::milliseconds timeout) = 0;
};

std::unique_ptr<projector> start_transactional_projector(store& s, projector_options options);

}  // namespace prom
