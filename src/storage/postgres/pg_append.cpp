// Appends: id dedupe, gapless seq assignment in commit order, and group commit.
//
// Why a locked `topics` row and not a SEQUENCE: a sequence hands out numbers at insert
// time, but transactions commit in any order. If A takes seq 7 and B takes seq 8 and B
// commits first, a reader that sees 8 and moves its cursor past it never sees 7 when A
// commits later: the reader silently skips an event. (A rolled-back A leaves a gap, too.)
// Here a transaction reads last_seq with SELECT … FOR UPDATE on the topic's row and
// writes it back before committing; the next appender of that topic blocks on that lock
// until the first commits and then reads the committed value. So seqs of a topic are
// handed out, and become visible, strictly in commit order: whenever seq N is visible,
// every seq below N already is. Rows are locked in name order, so two multi-topic batches
// cannot deadlock on each other.
#include <algorithm>
#include <map>

#include "storage/postgres/pg_store.hpp"
#include "storage/postgres/pg_text.hpp"

namespace prom::storage::postgres {

namespace {

constexpr std::size_t max_group_requests = 512;
constexpr int max_conflict_retries = 5;

std::string headers_json(const headers_map& h) {
    json::object o;
    for (const auto& [k, v] : h) o[k] = v;
    return canonical_json(o);
}

struct topic_state {
    seq_t last_seq = 0;
    std::int64_t count = 0;
    bool changed = false;
};

using topic_map = std::map<std::string, topic_state, std::less<>>;

// Locks the rows of `names` (sorted, unique), creating missing ones, and reads them.
result<topic_map> lock_topics(connection& c, const std::vector<std::string_view>& names) {
    const std::string arr = text_array(names);
    constexpr const char* select_sql =
        "SELECT name, last_seq, count FROM topics WHERE name = ANY($1::text[]) "
        "ORDER BY name FOR UPDATE";
    auto r = c.query(select_sql, {arr});
    if (!r) return std::unexpected(r.error());
    if (static_cast<std::size_t>(r->size()) < names.size()) {
        auto ins = c.query(
            "INSERT INTO topics(name, last_seq, count) SELECT n, 0, 0 "
            "FROM unnest($1::text[]) AS n ORDER BY n ON CONFLICT (name) DO NOTHING",
            {arr});
        if (!ins) return std::unexpected(ins.error());
        r = c.query(select_sql, {arr});
        if (!r) return std::unexpected(r.error());
    }
    topic_map out;
    for (int i = 0; i < r->size(); ++i) {
        out.emplace(std::string(r->text(i, 0)), topic_state{r->int64(i, 1), r->int64(i, 2)});
    }
    return out;
}

// (topic, id) -> (seq, ts) of the batch's ids that are already stored.
using id_key = std::pair<std::string, std::string>;
result<std::map<id_key, std::pair<seq_t, ts_ms>, std::less<>>> stored_ids(
    connection& c, const std::vector<const event_input*>& batch) {
    std::vector<std::string_view> topics, ids;
    for (auto* in : batch) {
        topics.push_back(in->topic);
        ids.push_back(*in->id);
    }
    auto r = c.query(
        "SELECT e.topic, e.id, e.seq, e.ts FROM unnest($1::text[], $2::text[]) AS x(topic, id) "
        "JOIN events e ON e.topic = x.topic AND e.id = x.id",
        {text_array(topics), text_array(ids)});
    if (!r) return std::unexpected(r.error());
    std::map<id_key, std::pair<seq_t, ts_ms>, std::less<>> out;
    for (int i = 0; i < r->size(); ++i) {
        out[{std::string(r->text(i, 0)), std::string(r->text(i, 1))}] = {r->int64(i, 2),
                                                                          r->int64(i, 3)};
    }
    return out;
}

}  // namespace

result<std::vector<append_result>> append_in_txn(connection& c,
                                                 const std::vector<const event_input*>& batch) {
    std::vector<std::string_view> names;
    for (auto* in : batch) names.push_back(in->topic);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    auto topics = lock_topics(c, names);
    if (!topics) return std::unexpected(topics.error());
    // After the lock: any other appender of these topics has committed, so its ids show.
    auto known = stored_ids(c, batch);
    if (!known) return std::unexpected(known.error());

    std::vector<append_result> out;
    out.reserve(batch.size());
    std::vector<std::string_view> e_topic, e_id, e_key;
    std::vector<std::string> e_payload, e_headers;
    std::vector<std::int64_t> e_seq, e_ts;
    std::map<std::pair<std::string_view, std::string_view>, seq_t> latest;
    for (auto* in : batch) {
        auto k = std::make_pair(in->topic, *in->id);
        if (auto d = known->find(k); d != known->end()) {
            out.push_back({*in->id, d->second.first, d->second.second, true});
            continue;
        }
        auto& t = topics->at(in->topic);
        seq_t seq = ++t.last_seq;
        ++t.count;
        t.changed = true;
        (*known)[k] = {seq, *in->ts};  // a later copy in this batch is a duplicate
        e_topic.push_back(in->topic);
        e_seq.push_back(seq);
        e_id.push_back(*in->id);
        e_key.push_back(in->key);
        e_ts.push_back(*in->ts);
        e_payload.push_back(canonical_json(in->payload));
        e_headers.push_back(headers_json(in->headers));
        latest[{in->topic, in->key}] = seq;
        out.push_back({*in->id, seq, *in->ts, false});
    }
    if (e_seq.empty()) return out;

    std::vector<std::string_view> l_topic, l_key, t_name;
    std::vector<std::int64_t> l_seq, t_last, t_count;
    for (auto& [k, seq] : latest) {
        l_topic.push_back(k.first);
        l_key.push_back(k.second);
        l_seq.push_back(seq);
    }
    for (auto& [name, t] : *topics) {
        if (!t.changed) continue;
        t_name.push_back(name);
        t_last.push_back(t.last_seq);
        t_count.push_back(t.count);
    }
    std::vector<std::string_view> payloads(e_payload.begin(), e_payload.end());
    std::vector<std::string_view> headers(e_headers.begin(), e_headers.end());
    // One round trip for the whole batch: data-modifying CTEs all run.
    auto w = c.query(
        "WITH ins AS (INSERT INTO events(topic, seq, id, key, ts, payload, headers) "
        "  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], "
        "                       $6::text[], $7::text[])), "
        "lat AS (INSERT INTO latest(topic, key, seq) "
        "  SELECT * FROM unnest($8::text[], $9::text[], $10::bigint[]) "
        "  ON CONFLICT (topic, key) DO UPDATE SET seq = excluded.seq) "
        "UPDATE topics t SET last_seq = u.last_seq, count = u.count "
        "FROM unnest($11::text[], $12::bigint[], $13::bigint[]) AS u(name, last_seq, count) "
        "WHERE t.name = u.name",
        {text_array(e_topic), int_array(e_seq), text_array(e_id), text_array(e_key),
         int_array(e_ts), text_array(payloads), text_array(headers), text_array(l_topic),
         text_array(l_key), int_array(l_seq), text_array(t_name), int_array(t_last),
         int_array(t_count)});
    if (!w) return std::unexpected(w.error());
    return out;
}

result<std::vector<append_result>> pg_store::append(std::vector<event_input> batch) {
    if (auto ok = prepare_inputs(batch); !ok) return std::unexpected(ok.error());
    if (auto ok = check_storable(batch); !ok) return std::unexpected(ok.error());
    // Group commit, leader/follower: the first waiter in the queue writes every queued batch
    // in one transaction (one WAL flush); the others sleep until it marks them done.
    append_request req{&batch, fail(errc::internal, "not written")};
    std::unique_lock lock(gc_mu_);
    gc_queue_.push_back(&req);
    gc_cv_.wait(lock, [&] { return req.done || gc_queue_.front() == &req; });
    if (req.done) return std::move(req.out);

    std::vector<append_request*> group(
        gc_queue_.begin(),
        gc_queue_.begin() +
            static_cast<std::ptrdiff_t>(std::min(gc_queue_.size(), max_group_requests)));
    lock.unlock();
    run_group(group);
    lock.lock();
    for (auto* r : group) {
        r->done = true;
        gc_queue_.pop_front();
    }
    lock.unlock();
    gc_cv_.notify_all();
    return std::move(req.out);
}

namespace {
result<std::vector<append_result>> write_group(connection& c, const std::string& commit_sql,
                                               const std::vector<const event_input*>& all) {
    if (auto r = c.exec("BEGIN"); !r) return std::unexpected(r.error());
    auto out = append_in_txn(c, all);
    if (out) {
        if (auto r = c.exec(commit_sql); !r) out = std::unexpected(r.error());
    }
    if (!out && !c.broken() && c.in_transaction()) (void)c.exec("ROLLBACK");
    return out;
}
}  // namespace

void pg_store::run_group(const std::vector<append_request*>& group) {
    // The requests were validated one by one before queueing; what fails now is the
    // database, which fails them all alike, so they share one transaction.
    std::vector<const event_input*> all;
    for (auto* r : group) {
        for (auto& in : *r->batch) all.push_back(&in);
    }
    result<std::vector<append_result>> out = fail(errc::internal, "not written");
    for (int attempt = 0;; ++attempt) {
        if (!appender_ || appender_->broken()) {
            auto c = connection::open(target_.conninfo, session_setup());
            if (!c) {
                out = std::unexpected(c.error());
                break;
            }
            appender_ = std::move(*c);
        }
        out = write_group(*appender_, notify_and_commit(), all);
        if (out) break;
        // Deadlocks and lock races: run it again. A connection that broke (perhaps during
        // COMMIT, outcome unknown): once more on a new one; ids make that idempotent.
        bool again = (out.error().code == errc::conflict && attempt < max_conflict_retries) ||
                     (appender_->broken() && attempt == 0);
        if (!again) break;
    }
    if (!out) {
        for (auto* r : group) r->out = std::unexpected(out.error());
        return;
    }
    std::size_t at = 0;
    for (auto* r : group) {
        std::vector<append_result> mine(out->begin() + static_cast<std::ptrdiff_t>(at),
                                        out->begin() + static_cast<std::ptrdiff_t>(at + r->batch->size()));
        at += r->batch->size();
        r->out = std::move(mine);
    }
    notifier_.bump();
}

}  // namespace prom::storage::postgres
