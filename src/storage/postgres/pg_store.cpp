// Opening, the connection pool, log reads, cursors and leases.
#include "storage/postgres/pg_store.hpp"

#include "storage/postgres/pg_page_sql.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace prom::storage::postgres {

namespace {
constexpr std::size_t max_pool_connections = 16;
constexpr int max_conflict_retries = 5;
// The server's clock, not the node's: lease expiry must not depend on node clock skew.
#define PROM_PG_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"
}  // namespace

pg_store::pooled::~pooled() {
    if (!c_) return;  // moved from
    bool reusable = !c_->broken() && !c_->in_transaction();
    {
        std::lock_guard lock(s_->pool_mu_);
        if (reusable) {
            s_->idle_.push_back(std::move(c_));
        } else {
            --s_->pool_open_;
        }
    }
    s_->pool_cv_.notify_one();
}

pg_store::pg_store(pg_target t, store_options o) : target_(std::move(t)), options_(o) {
    // Channel names are identifiers: at most 63 bytes.
    channel_ = ("prom_" + target_.schema).substr(0, 63);
    notify_commit_sql_ = "NOTIFY " + quote_ident(channel_) + "; COMMIT";
}

pg_store::~pg_store() {
    if (listener_) listener_->stop();
}

namespace {
void read_appended_payload(const json::value& v, appended_topics& out) {
    // [[topic, last_seq], …]; null when the topics did not fit in one NOTIFY.
    if (!v.is_array()) {
        out.complete = false;
        return;
    }
    for (const auto& t : v.get_array()) {
        if (!t.is_array() || t.get_array().size() != 2 || !t.get_array()[0].is_string() ||
            !t.get_array()[1].is_int64()) {
            out.complete = false;
            continue;
        }
        note_appended(out.tips, t.get_array()[0].get_string(), seq_t{t.get_array()[1].get_int64()});
    }
}
}  // namespace

// Another node's document changes reach this node's commit listeners (the HTTP snapshot
// cache drops those keys), so no node serves a body older than the notification's delay;
// the topics any node's append grew reach the append listeners (prom_append's payload,
// pg_schema.hpp; this node's own come back too and wake nobody new).
void pg_store::on_remote_commit(const std::vector<std::string>& payloads, bool lost) {
    std::vector<document> changed;
    appended_topics appended;
    appended.complete = !lost;
    for (const auto& p : payloads) {
        auto v = parse_json(p);
        if (!v || !v->is_object()) continue;
        const auto& o = v->get_object();
        if (auto a = o.find("appended"); a != o.end()) {
            read_appended_payload(a->value(), appended);
            continue;
        }
        auto node = o.find("node");
        auto docs = o.find("docs");
        if (node == o.end() || docs == o.end() || !docs->value().is_array()) continue;
        if (node->value().is_string() && node->value().get_string() == node_id_)
            continue;  // ours: listeners ran
        for (const auto& d : docs->value().get_array()) {
            if (!d.is_array() || d.get_array().size() != 2 || !d.get_array()[0].is_string() ||
                !d.get_array()[1].is_string()) {
                continue;
            }
            document stub;  // only (collection, key): listeners re-read what they need
            stub.collection = d.get_array()[0].get_string();
            stub.key = d.get_array()[1].get_string();
            changed.push_back(std::move(stub));
        }
    }
    notifier_.notify_commit(changed, appended);
}

std::vector<std::string> pg_store::document_notifications(const std::vector<document>& docs) const {
    // NOTIFY payloads are limited to 8000 bytes: split the keys over several.
    constexpr std::size_t max_payload = 7000;
    std::vector<std::string> out;
    json::array batch;
    std::size_t bytes = 0;
    auto flush = [&] {
        if (batch.empty()) return;
        out.push_back(canonical_json(json::object{{"node", node_id_}, {"docs", std::move(batch)}}));
        batch = json::array{};
        bytes = 0;
    };
    for (const auto& d : docs) {
        std::size_t size = d.collection.size() + d.key.size() + 8;
        if (size > max_payload) continue;  // cannot be named in a NOTIFY; the cache TTL covers it
        if (bytes + size > max_payload) flush();
        batch.push_back(json::array{json::string(d.collection), json::string(d.key)});
        bytes += size;
    }
    flush();
    return out;
}

result<std::unique_ptr<store>> pg_store::open(std::string_view url, const store_options& o) {
    auto t = parse_pg_url(url);
    if (!t) return std::unexpected(t.error());
    std::unique_ptr<pg_store> s(new pg_store(std::move(*t), o));
    if (auto ok = s->init(); !ok) return std::unexpected(ok.error());
    return std::unique_ptr<store>(std::move(s));
}

std::vector<std::string> pg_store::session_setup() const {
    std::vector<std::string> setup{"SET search_path TO " + quote_ident(target_.schema)};
    // Not durable (tests, benchmarks): commits do not wait for the WAL flush. A server
    // crash may then lose the last commits, never corrupt anything (like SQLite NORMAL).
    if (!options_.durable) setup.emplace_back("SET synchronous_commit TO off");
    // Like SQLite's busy_timeout: waiting for another node's locks ends in `unavailable`.
    setup.push_back("SET lock_timeout TO " + std::to_string(options_.busy_timeout.count()));
    setup.push_back("SET idle_in_transaction_session_timeout TO " +
                    std::to_string(options_.idle_transaction_timeout.count()));
    return setup;
}

status pg_store::init() {
    auto c = connection::open(target_.conninfo, session_setup());
    if (!c) return std::unexpected(c.error());
    appender_ = std::move(*c);
    // A schema at the current version is used as it is (see pg_schema.hpp).
    auto version = appender_->exec("SELECT v FROM meta WHERE k = 'schema_version'");
    bool current = version && !version->empty() && version->text(0, 0) == schema_version;
    if (!current && options_.must_exist && (!version || version->empty())) {
        return fail(errc::not_found, "no prom database in schema '" + target_.schema +
                                         "': check --db (nothing was created)");
    }
    if (!current) {
        std::string ddl = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(schema_lock_key) +
                          "); CREATE SCHEMA IF NOT EXISTS " + quote_ident(target_.schema) + "; " +
                          schema_sql + " COMMIT";
        // An existing schema of another version is upgraded, which needs its owner as much as
        // creating it does (found from outside: a read/write user was told "cannot create").
        const bool upgrading = version && !version->empty();
        const std::string context =
            upgrading
                ? "cannot upgrade the prom schema '" + target_.schema + "' from version " +
                      std::string(version->text(0, 0)) + " to " + std::string(schema_version) +
                      " (run prom once as the schema's owner; then read/write is enough)"
                : "cannot create the prom schema '" + target_.schema +
                      "' (needs CREATE once; then read/write is enough)";
        if (auto r = appender_->exec(ddl, context); !r) {
            (void)appender_->exec("ROLLBACK");
            return std::unexpected(r.error());
        }
    }
    listener_ =
        std::make_unique<change_listener>(target_.conninfo, session_setup(), channel_,
                                          [this](const std::vector<std::string>& payloads,
                                                 bool lost) { on_remote_commit(payloads, lost); });
    if (auto ok = listener_->start(); !ok) return ok;
    group_commit_ = std::make_unique<group_commit>(
        [this](std::vector<group_commit::request>& group) { write_group(group); });
    return {};
}

result<pg_store::pooled> pg_store::take_connection() {
    {
        std::unique_lock lock(pool_mu_);
        bool got = pool_cv_.wait_for(lock, options_.busy_timeout, [&] {
            return !idle_.empty() || pool_open_ < max_pool_connections;
        });
        if (!got) {
            return fail(errc::unavailable, "all " + std::to_string(max_pool_connections) +
                                               " PostgreSQL connections stayed busy");
        }
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return pooled(*this, std::move(c), true);
        }
        ++pool_open_;
    }
    auto c = connection::open(target_.conninfo, session_setup());
    if (!c) {
        {
            std::lock_guard lock(pool_mu_);
            --pool_open_;
        }
        pool_cv_.notify_one();
        return std::unexpected(c.error());
    }
    return pooled(*this, std::move(*c), false);
}

void pg_store::drop_idle() {
    std::vector<std::unique_ptr<connection>> stale;
    {
        std::lock_guard lock(pool_mu_);
        stale.swap(idle_);
        pool_open_ -= stale.size();
    }
    pool_cv_.notify_all();
}

status pg_store::with_reader(const std::function<status(connection&)>& read) {
    for (int attempt = 0;; ++attempt) {
        auto c = take_connection();
        if (!c) return std::unexpected(c.error());
        auto st = read(**c);
        if (st || attempt > 0 || !c->reused() || !(*c)->broken()) return st;
        drop_idle();  // the server restarted since this connection was pooled
    }
}

result<std::vector<event>> pg_store::read_events(std::string_view sql, std::vector<param> params,
                                                 std::optional<page_bytes> bound) {
    std::vector<event> out;
    auto st = with_reader([&](connection& c) -> status {
        out.clear();
        auto r = c.query(sql, params);
        if (!r) return std::unexpected(r.error());
        out.reserve(static_cast<std::size_t>(r->size()));
        auto counted = bound;  // afresh for each attempt
        for (int i = 0; i < r->size(); ++i) {
            if (counted) {
                if (auto ok = counted->add(event_row_bytes(r->row(i))); !ok) return ok;
            }
            auto e = decode_event(r->row(i));
            if (!e) return std::unexpected(e.error());
            out.push_back(std::move(*e));
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<bool> pg_store::has_event_id(std::string_view topic, std::string_view id) {
    bool found = false;
    auto st = with_reader([&](connection& c) -> status {
        // Through events_by_id_topic whatever the statistics (pg_schema.hpp, version 7).
        auto r =
            c.query("SELECT 1 FROM events WHERE id = $2 AND topic || '' = $1 LIMIT 1", {topic, id});
        if (!r) return std::unexpected(r.error());
        found = !r->empty();
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return found;
}

result<std::vector<event>> pg_store::scan(const scan_query& q) {
    std::string sql = "SELECT " PROM_EVENT_COLUMNS " FROM events WHERE topic = $1 AND seq >= $2";
    std::vector<param> ps{q.topic, q.from_seq};
    auto add = [&](const char* cond, param p) {
        ps.push_back(std::move(p));
        sql += " AND ";
        sql += cond;
        sql += std::to_string(ps.size());
    };
    if (q.to_seq) add("seq <= $", *q.to_seq);
    if (q.key) add("key = $", *q.key);
    if (q.from_ts) add("ts >= $", *q.from_ts);
    if (q.to_ts) add("ts <= $", *q.to_ts);
    sql += " ORDER BY seq";
    if (q.limit) {
        ps.emplace_back(count_param(*q.limit));
        sql += " LIMIT $" + std::to_string(ps.size());
    }
    ps.emplace_back(count_param(q.max_bytes));
    sql = bounded_page_sql(sql, "octet_length(payload) + octet_length(headers)", "seq", ps.size());
    return read_events(sql, std::move(ps), page_bytes(q.max_bytes, "events of topic", q.topic));
}

result<std::vector<event>> pg_store::scan_key_by_time(const key_time_query& q) {
    std::string sql =
        "SELECT " PROM_EVENT_COLUMNS " FROM events WHERE topic = $1 AND key = $2 AND ts <= $3";
    std::vector<param> ps{q.topic, q.key, q.to_ts};
    if (q.after) {
        ps.emplace_back(q.after->first);
        ps.emplace_back(q.after->second);
        sql += " AND (ts, seq) > ($4, $5)";
    }
    sql += " ORDER BY ts, seq";
    if (q.limit) {
        ps.emplace_back(count_param(*q.limit));
        sql += " LIMIT $" + std::to_string(ps.size());
    }
    ps.emplace_back(count_param(q.max_bytes));
    sql = bounded_page_sql(sql, "octet_length(payload) + octet_length(headers)", "ts, seq",
                           ps.size());
    return read_events(sql, std::move(ps), page_bytes(q.max_bytes, "events of topic", q.topic));
}

result<std::vector<event>> pg_store::latest_per_key(std::string_view topic) {
    return read_events(
        "SELECT e.topic, e.seq, e.id, e.key, e.ts, e.payload, e.headers FROM "
        "latest l JOIN events e ON e.topic = l.topic AND e.seq = l.seq "
        "WHERE l.topic = $1 ORDER BY e.seq",
        {topic});
}

result<std::vector<std::string>> pg_store::topic_keys(std::string_view topic,
                                                      std::string_view after, std::size_t limit) {
    std::vector<std::string> out;
    auto st = with_reader([&](connection& c) -> status {
        // latest_per_key's keys: `latest` in key order, where the key's event is still there.
        auto r = c.query(
            "SELECT l.key FROM latest l JOIN events e ON e.topic = l.topic AND e.seq = l.seq "
            "WHERE l.topic = $1 AND l.key > $2 ORDER BY l.key LIMIT $3",
            {topic, after, count_param(limit)});
        if (!r) return std::unexpected(r.error());
        out.clear();
        for (int i = 0; i < r->size(); ++i) out.emplace_back(r->row(i).text(0));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<topic_info>> pg_store::topics() {
    std::vector<topic_info> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query("SELECT " PROM_TOPIC_COLUMNS " FROM topics ORDER BY name");
        if (!r) return std::unexpected(r.error());
        out.clear();
        for (int i = 0; i < r->size(); ++i) {
            out.push_back(decode_topic(r->row(i)));
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::optional<topic_info>> pg_store::topic(std::string_view name) {
    std::optional<topic_info> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query("SELECT " PROM_TOPIC_COLUMNS " FROM topics WHERE name = $1", {name});
        if (!r) return std::unexpected(r.error());
        if (!r->empty()) {
            out = decode_topic(r->row(0));
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::optional<seq_t>> pg_store::cursor(std::string_view topic, std::string_view group) {
    std::optional<seq_t> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query("SELECT seq FROM cursors WHERE topic = $1 AND grp = $2", {topic, group});
        if (!r) return std::unexpected(r.error());
        if (!r->empty()) out = decode_seq(r->row(0));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

status pg_store::set_cursor(std::string_view topic, std::string_view group, seq_t seq) {
    // One autocommit statement: its own transaction, NOTIFY included.
    for (int attempt = 0;; ++attempt) {
        auto st = with_reader([&](connection& c) -> status {
            auto r = c.query(
                "WITH up AS (INSERT INTO cursors(topic, grp, seq, acked_ms) "
                "VALUES($1, $2, $3, $5) ON CONFLICT (topic, grp) DO UPDATE SET "
                "seq = excluded.seq, acked_ms = excluded.acked_ms RETURNING 1) "
                "SELECT pg_notify($4, '') FROM up",
                {topic, group, seq, channel_, now_ms()});
            if (!r) return std::unexpected(r.error());
            return {};
        });
        if (st) notifier_.bump();
        if (st || st.error().code != errc::conflict || attempt >= max_conflict_retries) return st;
    }
}

result<bool> pg_store::acquire_lease(std::string_view name, std::string_view owner,
                                     std::chrono::milliseconds ttl) {
    bool got = false;
    auto st = with_reader([&](connection& c) -> status {
        auto r =
            c.query("INSERT INTO leases(name, owner, expires_ms) VALUES($1, $2, " PROM_PG_NOW_MS
                    " + $3) "
                    "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, "
                    "expires_ms = excluded.expires_ms "
                    "WHERE leases.owner = excluded.owner OR leases.expires_ms < " PROM_PG_NOW_MS,
                    {name, owner, static_cast<std::int64_t>(ttl.count())});
        if (!r) return std::unexpected(r.error());
        got = r->affected() == 1;
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return got;
}

status pg_store::release_lease(std::string_view name, std::string_view owner) {
    // NOTIFY so that standbys on every node wake and take over at once.
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(
            "WITH gone AS (DELETE FROM leases WHERE name = $1 AND owner = $2 RETURNING 1) "
            "SELECT pg_notify($3, '') FROM gone",
            {name, owner, channel_});
        if (!r) return std::unexpected(r.error());
        return {};
    });
    notifier_.bump();
    return st;
}

}  // namespace prom::storage::postgres
