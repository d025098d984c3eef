// The PostgreSQL backend: for many nodes (several `prom serve` processes) on one database.
// One schema holds the log, cursors, documents and leases, so one transaction covers them.
//
// Concurrency: appends from many threads are grouped by the store's writer thread into one
// transaction on its append connection (storage/group_commit.hpp); reads and transactions take
// connections from a pool of at most 16 (plus the append and listener connections: 18 per node).
// Ordering across nodes comes from row locks on `topics` (see pg_append.cpp).
// A listener thread turns other nodes' NOTIFYs into change_version() bumps.
//
// Errors: unavailable when the server is away (calls fail fast and work again once it is
// back; nothing is cached across an outage), conflict after repeated deadlocks.
//
// Thread-safe. Transactions hold a pooled connection and must not outlive the store.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage/common.hpp"
#include "storage/group_commit.hpp"
#include "storage/page_bytes.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_listener.hpp"
#include "storage/postgres/pg_url.hpp"

namespace prom::storage::postgres {

class pg_store final : public store {
  public:
    static result<std::unique_ptr<store>> open(std::string_view url, const store_options& o);
    ~pg_store() override;

    result<std::vector<append_result>> append(std::vector<event_input> batch) override;
    void append_async(std::vector<event_input> batch, append_callback done) override;
    const commit_statistics* commit_stats() const override {
        return group_commit_ ? &group_commit_->stats() : nullptr;
    }
    result<std::vector<event>> scan(const scan_query& q) override;
    result<std::vector<event>> scan_key_by_time(const key_time_query& q) override;
    result<std::vector<event>> latest_per_key(std::string_view topic) override;
    result<std::vector<std::string>> topic_keys(std::string_view topic, std::string_view after,
                                                std::size_t limit) override;
    result<std::vector<topic_info>> topics() override;
    result<std::optional<topic_info>> topic(std::string_view name) override;

    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override;
    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override;

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override;
    result<std::vector<document>> find(const find_query& q) override;
    status declare_index(std::string_view collection, std::string_view field) override;
    result<std::vector<document_change>> changes(const change_query& q) override;
    result<seq_t> last_change(std::string_view collection) override;
    result<std::vector<std::string>> logged_collections(std::string_view prefix) override;

    result<std::unique_ptr<transaction>> begin() override;

    result<bool> acquire_lease(std::string_view name, std::string_view owner,
                               std::chrono::milliseconds ttl) override;
    status release_lease(std::string_view name, std::string_view owner) override;

    std::uint64_t change_version() override { return notifier_.version(); }
    void wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) override {
        notifier_.wait(seen, timeout);
    }
    // Other nodes' appends arrive through the listener's NOTIFY payload, with their topics.
    std::uint64_t topic_change_version(std::string_view topic) override {
        return notifier_.topic_version(topic);
    }
    void wait_for_topic_change(std::string_view topic, std::uint64_t seen,
                               std::chrono::milliseconds timeout) override {
        notifier_.wait_topic(topic, seen, timeout);
    }
    void add_commit_listener(commit_listener l) override { notifier_.add_listener(std::move(l)); }
    void wait_for_commit_listeners() override { notifier_.wait_for_commit_listeners(); }
    void add_append_listener(append_listener l) override {
        notifier_.add_append_listener(std::move(l));
    }

    // ---- operations (pg_ops.cpp)
    result<std::vector<cursor_status>> list_cursors() override;
    result<std::vector<lease_status>> list_leases(std::string_view prefix) override;
    result<bool> delete_cursor(std::string_view topic, std::string_view group) override;
    status seize_lease(std::string_view name, std::string_view owner,
                       std::chrono::milliseconds ttl) override;

    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override;
    result<std::optional<state_snapshot>> snapshot_at_or_before(std::string_view topic,
                                                                std::string_view key,
                                                                std::string_view reducer,
                                                                ts_ms t) override;

    // ---- retention (pg_retention.cpp; docs/retention.md)
    result<ts_ms> raise_horizon(std::string_view topic, ts_ms h) override;
    result<bool> has_event_id(std::string_view topic, std::string_view id) override;
    result<std::optional<key_horizon>> find_key_horizon(std::string_view topic,
                                                        std::string_view key) override;
    result<std::vector<key_horizon>> key_horizons(std::string_view topic) override;
    result<std::vector<topic_size>> topic_sizes() override;
    status reclaim_space() override;
    status checkpoint_log() override { return {}; }  // the server checkpoints by itself

    // A pooled connection, handed back on destruction unless it broke.
    class pooled {
      public:
        pooled(pg_store& s, std::unique_ptr<connection> c, bool reused)
            : s_(&s), c_(std::move(c)), reused_(reused) {}
        pooled(pooled&&) noexcept = default;
        ~pooled();
        connection& operator*() { return *c_; }
        connection* operator->() { return c_.get(); }
        bool reused() const { return reused_; }  // came from the pool (may have gone stale)

      private:
        pg_store* s_;
        std::unique_ptr<connection> c_;
        bool reused_;
    };

    // ---- used by pg_transaction and pg_append
    result<pooled> take_connection();
    change_notifier& notifier() { return notifier_; }
    const std::string& schema() const { return target_.schema; }
    const std::string& channel() const { return channel_; }
    // NOTIFY payloads naming the documents a transaction wrote (pg_transaction.cpp).
    std::vector<std::string> document_notifications(const std::vector<document>& docs) const;
    // "NOTIFY <channel>; COMMIT": wakes waiters on every node when the commit lands.
    const std::string& notify_and_commit() const { return notify_commit_sql_; }

  private:
    pg_store(pg_target t, store_options o);
    status init();
    std::vector<std::string> session_setup() const;
    // The group commit's write function (pg_append.cpp), on its writer thread.
    void write_group(std::vector<group_commit::request>& group);
    // Plain (unconditional) requests that follow each other in the queue, in one statement.
    void write_plain_run(const std::vector<group_commit::request*>& plain,
                         appended_topics& appended);
    // Opens the append connection when there is none or it broke.
    status ensure_appender();
    // Events without expectations in one prom_append statement on the append connection,
    // retried after deadlocks and once on a new connection after a broken one.
    result<std::vector<append_result>> write_plain(const std::vector<const event_input*>& all);
    // One batch with expectations in a transaction of its own on the append connection.
    result<std::vector<append_result>> write_conditional(const std::vector<event_input>& batch);
    // Runs `read` on a pooled connection; if a reused one turned out stale (the server
    // restarted since), once more on a fresh connection.
    status with_reader(const std::function<status(connection&)>& read);
    void drop_idle();  // after a server restart every idle connection is stale
    // `bound`: the page's byte bound (scan, whose SQL cuts the page there), or none.
    result<std::vector<event>> read_events(std::string_view sql, std::vector<param> params,
                                           std::optional<page_bytes> bound = std::nullopt);

    pg_target target_;
    store_options options_;
    std::string channel_;
    std::string node_id_ = new_event_id();  // tells this store's own notifications apart
    // `lost`: the listening connection was re-made, notifications sent meanwhile are gone.
    void on_remote_commit(const std::vector<std::string>& payloads, bool lost);
    std::string notify_commit_sql_;

    // The pool: at most max_pool_connections open (idle or in use); callers wait for one
    // up to busy_timeout, so many threads cannot exhaust the server's max_connections.
    std::mutex pool_mu_;
    std::condition_variable pool_cv_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::size_t pool_open_ = 0;

    std::unique_ptr<connection> appender_;  // the group commit's writer thread only

    change_notifier notifier_;
    std::unique_ptr<change_listener> listener_;

    // Last, so that it is destroyed first: its writer thread uses everything above.
    std::unique_ptr<group_commit> group_commit_;
};

// Calls prom_append: locks the topics' rows, dedupes by id, assigns gapless seqs, inserts
// events and the latest-per-key rows, NOTIFYs `channel`. Atomic on its own (autocommit) or
// part of the caller's open transaction. Inputs must be prepared (ids, ts).
result<std::vector<append_result>> append_in_txn(connection& c,
                                                 const std::vector<const event_input*>& batch,
                                                 const std::string& channel);

// Retention inside the caller's open transaction (pg_retention.cpp; store.hpp). Each locks
// the topic's row first, as appends do, so the two take their locks in the same order.
result<std::size_t> delete_events_in_txn(connection& c, std::string_view topic,
                                         const std::vector<seq_t>& seqs);
status put_key_horizon_in_txn(connection& c, std::string_view topic, const key_horizon& h);
result<std::size_t> erase_key_in_txn(connection& c, std::string_view topic, std::string_view key);
// store::put_snapshots inside the caller's open transaction (pg_snapshots.cpp): locks the
// topic's row, then checks known_seq and writes.
result<std::size_t> put_snapshots_in_txn(connection& c, std::string_view topic,
                                         std::string_view key, std::string_view reducer,
                                         seq_t known_seq, const std::vector<state_snapshot>& snaps);

// The `match` column: {field: match text} for each top-level field that has one.
std::string match_json(const json::object& doc);

// A batch with expectations (event_input::expect_key_seq; pg_conditional_append.cpp):
// locks the batch's topic rows, reads the expected keys' latest seqs, appends, checks; a
// failed check is errc::conflict with error::key_seq set, and the caller rolls back. In
// the caller's open transaction (or savepoint). Inputs must be prepared.
result<std::vector<append_result>> conditional_append_in_txn(connection& c,
                                                             const std::vector<event_input>& batch,
                                                             const std::string& channel);
// The same in a transaction of its own, committed or rolled back before it returns.
result<std::vector<append_result>> conditional_append(connection& c,
                                                      const std::vector<event_input>& batch,
                                                      const std::string& channel);

}  // namespace prom::storage::postgres
