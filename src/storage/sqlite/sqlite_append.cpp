// Appends: id dedupe, gapless seq assignment and group commit.
#include <map>

#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

namespace {

std::string headers_json(const headers_map& h) {
    json::object o;
    for (const auto& [k, v] : h) o[k] = v;
    return canonical_json(o);
}

constexpr std::size_t max_group_requests = 512;

}  // namespace

result<std::vector<append_result>> append_in_txn(connection& c, std::vector<event_input>& batch) {
    // seq comes from the topics row read inside this write transaction, so it is gapless
    // and strictly increasing across threads, processes and crashes.
    std::map<std::string, std::pair<seq_t, std::int64_t>, std::less<>> topics;
    auto topic_state = [&](const std::string& name) -> result<std::pair<seq_t, std::int64_t>*> {
        if (auto it = topics.find(name); it != topics.end()) return &it->second;
        auto st = c.prepare("SELECT last_seq, count FROM topics WHERE name = ?1");
        if (!st) return std::unexpected(st.error());
        st->bind(1, name);
        std::pair<seq_t, std::int64_t> v{0, 0};
        int rc = st->step();
        if (rc == SQLITE_ROW) {
            v = {st->int64(0), st->int64(1)};
        } else if (rc != SQLITE_DONE) {
            return std::unexpected(c.last_error(rc, "read topic"));
        }
        return &topics.emplace(name, v).first->second;
    };

    std::vector<append_result> out;
    out.reserve(batch.size());
    for (auto& in : batch) {
        auto t = topic_state(in.topic);
        if (!t) return std::unexpected(t.error());
        seq_t seq = (*t)->first + 1;
        {
            // The unique (topic, id) index does the dedupe: an ignored insert is a duplicate.
            auto ins = c.prepare(
                "INSERT OR IGNORE INTO events(topic, seq, id, key, ts, payload, headers) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
            if (!ins) return std::unexpected(ins.error());
            ins->bind(1, in.topic);
            ins->bind(2, seq);
            ins->bind(3, *in.id);
            ins->bind(4, in.key);
            ins->bind(5, *in.ts);
            ins->bind(6, canonical_json(in.payload));
            ins->bind(7, headers_json(in.headers));
            int rc = ins->step();
            if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "insert event"));
        }
        if (sqlite3_changes(c.raw()) == 0) {
            auto dup = c.prepare("SELECT seq, ts FROM events WHERE topic = ?1 AND id = ?2");
            if (!dup) return std::unexpected(dup.error());
            dup->bind(1, in.topic);
            dup->bind(2, *in.id);
            if (dup->step() != SQLITE_ROW) {
                return fail(errc::internal, "an ignored insert has no original event");
            }
            out.push_back({*in.id, dup->int64(0), dup->int64(1), true});
            continue;
        }
        (*t)->first = seq;
        ++(*t)->second;
        {
            auto lat = c.prepare(
                "INSERT INTO latest(topic, key, seq) VALUES(?1, ?2, ?3) "
                "ON CONFLICT(topic, key) DO UPDATE SET seq = excluded.seq");
            if (!lat) return std::unexpected(lat.error());
            lat->bind(1, in.topic);
            lat->bind(2, in.key);
            lat->bind(3, seq);
            int rc = lat->step();
            if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "update latest"));
        }
        // The snapshot append rule (store.hpp): a late event invalidates later snapshots.
        if (auto ok = drop_snapshots_in_txn(c, in.topic, in.key, *in.ts); !ok) {
            return std::unexpected(ok.error());
        }
        out.push_back({*in.id, seq, *in.ts, false});
    }
    for (auto& [name, v] : topics) {
        auto up = c.prepare(
            "INSERT INTO topics(name, last_seq, count) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(name) DO UPDATE SET last_seq = excluded.last_seq, count = excluded.count");
        if (!up) return std::unexpected(up.error());
        up->bind(1, name);
        up->bind(2, v.first);
        up->bind(3, v.second);
        int rc = up->step();
        if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "update topic"));
    }
    return out;
}

result<std::vector<append_result>> sqlite_store::append(std::vector<event_input> batch) {
    if (auto ok = prepare_inputs(batch); !ok) return std::unexpected(ok.error());
    // Group commit, leader/follower: the first waiter in the queue writes every queued batch
    // in one transaction (one fsync); the others sleep until it marks them done.
    append_request req{&batch, fail(errc::internal, "not written")};
    std::unique_lock lock(gc_mu_);
    gc_queue_.push_back(&req);
    req.cv.wait(lock, [&] { return req.done || gc_queue_.front() == &req; });
    if (req.done) return std::move(req.out);

    std::vector<append_request*> group(
        gc_queue_.begin(),
        gc_queue_.begin() + static_cast<std::ptrdiff_t>(std::min(gc_queue_.size(), max_group_requests)));
    lock.unlock();
    run_group(group);
    lock.lock();
    for (auto* r : group) {
        gc_queue_.pop_front();
        r->done = true;
        if (r != &req) r->cv.notify_one();
    }
    if (!gc_queue_.empty()) gc_queue_.front()->cv.notify_one();  // the next leader
    return std::move(req.out);
}

void sqlite_store::run_group(const std::vector<append_request*>& group) {
    auto fail_all = [&](const error& e) {
        for (auto* r : group) r->out = std::unexpected(e);
    };
    auto wlock = lock_writer();
    if (auto ok = writer_->run("BEGIN IMMEDIATE"); !ok) return fail_all(ok.error());
    const bool alone = group.size() == 1;
    for (auto* r : group) {
        // A savepoint per request: one caller's failure does not fail the others.
        if (!alone) {
            if (auto ok = writer_->run("SAVEPOINT req"); !ok) {
                (void)writer_->run("ROLLBACK");
                return fail_all(ok.error());
            }
        }
        r->out = append_in_txn(*writer_, *r->batch);
        if (!alone) {
            if (!r->out) (void)writer_->run("ROLLBACK TO req");
            (void)writer_->run("RELEASE req");
        } else if (!r->out) {
            (void)writer_->run("ROLLBACK");
            return;
        }
    }
    if (auto ok = writer_->run("COMMIT"); !ok) {
        (void)writer_->run("ROLLBACK");
        return fail_all(ok.error());
    }
    wlock.unlock();
    notifier_.bump();
}

}  // namespace prom::storage::sqlite
