// The storage backend: event log, consumer cursors, document collections, transactions,
// consumer leases and change notification, behind one interface.
//
// Implementations: in-memory (`memory:`), embedded SQLite (`sqlite:PATH`, the default) and
// PostgreSQL (`postgresql://…`). All pass the contract suites in tests/contract/.
//
// A store is safe for concurrent use from many threads. A transaction belongs to one thread
// at a time and must not outlive its store. Every call returns errors as values.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prom/event.hpp"
#include "prom/latency_histogram.hpp"

namespace prom {

// The most bytes of stored text (payloads and headers of events, bodies of documents and of
// changes) that one page of scan, scan_key_by_time, find or changes may hold. A read whose rows
// pass it fails with errc::too_large instead of holding them all in memory, unless it holds one row
// (an event or a document is bounded by its own limits). Readers that page through a topic or a
// collection call scan_fitting, find_fitting, changes_fitting... (below the store), which read
// again with a smaller limit (docs/storage-schema.md, "Pages").
inline constexpr std::size_t default_max_page_bytes = std::size_t{64} << 20;

struct scan_query {
    std::string topic;
    std::optional<std::string> key;  // only this key's events (through the key index)
    seq_t from_seq{1};               // inclusive
    std::optional<seq_t> to_seq;     // inclusive
    std::optional<ts_ms> from_ts;    // inclusive
    std::optional<ts_ms> to_ts;      // inclusive
    std::optional<std::size_t> limit;
    std::size_t max_bytes = default_max_page_bytes;
};

// Events of one key in (ts, seq) order: after `after` (exclusive) and with ts <= to_ts.
struct key_time_query {
    std::string topic;
    std::string key;
    std::optional<std::pair<ts_ms, seq_t>> after;
    ts_ms to_ts{};
    std::optional<std::size_t> limit;
    std::size_t max_bytes = default_max_page_bytes;
};

// A time-travel snapshot of one (topic, key, reducer): `state` (canonical JSON) is the fold,
// in (ts, seq) order, of the first `count` events of the key, the last of which is (ts, seq).
struct state_snapshot {
    ts_ms ts{};
    seq_t seq{};
    std::int64_t count = 0;
    std::string state;
};

struct topic_info {
    std::string topic;
    std::int64_t count = 0;  // events stored now (retention and compaction lower it)
    seq_t last_seq{};        // the greatest seq ever given; never lowered (seqs are not reused)
    // Retention (docs/retention.md): 0 until a pass first drops an event of the topic. Then
    // no event with a ts below it is accepted any more (errc::gone), because the state of a
    // key before the horizon can no longer be folded from its events.
    ts_ms horizon{};
};

// What a retention or compaction pass dropped of one key (docs/retention.md). Written in the
// transaction that deletes the events; merged with what earlier passes dropped:
// `gone_from` only goes down, the base position only goes up.
//
// Before it deletes, the pass stores time-travel snapshots (both built-in reducers) at the
// base position: the fold of every event of the key up to (base_ts, base_seq), the greatest
// position of a dropped event. Then the state at T is exact for T < gone_from (no event up
// to T was dropped) and for T >= base_ts (the base snapshot covers every dropped event), and
// gone in between.
struct key_horizon {
    std::string key;
    ts_ms gone_from{};  // the lowest ts of a dropped event of the key
    ts_ms base_ts{};    // the greatest (ts, seq) of a dropped event of the key
    seq_t base_seq{};
};

// Bytes the events of a topic take, as the backend counts them (payload, headers, id, key).
struct topic_size {
    std::string topic;
    std::int64_t events = 0;
    std::int64_t bytes = 0;
};

// One durable consumer cursor, with what an operator needs to judge it (store::list_cursors).
struct cursor_status {
    std::string topic;
    std::string group;
    seq_t seq{};                    // the last acknowledged seq
    std::optional<ts_ms> acked_at;  // when the cursor was last written; none if never since
                                    // the column existed (a database from before it)
    seq_t topic_last_seq{};         // 0 when the topic has no event
    std::optional<ts_ms> next_ts;   // ts of the first unacknowledged event (seq + 1), if any
};

// One lease row (store::list_leases). `remaining` is measured on the clock that decides
// expiry (the database server's for PostgreSQL), so callers never compare clocks.
struct lease_status {
    std::string name;
    std::string owner;
    std::chrono::milliseconds remaining{0};  // <= 0: expired (anyone may take it)
};

// A stored document: its canonical JSON (with `_key` and `_ts`) and strong ETag, both made
// at write time so that readers never parse, serialize or hash.
struct document {
    std::string collection;
    std::string key;
    ts_ms ts{};
    std::string body;
    std::string etag;
    // Only in what a commit reports (commit_listener) and in a transaction's working set:
    // the document was deleted (body and etag empty). Stored documents never carry it.
    bool deleted = false;
};

// One entry of a collection's change log (docs/watches.md): a document that a committed
// transaction wrote or deleted. `seq` numbers the collection's changes 1, 2, 3, … in commit
// order, without gaps: a reader that has seen change N and reads "after N" later misses
// none and sees none twice. A transaction that writes a document several times logs it
// once, with what it committed. The log is kept whole (never pruned).
struct document_change {
    seq_t seq{};
    std::string collection;
    std::string key;
    ts_ms ts{};
    bool deleted = false;
    std::string body;  // canonical JSON; empty when deleted
    std::string etag;  // empty when deleted
};

struct change_query {
    std::string collection;
    seq_t after{};  // exclusive: 0 reads from the first change
    std::size_t limit = 1000;
    std::size_t max_bytes = default_max_page_bytes;
};

struct find_query {
    std::string collection;
    // Top-level field = literal value. A string field matches the same string; a number or
    // boolean field matches its canonical JSON text. Names are validated by the caller.
    std::vector<std::pair<std::string, std::string>> equals;
    std::size_t offset = 0;
    std::size_t limit = 100;
    std::size_t max_bytes = default_max_page_bytes;
};

class transaction {
  public:
    virtual ~transaction() = default;  // rolls back unless committed

    virtual result<std::optional<document>> find_one(std::string_view collection,
                                                     std::string_view key) = 0;
    // Applies $set/$inc/$setOnInsert/$unset (or a plain replacement object) to one document.
    // not_found when it does not exist and !upsert; type_error on a bad operand.
    virtual result<document> update_one(std::string_view collection, std::string_view key,
                                        const json::object& update, bool upsert) = 0;
    // update_one for a caller that does not look at the result (a projector handler): the
    // same rules and errors, but a backend may keep the document parsed in the transaction
    // and serialize it (and its ETag) once at commit, however often the transaction changes
    // it, and a replacement may take the update's fields without copying them. The default
    // calls update_one.
    virtual status update(std::string_view collection, std::string_view key, json::object update,
                          bool upsert);
    // Writes `body` as a new document: errc::conflict when the document exists, at the time
    // of the write (on PostgreSQL a concurrent transaction's insert counts once it commits).
    // For a batch evaluated before its transaction, whose documents were absent then: an
    // upsert would overwrite what another projector created meanwhile. The default (one
    // writer at a time: SQLite, memory) reads, then writes with update; wrappers forward it.
    virtual status create_one(std::string_view collection, std::string_view key, json::object body);
    // Deletes one document; false when there was none (then nothing is logged). The
    // default refuses (errc::invalid_argument): wrappers that do not forward it.
    virtual result<bool> delete_one(std::string_view collection, std::string_view key);
    // Erasure of a document (docs/retention.md): delete_one, and the key's earlier changes
    // in the collection's change log lose their bodies and ETags (each reads as a deletion
    // from then on), so that no watch replays the erased content. False when there was
    // neither a document nor a change with a body. The default refuses, as delete_one's.
    virtual result<bool> erase_one(std::string_view collection, std::string_view key);
    virtual result<std::vector<append_result>> append(std::vector<event_input> batch) = 0;
    // Also records the time of the write (cursor_status::acked_at), on every backend.
    virtual status set_cursor(std::string_view topic, std::string_view group, seq_t seq) = 0;
    virtual result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) = 0;

    // ---- retention (docs/retention.md). The defaults refuse (errc::invalid_argument), as
    // delete_one's does, for wrappers that do not forward them.
    // Deletes these events of `topic` (seqs with no event are skipped): `latest` stays right
    // (a key whose latest event goes points at its greatest surviving seq, or loses its row
    // when none survives), the topic's count goes down, last_seq stays. Returns how many it
    // deleted.
    virtual result<std::size_t> delete_events(std::string_view topic,
                                              const std::vector<seq_t>& seqs);
    // Merges `h` into the key's record (key_horizon above; inserted when there is none).
    // A backend may also tidy what delete_events left of the key's deleted events (SQLite:
    // their rows of its key index, which no read returns), so a retention pass puts each
    // record once more after its deletions.
    virtual status put_key_horizon(std::string_view topic, const key_horizon& h);
    // Erasure: deletes every event of (topic, key), its snapshots (all reducers), its
    // `latest` row and its key_horizon. Returns how many events it deleted. On SQLite the
    // deleted content is overwritten in the file (secure_delete), so no page keeps it.
    virtual result<std::size_t> erase_key(std::string_view topic, std::string_view key);
    // store::put_snapshots inside this transaction, with the same known_seq rule: a pass
    // writes the base snapshots of a few dozen keys with their records in one transaction,
    // before it deletes any of their events (docs/retention.md).
    virtual result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                              std::string_view reducer, seq_t known_seq,
                                              const std::vector<state_snapshot>& snaps);

    virtual status commit() = 0;
};

// Called after a commit with the documents it wrote (on the committing thread).
using commit_listener = std::function<void(const std::vector<document>&)>;

// What a commit appended: each topic it appended to with the topic's last seq after it.
// `complete` is false when the store learned that something changed without learning what
// (a commit by another process seen through SQLite's data_version, PostgreSQL notifications
// lost while the listening connection reconnected, a node that sends no topics): then any
// topic may have grown and a listener must look for itself.
struct topic_tip {
    std::string topic;
    seq_t last_seq{};
};
struct appended_topics {
    std::vector<topic_tip> tips;
    bool complete = true;
};
// Called after each commit that appended (on the committing thread, or the thread that
// noticed another process's change), before change_version() moves. Must be quick and must
// not call back into the store.
using append_listener = std::function<void(const appended_topics&)>;

// Called exactly once with the outcome of store::append_async: on the store's writer thread
// after the commit that made the events durable (or with the error that failed them), or on
// the calling thread when the batch is refused before queueing. It must be quick and must not
// block or call back into the store: hand the result to the thread that will use it.
using append_callback = std::move_only_function<void(result<std::vector<append_result>>)>;

// The group commit's record of its commits: how long each took and how many events they
// wrote. Their mean group size (events over commits) says how well the writer shares its
// fsyncs; the duration says how long the disk makes a commit wait.
struct commit_statistics {
    latency_histogram duration;            // one entry per commit: transaction, commit, fsync
    std::atomic<std::uint64_t> events{0};  // events those commits wrote (duplicates included)
};

class store {
  public:
    virtual ~store() = default;

    // ---- event log
    // Appends atomically; concurrent callers share one commit (group commit) and each
    // returns only once its events are durable. Duplicate ids report the original seq.
    virtual result<std::vector<append_result>> append(std::vector<event_input> batch) = 0;
    // The same without holding the calling thread until the commit: the batch joins the
    // writer's next group and `done` gets what append() would have returned. Many callers
    // (HTTP and WebSocket publishes on the network threads) can thus share one commit
    // without a thread each. The default runs append() on the calling thread.
    virtual void append_async(std::vector<event_input> batch, append_callback done);
    virtual result<std::vector<event>> scan(const scan_query& q) = 0;
    virtual result<std::vector<event>> scan_key_by_time(const key_time_query& q) = 0;
    virtual result<std::vector<event>> latest_per_key(std::string_view topic) = 0;
    // The keys latest_per_key lists (never the empty key), without their events: in byte
    // order, after `after` (exclusive), at most `limit`. Pages through a topic's keys in
    // bounded memory (time travel's /at?all). The default filters latest_per_key.
    virtual result<std::vector<std::string>> topic_keys(std::string_view topic,
                                                        std::string_view after, std::size_t limit);
    virtual result<std::vector<topic_info>> topics() = 0;
    virtual result<std::optional<topic_info>> topic(std::string_view name) = 0;

    // ---- consumer cursors: the last acknowledged seq of (topic, group); none before the first
    virtual result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) = 0;
    virtual status set_cursor(std::string_view topic, std::string_view group, seq_t seq) = 0;

    // ---- documents
    virtual result<std::optional<document>> find_one(std::string_view collection,
                                                     std::string_view key) = 0;
    virtual result<std::vector<document>> find(const find_query& q) = 0;
    virtual status declare_index(std::string_view collection, std::string_view field) = 0;

    // ---- the change log of a collection (document_change above): written by every commit
    // that writes or deletes documents, in that commit's transaction.
    // Changes with seq > q.after, in seq order, at most q.limit.
    virtual result<std::vector<document_change>> changes(const change_query& q) = 0;
    // The seq of the collection's last change; 0 when it has none.
    virtual result<seq_t> last_change(std::string_view collection) = 0;
    // The collections with a change log (every collection a commit has written or deleted
    // in) whose names start with `prefix`, in byte order: how an erasure finds every
    // rebuild's shadow of a collection (docs/retention.md).
    virtual result<std::vector<std::string>> logged_collections(std::string_view prefix) = 0;

    // ---- transactions over documents, cursors and appends together
    virtual result<std::unique_ptr<transaction>> begin() = 0;

    // ---- leases: one active consumer per name across threads, processes and nodes.
    // Acquires or renews; false when another owner holds an unexpired lease.
    virtual result<bool> acquire_lease(std::string_view name, std::string_view owner,
                                       std::chrono::milliseconds ttl) = 0;
    virtual status release_lease(std::string_view name, std::string_view owner) = 0;

    // ---- change notification: a counter that moves on every commit (also other processes')
    virtual std::uint64_t change_version() = 0;
    // Returns when change_version() != seen, or after timeout.
    virtual void wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) = 0;
    // The same for one topic: a counter that moves when a commit appends to `topic` or a
    // change of unknown extent is seen (append_listener's `complete = false`), and a wait
    // for it to move. A consumer of a quiet topic then sleeps through other topics' commits
    // (a thousand a second under publish load). Read the counter before reading the topic,
    // as with change_version(). The default is the store-wide counter and wait.
    virtual std::uint64_t topic_change_version(std::string_view topic);
    virtual void wait_for_topic_change(std::string_view topic, std::uint64_t seen,
                                       std::chrono::milliseconds timeout);

    // Listeners must not call back into the store's write path.
    virtual void add_commit_listener(commit_listener listener) = 0;
    // Returns once every commit of documents that was visible to a read made before the call
    // has run its commit listeners (which drop cached copies of what it wrote). Answer "the
    // projector has applied it" after a cursor read only past this call, or a reader told so
    // may be served an older cached body. The default (a store without caches' listeners to
    // wait for) returns at once.
    virtual void wait_for_commit_listeners() {}
    // Which topics grew: lets a waiter on many topics wake only those of the topics that
    // moved (the WebSocket delivery pool) instead of re-reading every topic on every commit.
    virtual void add_append_listener(append_listener listener) = 0;

    // How the store's writer has grouped appends into commits (the metrics page's
    // prom_log_commit_*; docs/operations.md, "Metrics"), or nullptr for a store that commits
    // each append on its caller's thread (memory).
    virtual const commit_statistics* commit_stats() const { return nullptr; }

    // ==== operations: groups, cursors and leases seen from outside (docs/operations.md) =====
    // Every cursor of every group, ordered by (topic, group), with its topic's last seq and
    // the ts of its first unacknowledged event; one query, whatever the number of groups.
    virtual result<std::vector<cursor_status>> list_cursors() = 0;
    // Every lease whose name starts with `prefix`.
    virtual result<std::vector<lease_status>> list_leases(std::string_view prefix) = 0;
    // Deletes a group's cursor; false when there was none.
    virtual result<bool> delete_cursor(std::string_view topic, std::string_view group) = 0;
    // Takes the lease whoever holds it (an operator revoking a consumer's lease): its
    // holder's next renewal fails, so it stops delivering and, once the lease is free again,
    // re-reads the durable cursor.
    virtual status seize_lease(std::string_view name, std::string_view owner,
                               std::chrono::milliseconds ttl) = 0;
    // ==== end of operations =================================================================

    // ==== time-travel snapshots (docs/time-travel.md) ===================================
    // Every backend implements these two methods and one rule in its append path; the
    // contract suite tests/contract/timetravel_contract_test.cpp checks all of it.
    // Snapshots are a cache: dropping any of them changes no answer, only speed.
    //
    // APPEND RULE: appending an event (topic, key, ts) drops, in the same transaction, every
    // snapshot of (topic, key), all reducers, whose ts is > the event's ts. (Such an event
    // is "late": it sorts before those snapshots' positions, so they no longer describe a
    // prefix of the key's events. A snapshot with ts equal to the event's stays valid,
    // because the new event's seq is higher, so it sorts after it.)

    // Stores snapshots of one (topic, key, reducer), replacing any at the same (ts, seq).
    // `known_seq` is the topic's last seq read before the fold that made them began; a
    // snapshot is stored only if no event of (topic, key) with seq > known_seq has a ts
    // below the snapshot's ts (checked in the write transaction, so that an append which
    // raced with the fold cannot leave a stale snapshot behind). Returns how many were
    // stored; skipping some is not an error.
    virtual result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                              std::string_view reducer, seq_t known_seq,
                                              const std::vector<state_snapshot>& snaps) = 0;

    // The snapshot of (topic, key, reducer) with the greatest (ts, seq) such that ts <= t,
    // or none. One index seek.
    virtual result<std::optional<state_snapshot>> snapshot_at_or_before(std::string_view topic,
                                                                        std::string_view key,
                                                                        std::string_view reducer,
                                                                        ts_ms t) = 0;
    // ==== end of time-travel snapshots ===================================================

    // ==== retention (docs/retention.md) ====================================================
    // Raises the topic's horizon (topic_info::horizon) to at least `h`, never lowering it,
    // under the lock that orders the topic's appends: once it returns, no append of an event
    // with ts < horizon commits (such appends fail with errc::gone, the whole batch). Returns
    // the horizon now. not_found for a topic that does not exist.
    virtual result<ts_ms> raise_horizon(std::string_view topic, ts_ms h) = 0;
    // Whether `topic` holds an event with `id` (committed). The schema check asks before it
    // refuses an event: a retried event that is stored already is a duplicate, whatever the
    // topic's schema says now.
    virtual result<bool> has_event_id(std::string_view topic, std::string_view id) = 0;
    // The record of what passes dropped of (topic, key), if any.
    virtual result<std::optional<key_horizon>> find_key_horizon(std::string_view topic,
                                                                std::string_view key) = 0;
    // Every key of `topic` that has a record, in key order (time travel lists them with the
    // keys of `latest`: a key whose every event was dropped still has a state after it).
    virtual result<std::vector<key_horizon>> key_horizons(std::string_view topic) = 0;
    // Events and bytes per topic, in topic order (one aggregate query; reads every row).
    virtual result<std::vector<topic_size>> topic_sizes() = 0;
    // Gives space back to the file system where the backend can (SQLite: a WAL checkpoint
    // with truncation and an incremental vacuum; PostgreSQL: nothing, autovacuum does it).
    virtual status reclaim_space() = 0;
    // Between the transactions of a long writer (a retention pass): copies what the
    // write-ahead log holds into the database without waiting for anyone or holding the
    // writer (SQLite: a PASSIVE checkpoint on a connection of its own), so that the
    // checkpoint the writer's pages make due does not land on a publisher's commit. Where
    // the backend has nothing of the kind (memory, PostgreSQL), it does nothing.
    virtual status checkpoint_log() = 0;
    // ==== end of retention ================================================================
};

struct store_options {
    bool durable = true;  // SQLite synchronous=FULL; false = NORMAL (tests, benchmarks)
    std::chrono::milliseconds busy_timeout{10000};
    // PostgreSQL: a session that leaves a transaction open and idle this long is ended by
    // the server (idle_in_transaction_session_timeout), so a node that froze mid-transaction
    // (a paused VM, SIGSTOP) cannot hold its row locks and stall the other nodes' writers for
    // ever; the frozen node's transaction then fails with `unavailable` when it wakes.
    std::chrono::milliseconds idle_transaction_timeout{60000};
    // Refuse to create the database: a SQLite file (or its directory) that does not exist,
    // or a PostgreSQL schema without prom's tables, is errc::not_found and nothing is
    // created. For commands that only read, where a typo in --db must not silently read a
    // new, empty database.
    bool must_exist = false;
    // How often a long background catch-up logs how far it is (SQLite: the key index filled
    // from a long log, as after a power cut; docs/storage-schema.md).
    std::chrono::milliseconds progress_every{10000};
};

// A page of s.scan(q), s.scan_key_by_time(q), s.find(q) or s.changes(q) that fits
// q.max_bytes: where the page asked
// for passes it, the limit is halved (down to one row) until it fits, and q.limit is left at
// the limit that was used, so that a page shorter than q.limit still means the end. A scan
// without a limit gets one, 1024 rows, before it is halved.
result<std::vector<event>> scan_fitting(store& s, scan_query& q);
result<std::vector<event>> scan_key_by_time_fitting(store& s, key_time_query& q);
result<std::vector<document>> find_fitting(store& s, find_query& q);
result<std::vector<document_change>> changes_fitting(store& s, change_query& q);

// `memory:`, `sqlite:PATH` or `postgresql://…`.
result<std::unique_ptr<store>> open_store(std::string_view url, store_options options = {});

// The URL for logs and messages: a SQLite path made absolute, a PostgreSQL password hidden.
std::string describe_db_url(std::string_view url);

constexpr std::string_view default_db_url = "sqlite:./prom-data/prom.db";

}  // namespace prom
