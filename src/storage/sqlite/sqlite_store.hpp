// The embedded SQLite backend (the default). One database file holds the log, cursors,
// documents and leases, so one transaction covers them all.
//
// Concurrency: one write connection guarded by `write_mu_` (SQLite has one writer at a time
// anyway; BEGIN IMMEDIATE plus busy_timeout serializes other processes, such as the CLI
// while `prom serve` runs); a pool of read connections (WAL readers never block the writer).
// Appends from many threads are grouped into one transaction and one fsync by the store's
// writer thread (storage/group_commit.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "storage/common.hpp"
#include "storage/group_commit.hpp"
#include "storage/page_bytes.hpp"
#include "storage/sqlite/sqlite_checkpointer.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_foreign_commits.hpp"
#include "storage/sqlite/sqlite_key_indexer.hpp"
#include "storage/sqlite/sqlite_keys_guard.hpp"
#include "storage/sqlite/sqlite_latest_tail.hpp"

namespace prom::storage::sqlite {

class sqlite_store final : public store {
  public:
    static result<std::unique_ptr<store>> open(const std::string& path, const store_options& o);
    ~sqlite_store() override;

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
    void wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) override;
    std::uint64_t topic_change_version(std::string_view topic) override {
        return notifier_.topic_version(topic);
    }
    void wait_for_topic_change(std::string_view topic, std::uint64_t seen,
                               std::chrono::milliseconds timeout) override;
    void add_commit_listener(commit_listener l) override { notifier_.add_listener(std::move(l)); }
    void wait_for_commit_listeners() override { notifier_.wait_for_commit_listeners(); }
    void add_append_listener(append_listener l) override {
        notifier_.add_append_listener(std::move(l));
    }

    // ---- operations (sqlite_ops.cpp)
    result<std::vector<cursor_status>> list_cursors() override;
    result<std::vector<lease_status>> list_leases(std::string_view prefix) override;
    result<bool> delete_cursor(std::string_view topic, std::string_view group) override;
    status seize_lease(std::string_view name, std::string_view owner,
                       std::chrono::milliseconds ttl) override;

    // ---- time-travel snapshots (sqlite_snapshots.cpp)
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override;
    result<std::optional<state_snapshot>> snapshot_at_or_before(std::string_view topic,
                                                                std::string_view key,
                                                                std::string_view reducer,
                                                                ts_ms t) override;

    // ---- retention (sqlite_retention.cpp; docs/retention.md)
    result<ts_ms> raise_horizon(std::string_view topic, ts_ms h) override;
    result<bool> has_event_id(std::string_view topic, std::string_view id) override;
    result<std::optional<key_horizon>> find_key_horizon(std::string_view topic,
                                                        std::string_view key) override;
    result<std::vector<key_horizon>> key_horizons(std::string_view topic) override;
    result<std::vector<topic_size>> topic_sizes() override;
    status reclaim_space() override;
    status checkpoint_log() override;

    // ---- used by sqlite_transaction (holding write_mu_)
    connection& writer() { return *writer_; }
    std::unique_lock<std::mutex> lock_writer() { return std::unique_lock(write_mu_); }
    change_notifier& notifier() { return notifier_; }

  private:
    class reader_lease;  // a pooled read connection, returned on destruction

    sqlite_store(std::string path, store_options o) : path_(std::move(path)), options_(o) {}
    status init();
    // The schema made or brought up to date, in one write transaction.
    status make_schema();
    status failed_to_open(const error& e) const;
    result<reader_lease> reader();
    bool other_process_committed();  // since the last call (PRAGMA data_version)
    // The group commit's write function (sqlite_append.cpp), on its writer thread.
    void write_group(std::vector<group_commit::request>& group);
    // `bound`: the page's byte bound (scan), or none.
    result<std::vector<event>> read_events(connection& c, std::string_view sql,
                                           const std::function<void(statement&)>& bind,
                                           page_bytes* bound = nullptr);

    std::string path_;
    store_options options_;

    // Before every connection, so that it is destroyed after them all: its destructor syncs
    // the keys file that they wrote (sqlite_keys_guard.hpp). Null: the indexer fsyncs.
    std::unique_ptr<keys_guard> keys_guard_;

    std::mutex write_mu_;
    std::unique_ptr<connection> writer_;
    latest_tail tail_latest_;  // the group-commit writer's, under write_mu_

    std::mutex readers_mu_;
    std::vector<std::unique_ptr<connection>> idle_readers_;

    std::int64_t last_data_version_ = -1;  // guarded by write_mu_

    // Frames in the WAL after the writer's last commit (its wal_hook, sqlite_retention.cpp):
    // checkpoint_log copies the WAL only once it holds enough to be worth a checkpoint.
    std::atomic<int> wal_frames_{0};
    static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
    // Copies the WAL into the file off the commit path (sqlite_checkpointer.hpp). After
    // writer_, so that it is gone before the writer closes.
    std::unique_ptr<wal_checkpointer> checkpointer_;

    change_notifier notifier_;

    // Fills key_events on a thread of its own (sqlite_key_indexer.hpp); hears every commit
    // through notifier_.
    std::unique_ptr<key_indexer> key_indexer_;

    // Asks data_version for other processes' commits (uses writer_ and notifier_, so it is
    // destroyed before them).
    std::unique_ptr<foreign_commit_watcher> foreign_commits_;

    // Last, so that it is destroyed first: its writer thread uses everything above.
    std::unique_ptr<group_commit> group_commit_;
};

// (last_seq, count) of the topics a write transaction appends to: read from `topics` on first
// use, kept in memory while the transaction appends, written back once before it commits.
class topic_counters {
  public:
    // `tail`: the group-commit writer's memory of the tail's latest seqs (conditional appends
    // read it); null elsewhere, and then they read the tail with SQL.
    explicit topic_counters(latest_tail* tail = nullptr) : tail_(tail) {}

    struct counters {
        seq_t last_seq{};
        std::int64_t count = 0;
        ts_ms horizon{};    // topic_info::horizon: read with the row, so the check is free
        seq_t keyed_seq{};  // `latest` holds every event up to here (sqlite_key_index.hpp)
        topic_row stored;   // the row as first read, before this transaction's appends
        // Whether this transaction records each appended key's seq (set_latest): only where
        // the writer keeps the topic's tail in memory (a conditional append asked it), which
        // the commit then brings up to date. Elsewhere a conditional append finds this
        // transaction's own events of the key in the log (measured: recording every event
        // was ~8% of the writer's instructions for batches of 1000 keys).
        bool track_latest = false;
        // Whether the topic had any time-travel snapshot when the transaction first
        // appended to it. Only put_snapshots adds them, never inside an append transaction,
        // so when there were none the append rule has nothing to drop for any of its events.
        bool has_snapshots = true;
    };
    result<counters*> get(connection& c, const std::string& topic);
    // The key's latest event is now `seq`, recorded where the topic's counters track it
    // (the `latest` table gets it at the topic's next index step).
    void set_latest(std::string_view topic, std::string_view key, seq_t seq);
    // The key's latest seq recorded by this transaction, if any.
    std::optional<seq_t> pending_latest(std::string_view topic, std::string_view key) const;
    // The key's latest seq before this transaction (0: none): `latest` and the log's tail.
    result<seq_t> stored_latest(connection& c, const std::string& topic, std::string_view key);
    // Writes the topics rows, and brings `latest` up to the log where it fell key_index_lag
    // behind.
    status write_back(connection& c);
    // The topics appended to and their last seqs (for the append listeners).
    appended_topics tips() const;

  private:
    friend class latest_tail;  // reads what a committed group appended
    std::map<std::string, counters, std::less<>> topics_;
    std::map<std::pair<std::string, std::string>, seq_t, collection_key_less> latest_;
    latest_tail* tail_;
};

// Runs inside an open write transaction: dedupes by id, assigns gapless seqs, inserts. The
// first form leaves the topics rows to `counters` (written back by the caller); the second
// writes them itself.
result<std::vector<append_result>> append_in_txn(connection& c, std::vector<event_input>& batch,
                                                 topic_counters& counters);
result<std::vector<append_result>> append_in_txn(connection& c, std::vector<event_input>& batch);

// Defined here rather than in sqlite_store.cpp so that sqlite_snapshots.cpp can read too.
class sqlite_store::reader_lease {
  public:
    reader_lease(sqlite_store& s, std::unique_ptr<connection> c) : s_(&s), c_(std::move(c)) {}
    reader_lease(reader_lease&& o) noexcept = default;
    ~reader_lease() {
        if (c_) {
            std::lock_guard lock(s_->readers_mu_);
            s_->idle_readers_.push_back(std::move(c_));
        }
    }
    connection& operator*() { return *c_; }
    connection* operator->() { return c_.get(); }

  private:
    sqlite_store* s_;
    std::unique_ptr<connection> c_;
};

// The append rule of store.hpp: drops (topic, key)'s snapshots with ts > `ts`.
status drop_snapshots_in_txn(connection& c, std::string_view topic, std::string_view key, ts_ms ts);
// store::put_snapshots inside the open write transaction (its known_seq check included).
result<std::size_t> put_snapshots_in_txn(connection& c, std::string_view topic,
                                         std::string_view key, std::string_view reducer,
                                         seq_t known_seq, const std::vector<state_snapshot>& snaps);

// Retention inside the open write transaction (sqlite_retention.cpp; store.hpp).
result<std::size_t> delete_events_in_txn(connection& c, std::string_view topic,
                                         const std::vector<seq_t>& seqs);
status put_key_horizon_in_txn(connection& c, std::string_view topic, const key_horizon& h);
result<std::size_t> erase_key_in_txn(connection& c, std::string_view topic, std::string_view key);

// Brings an existing database's schema up to date (sqlite_ops.cpp); in init's transaction.
status migrate_in_txn(connection& c);
// Whether it is up to date already, asked with reads only (sqlite_schema_current.cpp): then
// init() takes no write lock.
result<bool> schema_is_current(connection& c);

}  // namespace prom::storage::sqlite
