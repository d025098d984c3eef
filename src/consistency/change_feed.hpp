// Watches of collections' change logs (docs/watches.md): Server-Sent Events on
// GET /collections/{c}/watch and the WebSocket `watch` op, without a thread per watcher.
//
// A watcher names a collection, a filter (one key, a key prefix, or every key) and the seq of
// the last change it has seen; it is handed every later change of the collection that
// passes its filter, in seq order, each exactly once. One feed thread serves all watchers:
// it wakes on a commit (the store's commit listener: this node's commits, and other nodes'
// on PostgreSQL through NOTIFY), on a new watcher, and every `tick` (commits the listener
// does not name: another process on the same SQLite file, a NOTIFY lost to a reconnect).
// Each pass reads each watched collection's log once, from the lowest seq any of its
// watchers still needs (a watcher resuming from an old Last-Event-ID catches up through
// the same reads), and renders each change's JSON once for all of its watchers.
//
// Flow control: a watcher gets one delivery at a time. It is handed nothing more until it
// calls ready(id) (its connection wrote what it got), and the log is the buffer: a slow
// watcher falls behind and catches up from the store at its own pace, it is never cut off
// and nothing waits for it. So a watcher holds at most one page (1,000 changes) in memory.
//
// Thread-safe. `deliver` callbacks run on the feed thread, must be quick (hand the changes
// to the watcher's own thread) and must not call back into this object. After unwatch()
// returns, the watcher's callback never runs again and has been destroyed on the calling
// thread. The store must outlive this object; stop() (or destruction) joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.hpp"
#include "prom/store.hpp"

namespace prom::consistency {

// One change as watchers receive it: the change and its JSON (rendered once, shared):
// {"collection","key","seq","ts","etag","body"} or {"collection","deleted":true,"key","seq","ts"}.
struct watched_change {
    document_change change;
    std::string json;
};
using watched_changes = std::vector<std::shared_ptr<const watched_change>>;

// `shown`: the collection's name as the watcher asked for it (a rebuild's swap serves it from
// `_prom.<token>.<name>`, which no client names); empty: the change's own.
std::string render_change(const document_change& c, std::string_view shown = {});

struct watch_filter {
    std::string key;     // exact key, when `exact`
    std::string prefix;  // otherwise: keys starting with this ("" = every key)
    bool exact = false;
    bool matches(std::string_view k) const { return exact ? k == key : k.starts_with(prefix); }
};

// Whether `collection` is one a reader can mean: a projector writes it (`has_writers`), or
// it has a document or a change. A name that is none of these is a typo: watches answer 400
// and lists 404 for it. Reads the store (blocks).
result<bool> collection_known(store& s, std::string_view collection, bool has_writers);

// Where a watch of `collection` starts: after `last_seen` (a client's Last-Event-ID), or
// after the log's current end when none. invalid_argument (a 400) when the collection is
// unknown (no projector writes it, `has_writers` false, and it has no document and no
// change) or when `last_seen` is past the end of its log. Reads the store (blocks).
result<seq_t> watch_start_position(store& s, std::string_view collection, bool has_writers,
                                   std::optional<seq_t> last_seen);

// A Last-Event-ID (or a WebSocket watch's `after`): decimal digits, at most 18.
std::optional<seq_t> parse_change_id(std::string_view text);

class change_feed {
  public:
    // `changes` non-empty, in seq order, for the watcher `id`; on the feed's thread.
    using deliver = std::move_only_function<void(std::uint64_t id, watched_changes changes)>;

    explicit change_feed(store& s, std::chrono::milliseconds tick = std::chrono::milliseconds(200));
    ~change_feed();
    change_feed(const change_feed&) = delete;
    change_feed& operator=(const change_feed&) = delete;

    // `after`: the last change the watcher has seen (0: it wants the whole log). Returns
    // the watcher's id (0 after stop(): nothing will be delivered).
    // `collection` is the physical one; `shown` the name the watcher used (render_change).
    std::uint64_t watch(std::string collection, watch_filter filter, seq_t after, deliver d,
                        std::string shown = {});
    void unwatch(std::uint64_t id);
    // The watcher has written its last delivery and may be handed the next. Any thread.
    void ready(std::uint64_t id);
    void stop();

    std::size_t active() const;       // watchers, for /metrics
    std::uint64_t delivered() const;  // changes handed to watchers, for /metrics

  private:
    struct watcher {
        std::uint64_t id;
        std::string collection;
        std::string shown;
        watch_filter filter;
        seq_t after;        // only the feed thread reads and moves it
        deliver done;       // guarded by deliver_mu_; unwatch() empties it
        bool busy = false;  // guarded by mu_: a delivery not yet written (ready() clears it)
        bool live = true;   // guarded by mu_: false once unwatched
    };

    void run();
    // `only` null: every watcher; else those ids.
    void pass(const std::vector<std::uint64_t>* only);

    // Raised by the commit listener (which holds it weakly: the store may outlive this
    // object), by watch() and by stop(); the feed thread sleeps on it.
    // A commit (or the tick) makes the feed look at every watcher; a new or ready watcher
    // only at that one, so the many ready() calls after a fan-out cost one lookup each, not
    // a pass over every watcher.
    struct wake_signal {
        std::mutex m;
        std::condition_variable cv;
        bool raised = false;
        bool commit = false;              // look at every watcher
        std::vector<std::uint64_t> only;  // else only at these
        void raise(std::optional<std::uint64_t> watcher = std::nullopt);
    };

    store& store_;
    const std::chrono::milliseconds tick_;
    std::shared_ptr<wake_signal> wake_ = std::make_shared<wake_signal>();
    // Held by the feed thread while it calls a callback, and by unwatch() while it empties
    // one: a callback never runs after unwatch() returns. Never held while reading the store.
    prom::mutex deliver_mu_;
    mutable prom::mutex mu_;
    std::map<std::uint64_t, std::shared_ptr<watcher>> watchers_ PROM_GUARDED_BY(mu_);
    std::uint64_t next_id_ PROM_GUARDED_BY(mu_) = 1;
    bool stopping_ PROM_GUARDED_BY(mu_) = false;
    std::uint64_t delivered_ PROM_GUARDED_BY(mu_) = 0;
    std::thread thread_;  // last: starts once the above exist
};

}  // namespace prom::consistency
