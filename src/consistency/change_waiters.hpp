// Requests held until a document, or any document of a collection, changes: the blocking
// reads of docs/http-api.md ("Blocking reads"), without a thread per request.
//
// Woken by the store's commit listener, which names every document a commit wrote: this
// node's commits, and other nodes' on PostgreSQL (their NOTIFY payloads name the
// documents). Commits made by another process on the same SQLite file name no documents:
// such a change reaches a waiter only at its deadline (or through a commit here).
//
// A waiter may be registered after its request read the document; `generation()` read
// before that read and handed to wait() closes the gap: when any commit was reported in
// between, the waiter is woken at once (the request reads again and waits anew).
//
// Thread-safe. Callbacks run on the committing thread (or the caller of wait()/cancel()),
// must be quick and must not call back into this object. The commit listener holds only
// the shared inner state, so the store may outlive this object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "prom/store.hpp"

namespace prom::consistency {

class change_waiters {
  public:
    // true: a watched document changed (or may have); false: cancelled.
    using callback = std::move_only_function<void(bool changed)>;

    explicit change_waiters(store& s);
    ~change_waiters();  // stop()
    change_waiters(const change_waiters&) = delete;
    change_waiters& operator=(const change_waiters&) = delete;

    std::uint64_t generation() const;
    // A function that wakes every waiter as if its document changed (each reads again):
    // called when collection aliases move after a rebuild's swap (docs/projectors.md), since
    // a waiter waits on the physical collection its read resolved. Harmless once this
    // object is gone.
    std::function<void()> waker() const;
    // `key` empty: any document of the collection (a list). Returns the waiter's id (0
    // when it was answered at once).
    std::uint64_t wait(std::string_view collection, std::string_view key,
                       std::uint64_t seen_generation, callback done);
    void cancel(std::uint64_t id);  // done(false), unless it already ran
    void stop();                    // cancels every waiter; later waits are cancelled at once
    // True from stop() on (before its callbacks run): a cancelled waiter was the shutdown's,
    // and its request is answered as at its deadline (docs/http-api.md).
    bool stopping() const;
    std::size_t active() const;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

}  // namespace prom::consistency
