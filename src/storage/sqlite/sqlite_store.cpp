#include "storage/sqlite/sqlite_store.hpp"

#include <filesystem>

#include "docs/update.hpp"
#include "storage/change_log.hpp"
#include "storage/page_bytes.hpp"
#include "storage/sqlite/sqlite_file_check.hpp"
#include "storage/sqlite/sqlite_key_index.hpp"
#include "storage/sqlite/sqlite_schema.hpp"

namespace prom::storage::sqlite {

result<std::unique_ptr<store>> sqlite_store::open(const std::string& path, const store_options& o) {
    std::error_code ec;
    // First: a directory or another kind of file is named as such (exit 2), not "no
    // database" (found from outside: read commands said so of a directory).
    if (auto ok = refuse_foreign_file(path); !ok) return std::unexpected(ok.error());
    if (o.must_exist && !std::filesystem::is_regular_file(path, ec)) {
        return fail(errc::not_found, "no database at '" + describe_db_url("sqlite:" + path) +
                                         "': check --db (nothing was created)");
    }
    // An empty file with no write-ahead log beside it holds no database either: opening it
    // would make it one (found from outside: `prom topics` on a 0-byte file wrote 64 KiB and
    // two keys files). A new database's log may be all there is, so that one is opened.
    if (o.must_exist) {
        std::error_code size_ec, wal_ec;
        const auto size = std::filesystem::file_size(path, size_ec);
        const auto wal = std::filesystem::file_size(path + "-wal", wal_ec);  // error: no log
        if (!size_ec && size == 0 && (wal_ec || wal == 0)) {
            return fail(errc::not_found, "no database at '" + describe_db_url("sqlite:" + path) +
                                             "' (an empty file): check --db (nothing was changed)");
        }
    }
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !o.must_exist) {
        std::filesystem::create_directories(parent, ec);
        if (ec) {
            return fail(errc::io_error,
                        "cannot create directory '" + parent.string() + "': " + ec.message());
        }
    }
    std::unique_ptr<sqlite_store> s(new sqlite_store(path, o));
    if (auto ok = s->init(); !ok) return std::unexpected(ok.error());
    return std::unique_ptr<store>(std::move(s));
}

sqlite_store::~sqlite_store() = default;

status sqlite_store::init() {
    // Before anything attaches the keys file: one left torn by a power cut goes here.
    auto guard = keys_guard::acquire(path_);
    if (!guard) return std::unexpected(guard.error());
    keys_guard_ = std::move(*guard);
    auto w = connection::open(path_, !options_.must_exist,
                              static_cast<int>(options_.busy_timeout.count()));
    if (!w) return std::unexpected(w.error());
    writer_ = std::move(*w);
    // A database already up to date is opened with reads only, so that opening it does not
    // wait for another process's write transaction (found from outside: a read-only command
    // failed behind one).
    auto current = schema_is_current(*writer_);
    if (!current) return failed_to_open(current.error());
    // Retention gives space back page by page (reclaim_space): only possible when it is
    // set before the first table is made, so it takes effect on new databases only (an
    // older one needs one VACUUM; docs/storage-schema.md). Setting it takes the write lock,
    // and on a database with tables it changes nothing.
    if (!*current) {
        if (auto ok = writer_->exec("PRAGMA auto_vacuum=INCREMENTAL"); !ok) {
            return failed_to_open(ok.error());
        }
        if (auto ok = writer_->exec("PRAGMA keys.auto_vacuum=INCREMENTAL"); !ok) {
            return failed_to_open(ok.error());
        }
    }
    // Erasure must leave no copy of a payload in any page (docs/retention.md). SQLite
    // leaves copies of rows in the free space of pages it rebalances when rows are written,
    // not only where they are deleted; only secure_delete on for every write zeroes those,
    // so it is on for the writer's whole life, not only during erase_key.
    if (auto ok = writer_->exec("PRAGMA secure_delete=ON"); !ok) return ok;
    // WAL lets readers (HTTP, CLI) run beside the writer. FULL: an acknowledged append has
    // reached the disk, so it survives power loss, not only a process crash.
    if (auto ok = writer_->exec("PRAGMA journal_mode=WAL"); !ok) return ok;
    if (auto ok = writer_->exec("PRAGMA keys.journal_mode=WAL"); !ok) return ok;
    // Replaces the default wal_autocheckpoint hook with one that hands the copy to a thread
    // of its own (sqlite_checkpointer.hpp) and counts the WAL's frames for checkpoint_log
    // (sqlite_retention.cpp).
    checkpointer_ = std::make_unique<wal_checkpointer>(
        path_, static_cast<int>(options_.busy_timeout.count()), options_.durable);
    sqlite3_wal_hook(writer_->raw(), &sqlite_store::on_wal_commit, this);
    if (auto ok = writer_->exec(options_.durable ? "PRAGMA synchronous=FULL"
                                                 : "PRAGMA synchronous=NORMAL");
        !ok) {
        return ok;
    }
    if (!*current) {
        if (auto ok = make_schema(); !ok) return ok;
    }
    foreign_commits_ = std::make_unique<foreign_commit_watcher>(
        [this] { return other_process_committed(); },
        // What another process appended is not known here: listeners look for themselves.
        [this] { notifier_.notify_unknown_change(); });
    key_indexer_ =
        std::make_unique<key_indexer>(path_, static_cast<int>(options_.busy_timeout.count()),
                                      keys_guard_.get(), options_.progress_every);
    notifier_.add_append_listener(
        [indexer = key_indexer_.get()](const appended_topics& a) { indexer->appended(a); });
    group_commit_ = std::make_unique<group_commit>(
        [this](std::vector<group_commit::request>& group) { write_group(group); });
    return {};
}

// The open's statements that need the database's write lock: their errors name the file,
// and say when the lock was held past the busy timeout (found from outside: "PRAGMA
// auto_vacuum=INCREMENTAL: database is locked", for a read-only command while another
// process wrote).
status sqlite_store::failed_to_open(const error& e) const {
    std::string message = "cannot open database '" + path_ + "': " + e.message;
    if (e.code == errc::unavailable) {
        message += " (another process held its write lock for more than " +
                   std::to_string(options_.busy_timeout.count()) + " ms)";
    }
    return fail(e.code, std::move(message));
}

status sqlite_store::make_schema() {
    // BEGIN IMMEDIATE holds both files' write locks: the schema and its migrations write
    // to both.
    if (auto ok = writer_->exec("BEGIN IMMEDIATE"); !ok) return failed_to_open(ok.error());
    for (const char* sql : {schema_sql, keys_schema_sql}) {
        if (auto ok = writer_->exec(sql); !ok) {
            (void)writer_->exec("ROLLBACK");
            return ok;
        }
    }
    if (auto ok = migrate_in_txn(*writer_); !ok) {
        (void)writer_->exec("ROLLBACK");
        return ok;
    }
    return writer_->exec("COMMIT");
}

result<sqlite_store::reader_lease> sqlite_store::reader() {
    {
        std::lock_guard lock(readers_mu_);
        if (!idle_readers_.empty()) {
            auto c = std::move(idle_readers_.back());
            idle_readers_.pop_back();
            return reader_lease(*this, std::move(c));
        }
    }
    auto c = connection::open(path_, false, static_cast<int>(options_.busy_timeout.count()));
    if (!c) return std::unexpected(c.error());
    return reader_lease(*this, std::move(*c));
}

result<std::vector<event>> sqlite_store::read_events(connection& c, std::string_view sql,
                                                     const std::function<void(statement&)>& bind,
                                                     page_bytes* bound) {
    auto st = c.prepare(sql);
    if (!st) return std::unexpected(st.error());
    bind(*st);
    std::vector<event> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        // Counted before the row is decoded: a page over its bound stops here, holding no more.
        if (bound) {
            if (auto ok = bound->add(event_row_bytes(*st)); !ok) {
                return std::unexpected(ok.error());
            }
        }
        auto e = decode_event(*st);
        if (!e) return std::unexpected(e.error());
        out.push_back(std::move(*e));
    }
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "read events"));
    return out;
}

result<bool> sqlite_store::has_event_id(std::string_view topic, std::string_view id) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare("SELECT 1 FROM events WHERE topic = ?1 AND id = ?2");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, id);
    const int rc = st->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return std::unexpected((*r)->last_error(rc, "look up an event id"));
    }
    return rc == SQLITE_ROW;
}

result<std::vector<event>> sqlite_store::scan(const scan_query& q) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    std::string sql = "SELECT " PROM_EVENT_COLUMNS " FROM events WHERE topic = ?1 AND seq >= ?2";
    if (q.to_seq) sql += " AND seq <= ?3";
    if (q.key) sql += " AND key = ?4";
    if (q.from_ts) sql += " AND ts >= ?5";
    if (q.to_ts) sql += " AND ts <= ?6";
    sql += " ORDER BY seq";
    if (q.limit) sql += " LIMIT ?7";
    page_bytes bound(q.max_bytes, "events of topic", q.topic);
    return read_events(
        **r, sql,
        [&](statement& st) {
            st.bind(1, q.topic);
            st.bind(2, q.from_seq);
            if (q.to_seq) st.bind(3, *q.to_seq);
            if (q.key) st.bind(4, *q.key);
            if (q.from_ts) st.bind(5, *q.from_ts);
            if (q.to_ts) st.bind(6, *q.to_ts);
            if (q.limit) st.bind(7, static_cast<std::int64_t>(*q.limit));
        },
        &bound);
}

result<std::vector<event>> sqlite_store::scan_key_by_time(const key_time_query& q) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    // The key's rows of key_events joined to their events, merged with the log's tail
    // (sqlite_key_index.hpp). Both halves come out in (ts, seq) order, the first straight from
    // the key_events key (k.ts and k.seq are selected so that SQLite sees that), so SQLite
    // merges them and a LIMIT stops early; only the tail (< key_index_lag rows) is sorted.
    std::string sql =
        "SELECT k.topic, k.seq, e.id, k.key, k.ts, e.payload, e.headers FROM keys.key_events k "
        "JOIN events e ON e.topic = k.topic AND e.seq = k.seq "
        "WHERE k.topic = ?1 AND k.key = ?2 AND k.ts <= ?3";
    if (q.after) sql += " AND (k.ts, k.seq) > (?4, ?5)";
    sql += " UNION ALL SELECT " PROM_EVENT_COLUMNS
           " FROM events WHERE topic = ?1 AND " PROM_INDEXED_TAIL " AND key = ?2 AND ts <= ?3";
    if (q.after) sql += " AND (ts, seq) > (?4, ?5)";
    sql += " ORDER BY 5, 2";  // ts, seq
    if (q.limit) sql += " LIMIT ?6";
    page_bytes bound(q.max_bytes, "events of topic", q.topic);
    return read_events(
        **r, sql,
        [&](statement& st) {
            st.bind(1, q.topic);
            st.bind(2, q.key);
            st.bind(3, q.to_ts);
            if (q.after) {
                st.bind(4, q.after->first);
                st.bind(5, q.after->second);
            }
            if (q.limit) st.bind(6, static_cast<std::int64_t>(*q.limit));
        },
        &bound);
}

result<std::vector<event>> sqlite_store::latest_per_key(std::string_view topic) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    // `latest` holds each key's latest event up to the topic's keyed_seq; the log's tail
    // (sqlite_key_index.hpp) has the later ones: the greater seq of each key wins. CROSS JOIN
    // keeps the keys as the outer loop: without statistics SQLite otherwise walks every
    // event of the topic and scans the keys for each (events x keys).
    return read_events(**r,
                       "SELECT e.topic, e.seq, e.id, e.key, e.ts, e.payload, e.headers FROM "
                       "(SELECT max(seq) AS seq FROM (SELECT key, seq FROM latest WHERE topic = ?1 "
                       "UNION ALL SELECT key, seq FROM events WHERE topic = ?1 AND " PROM_KEY_TAIL
                       ") GROUP BY key) l CROSS JOIN events e ON e.topic = ?1 AND e.seq = l.seq "
                       "ORDER BY e.seq",
                       [&](statement& st) { st.bind(1, topic); });
}

result<std::vector<std::string>> sqlite_store::topic_keys(std::string_view topic,
                                                          std::string_view after,
                                                          std::size_t limit) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    // latest_per_key's keys: those of `latest` whose event is still there, and those of the
    // log's tail (sqlite_key_index.hpp), whose events are the newest. Both arms come out in
    // key order (the first from latest's key, the second sorted: the tail is short), so
    // SQLite merges them and the LIMIT stops the walk of `latest` early.
    auto st = (*r)->prepare(
        "SELECT key FROM latest l WHERE l.topic = ?1 AND l.key > ?2 AND EXISTS "
        "(SELECT 1 FROM events e WHERE e.topic = ?1 AND e.seq = l.seq) "
        "UNION SELECT key FROM events WHERE topic = ?1 AND " PROM_KEY_TAIL
        " AND key > ?2 "
        "ORDER BY 1 LIMIT ?3");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, after);
    st->bind(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<std::string> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) out.emplace_back(st->text(0));
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read keys"));
    return out;
}

result<std::vector<topic_info>> sqlite_store::topics() {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare("SELECT " PROM_TOPIC_COLUMNS " FROM topics ORDER BY name");
    if (!st) return std::unexpected(st.error());
    std::vector<topic_info> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        out.push_back(decode_topic(*st));
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "list topics"));
    return out;
}

result<std::optional<topic_info>> sqlite_store::topic(std::string_view name) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare("SELECT " PROM_TOPIC_COLUMNS " FROM topics WHERE name = ?1");
    if (!st) return std::unexpected(st.error());
    st->bind(1, name);
    int rc = st->step();
    if (rc == SQLITE_ROW) {
        return std::optional<topic_info>{decode_topic(*st)};
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read topic"));
    return std::optional<topic_info>{};
}

result<std::optional<seq_t>> sqlite_store::cursor(std::string_view topic, std::string_view group) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare("SELECT seq FROM cursors WHERE topic = ?1 AND grp = ?2");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, group);
    int rc = st->step();
    if (rc == SQLITE_ROW) return std::optional<seq_t>{decode_seq(*st)};
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read cursor"));
    return std::optional<seq_t>{};
}

status sqlite_store::set_cursor(std::string_view topic, std::string_view group, seq_t seq) {
    auto txn = begin();
    if (!txn) return std::unexpected(txn.error());
    if (auto ok = (*txn)->set_cursor(topic, group, seq); !ok) return ok;
    return (*txn)->commit();
}

result<std::optional<document>> sqlite_store::find_one(std::string_view collection,
                                                       std::string_view key) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st =
        (*r)->prepare("SELECT " PROM_DOCUMENT_COLUMNS " FROM docs WHERE coll = ?1 AND key = ?2");
    if (!st) return std::unexpected(st.error());
    st->bind(1, collection);
    st->bind(2, key);
    int rc = st->step();
    if (rc == SQLITE_ROW) return std::optional<document>{decode_document(*st)};
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read document"));
    return std::optional<document>{};
}

result<std::vector<document_change>> sqlite_store::changes(const change_query& q) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare(read_changes_sql);
    if (!st) return std::unexpected(st.error());
    st->bind(1, q.collection);
    st->bind(2, q.after);
    st->bind(3, static_cast<std::int64_t>(std::min<std::size_t>(q.limit, INT64_MAX)));
    std::vector<document_change> out;
    page_bytes bound(q.max_bytes, "changes of collection", q.collection);
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        if (auto ok = bound.add(change_row_bytes(*st)); !ok) {
            return std::unexpected(ok.error());
        }
        out.push_back(decode_change(*st));
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read changes"));
    return out;
}

result<seq_t> sqlite_store::last_change(std::string_view collection) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare(last_change_sql);
    if (!st) return std::unexpected(st.error());
    st->bind(1, collection);
    int rc = st->step();
    if (rc == SQLITE_ROW) return decode_seq(*st);
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "read change head"));
    return seq_t{};
}

result<std::vector<std::string>> sqlite_store::logged_collections(std::string_view prefix) {
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare(logged_collections_sql);
    if (!st) return std::unexpected(st.error());
    st->bind(1, prefix);
    std::vector<std::string> out;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) out.emplace_back(st->text(0));
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "list collections"));
    return out;
}

result<std::vector<document>> sqlite_store::find(const find_query& q) {
    if (!docs::valid_collection_name(q.collection)) {
        return fail(errc::invalid_argument, "bad collection name '" + q.collection + "'");
    }
    // Names are validated to [A-Za-z0-9_.-], so they can be SQL literals; this lets SQLite
    // match the partial expression indexes made by declare_index. Values are always bound.
    std::string sql =
        "SELECT " PROM_DOCUMENT_COLUMNS " FROM docs WHERE coll = '" + q.collection + "'";
    int param = 1;
    for (auto& [field, value] : q.equals) {
        if (!docs::valid_field_name(field)) {
            return fail(errc::invalid_argument, "bad field name '" + field + "'");
        }
        sql += " AND prom_match(body, '" + field + "') = ?" + std::to_string(param++);
    }
    sql += " ORDER BY ts DESC, key LIMIT ?" + std::to_string(param) + " OFFSET ?" +
           std::to_string(param + 1);
    auto r = reader();
    if (!r) return std::unexpected(r.error());
    auto st = (*r)->prepare(sql);
    if (!st) return std::unexpected(st.error());
    param = 1;
    for (auto& [field, value] : q.equals) st->bind(param++, value);
    st->bind(param++, static_cast<std::int64_t>(q.limit));
    st->bind(param, static_cast<std::int64_t>(q.offset));
    std::vector<document> out;
    page_bytes bound(q.max_bytes, "documents of collection", q.collection);
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        if (auto ok = bound.add(document_row_bytes(*st)); !ok) {
            return std::unexpected(ok.error());
        }
        out.push_back(decode_document(*st));
    }
    if (rc != SQLITE_DONE) return std::unexpected((*r)->last_error(rc, "find documents"));
    return out;
}

status sqlite_store::declare_index(std::string_view collection, std::string_view field) {
    if (!docs::valid_collection_name(collection) || !docs::valid_field_name(field)) {
        return fail(errc::invalid_argument, "bad collection or field name for an index");
    }
    std::string c(collection), f(field);
    std::string sql = "CREATE INDEX IF NOT EXISTS \"docs_f_" + c + "__" + f +
                      "\" ON docs(prom_match(body, '" + f + "'), ts DESC, key) WHERE coll = '" + c +
                      "'";
    auto lock = lock_writer();
    return writer_->exec(sql.c_str());
}

result<bool> sqlite_store::acquire_lease(std::string_view name, std::string_view owner,
                                         std::chrono::milliseconds ttl) {
    auto lock = lock_writer();
    auto st = writer_->prepare(
        "INSERT INTO leases(name, owner, expires_ms) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms "
        "WHERE leases.owner = excluded.owner OR leases.expires_ms < ?4");
    if (!st) return std::unexpected(st.error());
    ts_ms now = now_ms();
    st->bind(1, name);
    st->bind(2, owner);
    st->bind(3, now + ttl.count());
    st->bind(4, now);
    int rc = st->step();
    if (rc != SQLITE_DONE) return std::unexpected(writer_->last_error(rc, "acquire lease"));
    return sqlite3_changes(writer_->raw()) == 1;
}

status sqlite_store::release_lease(std::string_view name, std::string_view owner) {
    {
        auto lock = lock_writer();
        auto st = writer_->prepare("DELETE FROM leases WHERE name = ?1 AND owner = ?2");
        if (!st) return std::unexpected(st.error());
        st->bind(1, name);
        st->bind(2, owner);
        int rc = st->step();
        if (rc != SQLITE_DONE) return std::unexpected(writer_->last_error(rc, "release lease"));
    }
    notifier_.bump();
    return {};
}

// In-process commits wake waiters at once (and tell the append listeners what they appended);
// commits by other processes (the CLI, other nodes) through the change of unknown extent that
// foreign_commits_ reports (sqlite_foreign_commits.hpp). The notifier's waits return on a
// change or at the timeout, so nothing here polls.
void sqlite_store::wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) {
    notifier_.wait(seen, timeout);
}

void sqlite_store::wait_for_topic_change(std::string_view topic, std::uint64_t seen,
                                         std::chrono::milliseconds timeout) {
    // Another process's commit is a change of unknown extent, which moves every topic's
    // counter.
    notifier_.wait_topic(topic, seen, timeout);
}

bool sqlite_store::other_process_committed() {
    // Asked of the write connection: its data_version moves only when another connection
    // commits, and every write of this process goes through it, so a move is another
    // process's commit. (A separate polling connection would also see this process's own
    // commits, whose topics the append listeners already heard.) A busy writer is not waited
    // for: the next interval asks again.
    std::unique_lock wlock(write_mu_, std::try_to_lock);
    if (!wlock.owns_lock()) return false;
    auto st = writer_->prepare("PRAGMA data_version");
    if (!st || st->step() != SQLITE_ROW) return false;
    std::int64_t v = st->int64(0);
    bool changed = last_data_version_ >= 0 && v != last_data_version_;
    last_data_version_ = v;
    return changed;
}

}  // namespace prom::storage::sqlite
