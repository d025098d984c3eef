// Helpers every backend shares, so that all of them behave alike.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prom/store.hpp"

namespace prom::storage {

// Validates each input and fills a missing id (UUIDv7) and ts (server clock).
status prepare_inputs(std::vector<event_input>& batch);
// After prepare_inputs, on the caller's thread: each payload's canonical JSON into
// payload_text (the payload itself released), unless it was read as canonical text
// already (payload_canonical). The group commit does this before it queues a
// batch, so its writer thread only binds the text.
void encode_payloads(std::vector<event_input>& batch);
// The canonical JSON to store for `in`: its payload_text when encoded, its payload_canonical
// when read so, else the payload serialized into `scratch`.
std::string_view payload_text_of(const event_input& in, std::string& scratch);

// The documents a transaction has written, by (collection, key): what its commit reports to
// the commit listeners, and the working set its later reads of those documents are served
// from. Found by a pair of string_views, so a lookup makes no strings.
struct collection_key_less {
    using is_transparent = void;
    // One three-way comparison per part: std::pair's operator< compares equal firsts twice
    // (a < b, then b < a), and within a transaction the collection (or topic) mostly is equal.
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
        const int first = std::string_view(a.first).compare(std::string_view(b.first));
        if (first != 0) return first < 0;
        return std::string_view(a.second) < std::string_view(b.second);
    }
};
using changed_documents =
    std::map<std::pair<std::string, std::string>, document, collection_key_less>;

// Adds an appended (topic, seq) to `tips`, keeping each topic's greatest seq. A transaction
// appends to few topics, so a linear search.
void note_appended(std::vector<topic_tip>& tips, std::string_view topic, seq_t seq);

// ---- retention (docs/retention.md), the rules every backend applies alike

// errc::gone for an event of `topic` whose ts is below the topic's horizon: the message
// names the topic, the event's ts and the horizon, and error::horizon carries the horizon.
std::unexpected<error> below_horizon(std::string_view topic, ts_ms ts, ts_ms horizon);

// Merges what a pass dropped into a key's record (store.hpp, key_horizon): `gone_from`
// only goes down, the base position (base_ts, base_seq) only goes up.
void merge_key_horizon(key_horizon& into, const key_horizon& h);

// The change counter and its waiters; commit and append listeners. Thread-safe.
class change_notifier {
  public:
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }
    void bump();
    void wait(std::uint64_t seen, std::chrono::milliseconds timeout);

    void add_listener(commit_listener l);
    void add_append_listener(append_listener l);
    // After a commit: the documents it wrote and the topics it appended to (either may be
    // empty); the listeners run first, then the counter moves.
    void notify_commit(const std::vector<document>& docs, const appended_topics& appended = {});
    // A change of unknown extent (another process's commit, lost notifications): append
    // listeners hear `complete = false`, then the counter moves.
    void notify_unknown_change();

    // A commit that writes documents is visible to readers (COMMIT) before its listeners
    // have dropped the cached copies of what it wrote. Whoever answers "it has been applied"
    // from a read (`wait_for`, `after`: a cursor) must not answer in between, or the reader
    // it answers is served the older body from the cache (found from outside). Such a commit
    // holds a ticket from before its COMMIT until its listeners have run; store::
    // wait_for_commit_listeners waits for every ticket taken before it was called.
    class commit_ticket {
      public:
        explicit commit_ticket(change_notifier& n) : n_(&n), number_(n.begin_commit()) {}
        ~commit_ticket() { n_->end_commit(number_); }
        commit_ticket(const commit_ticket&) = delete;
        commit_ticket& operator=(const commit_ticket&) = delete;

      private:
        change_notifier* n_;
        std::uint64_t number_;
    };
    void wait_for_commit_listeners();

    // store::topic_change_version and wait_for_topic_change. Only topics somebody asked
    // about are followed, each with its own condition variable, so a commit wakes the
    // waiters of the topics it grew and no other (all of them on a change of unknown extent).
    std::uint64_t topic_version(std::string_view topic);
    void wait_topic(std::string_view topic, std::uint64_t seen, std::chrono::milliseconds timeout);

  private:
    void note_topics(const appended_topics& appended);

    struct topic_watch {
        explicit topic_watch(std::uint64_t v) : version(v) {}
        std::uint64_t version;  // topic_clock_ at its last append
        std::condition_variable cv;
    };
    // Guarded by topics_mu_: the followed topics, the clock their versions come from, and
    // the clock at the last change of unknown extent.
    std::mutex topics_mu_;
    std::map<std::string, topic_watch, std::less<>> topics_;
    std::uint64_t topic_clock_ = 0;
    std::uint64_t unknown_version_ = 0;

    std::atomic<std::uint64_t> version_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    std::mutex listeners_mu_;
    std::vector<commit_listener> listeners_;
    std::vector<append_listener> append_listeners_;

    std::uint64_t begin_commit();
    void end_commit(std::uint64_t ticket);
    std::mutex tickets_mu_;
    std::condition_variable tickets_cv_;
    std::uint64_t next_ticket_ = 0;         // the last ticket handed out
    std::set<std::uint64_t> open_tickets_;  // commits whose listeners have not run yet
};

}  // namespace prom::storage
