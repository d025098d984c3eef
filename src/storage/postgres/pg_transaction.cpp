// A transaction on a pooled connection, from BEGIN to COMMIT (or ROLLBACK on destruction).
//
// PostgreSQL runs transactions concurrently (READ COMMITTED), where SQLite runs one at a
// time. To keep SQLite's read-modify-write semantics, documents are read FOR UPDATE inside
// a transaction: a concurrent update of the same document waits for this one to commit and
// then sees its result, so no $inc is lost. Appends lock the topic row (pg_append.cpp).
#include <map>
#include <optional>

#include "core/text.hpp"
#include "docs/update.hpp"
#include "storage/change_log.hpp"
#include "storage/key_expectations.hpp"
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

namespace {

constexpr const char* select_for_update =
    "SELECT " PROM_DOCUMENT_COLUMNS " FROM docs WHERE coll = $1 AND key = $2 FOR UPDATE";

class pg_transaction final : public transaction {
  public:
    pg_transaction(pg_store& s, pg_store::pooled c) : s_(s), c_(std::move(c)) {}

    ~pg_transaction() override {
        if (!done_ && !c_->broken()) (void)c_->exec("ROLLBACK");
    }

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        // The transaction's own working set first: a document it wrote is locked by it and
        // holds what it wrote, so a batch that updates one document again and again (a
        // host's stats once per event) reads it once, not once per event.
        if (auto it = changed_.find(std::pair(collection, key)); it != changed_.end()) {
            if (it->second.deleted) return std::optional<document>{};
            return std::optional<document>{it->second};
        }
        auto r = c_->query(select_for_update, {collection, key});
        if (!r) return std::unexpected(r.error());
        if (r->empty()) return std::optional<document>{};
        return std::optional<document>{decode_document(r->row(0))};
    }

    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert) override {
        if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
        // Two rounds at most: if another transaction inserts the document between our read
        // and our insert, the insert does nothing and the second round updates its version.
        for (int round = 0; round < 2; ++round) {
            auto cur = find_one(collection, key);
            if (!cur) return std::unexpected(cur.error());
            auto obj = docs::update_stored(*cur, update, key, upsert);
            if (!obj) return std::unexpected(obj.error());
            document d = docs::make_document(collection, key, *obj);
            if (!is_clean_text(d.body)) {  // strings built in C++ may hold any bytes
                return fail(errc::invalid_argument, "a document must be valid UTF-8");
            }
            std::string match = match_json(*obj);
            auto w = *cur ? c_->query(
                                "UPDATE docs SET ts = $3, body = $4, etag = $5, match = $6 "
                                "WHERE coll = $1 AND key = $2",
                                {d.collection, d.key, d.ts, d.body, d.etag, match})
                          : c_->query(
                                "INSERT INTO docs(coll, key, ts, body, etag, match) "
                                "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (coll, key) DO NOTHING",
                                {d.collection, d.key, d.ts, d.body, d.etag, match});
            if (!w) return std::unexpected(w.error());
            if (w->affected() == 1) {
                wrote_ = true;
                if (auto it = changed_.find(std::pair(collection, key)); it != changed_.end()) {
                    it->second = d;
                } else {
                    changed_.emplace(std::pair(d.collection, d.key), d);
                }
                return d;
            }
        }
        return fail(errc::conflict, "document '" + std::string(key) + "' changed concurrently");
    }

    // An insert that does nothing when the row exists, committed or not: a concurrent
    // transaction's insert of the same key makes this one wait for it, and a conflict once
    // it commits (the default's read would find no row to lock, and its upsert would then
    // overwrite that document).
    status create_one(std::string_view collection, std::string_view key,
                      json::object body) override {
        if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
        if (auto it = changed_.find(std::pair(collection, key));
            it != changed_.end() && !it->second.deleted) {
            return fail(errc::conflict, "document '" + std::string(key) + "' exists");
        }
        auto obj = docs::update_stored(std::nullopt, body, key, true);
        if (!obj) return std::unexpected(obj.error());
        document d = docs::make_document(collection, key, *obj);
        if (!is_clean_text(d.body))
            return fail(errc::invalid_argument, "a document must be valid UTF-8");
        // (A document this transaction deleted has no row: the insert takes its place.)
        auto w = c_->query(
            "INSERT INTO docs(coll, key, ts, body, etag, match) "
            "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (coll, key) DO NOTHING",
            {d.collection, d.key, d.ts, d.body, d.etag, match_json(*obj)});
        if (!w) return std::unexpected(w.error());
        if (w->affected() != 1) {
            return fail(errc::conflict, "document '" + std::string(key) + "' of '" +
                                            std::string(collection) + "' was created concurrently");
        }
        wrote_ = true;
        changed_.insert_or_assign(std::pair(d.collection, d.key), d);
        return {};
    }

    result<bool> delete_one(std::string_view collection, std::string_view key) override {
        if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
        auto cur = find_one(collection, key);  // locks the row
        if (!cur) return std::unexpected(cur.error());
        if (!*cur) return false;
        auto r = c_->query("DELETE FROM docs WHERE coll = $1 AND key = $2", {collection, key});
        if (!r) return std::unexpected(r.error());
        wrote_ = true;
        changed_.insert_or_assign(std::pair(std::string(collection), std::string(key)),
                                  deleted_document(collection, key));
        return true;
    }

    result<bool> erase_one(std::string_view collection, std::string_view key) override {
        auto gone = delete_one(collection, key);
        if (!gone) return gone;
        auto r =
            c_->query(std::string(forget_change_bodies_sql) + " RETURNING seq", {collection, key});
        if (!r) return std::unexpected(r.error());
        if (r->size() > 0) wrote_ = true;
        return *gone || r->size() > 0;
    }

    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        if (auto ok = prepare_inputs(batch); !ok) return std::unexpected(ok.error());
        if (has_expectations(batch)) {
            // A refused conditional batch leaves nothing behind; the transaction goes on.
            if (auto sp = c_->exec("SAVEPOINT conditional_append"); !sp) {
                return std::unexpected(sp.error());
            }
            auto r = conditional_append_in_txn(*c_, batch, s_.channel());
            if (!r && !c_->broken()) {
                (void)c_->exec("ROLLBACK TO SAVEPOINT conditional_append");
                c_->forget_failures();
            }
            (void)c_->exec("RELEASE SAVEPOINT conditional_append");
            if (r) wrote_ = true;
            return r;
        }
        std::vector<const event_input*> all;
        all.reserve(batch.size());
        for (auto& in : batch) all.push_back(&in);
        auto r = append_in_txn(*c_, all, s_.channel());
        if (r) {
            wrote_ = true;
            for (std::size_t i = 0; i < r->size(); ++i) {
                note_appended(appended_.tips, batch[i].topic, (*r)[i].seq);
            }
        }
        return r;
    }

    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override {
        auto r = c_->query(
            "INSERT INTO cursors(topic, grp, seq, acked_ms) VALUES($1, $2, $3, $4) "
            "ON CONFLICT (topic, grp) DO UPDATE SET seq = excluded.seq, "
            "acked_ms = excluded.acked_ms",
            {topic, group, seq, now_ms()});
        if (!r) return std::unexpected(r.error());
        wrote_ = true;
        return {};
    }

    // A locking read: the projector checks the cursor inside its transaction to detect a
    // lease race, which only works if a second transaction reading the cursor waits for the
    // first to commit and then sees its value (SQLite gets this by running one at a time).
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        auto r = c_->query("SELECT seq FROM cursors WHERE topic = $1 AND grp = $2 FOR UPDATE",
                           {topic, group});
        if (!r) return std::unexpected(r.error());
        if (r->empty()) {
            // No row to lock yet: an advisory lock on the cursor's name stands in for it,
            // then a fresh statement (a fresh snapshot) looks again.
            auto l = c_->query(
                "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2 || chr(31) || $3))",
                {s_.schema(), topic, group});
            if (!l) return std::unexpected(l.error());
            r = c_->query("SELECT seq FROM cursors WHERE topic = $1 AND grp = $2 FOR UPDATE",
                          {topic, group});
            if (!r) return std::unexpected(r.error());
        }
        if (r->empty()) return std::optional<seq_t>{};
        return std::optional<seq_t>{decode_seq(r->row(0))};
    }

    // ---- retention (pg_retention.cpp)
    result<std::size_t> delete_events(std::string_view topic,
                                      const std::vector<seq_t>& seqs) override {
        wrote_ = true;
        return delete_events_in_txn(*c_, topic, seqs);
    }
    status put_key_horizon(std::string_view topic, const key_horizon& h) override {
        wrote_ = true;
        return put_key_horizon_in_txn(*c_, topic, h);
    }
    result<std::size_t> erase_key(std::string_view topic, std::string_view key) override {
        wrote_ = true;
        return erase_key_in_txn(*c_, topic, key);
    }
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override {
        wrote_ = true;
        return put_snapshots_in_txn(*c_, topic, key, reducer, known_seq, snaps);
    }

    status commit() override {
        if (done_) return fail(errc::internal, "transaction already finished");
        done_ = true;
        // PostgreSQL aborts the whole transaction when one statement fails (SQLite only
        // that statement), and COMMIT then quietly rolls back. Never report that as done.
        if (c_->transaction_failed()) {
            auto why = c_->first_failure().value_or(error{errc::internal, "a statement failed"});
            (void)c_->exec("ROLLBACK");
            return fail(why.code,
                        "the transaction was rolled back after a failed statement: " + why.message);
        }
        if (auto ok = write_change_log(); !ok) {
            if (!c_->broken() && c_->in_transaction()) (void)c_->exec("ROLLBACK");
            return ok;
        }
        std::vector<document> docs;
        docs.reserve(changed_.size());
        for (auto& [k, d] : changed_) docs.push_back(std::move(d));
        // NOTIFY is delivered only if the commit succeeds, to every listening node; the
        // payloads name the documents, so other nodes' caches drop them.
        for (const auto& payload : s_.document_notifications(docs)) {
            if (auto n = c_->query("SELECT pg_notify($1, $2)", {s_.channel(), payload}); !n) {
                if (!c_->broken() && c_->in_transaction()) (void)c_->exec("ROLLBACK");
                return std::unexpected(n.error());
            }
        }
        // From before the documents are visible until the listeners dropped their cached
        // copies (storage/common.hpp, commit_ticket).
        std::optional<change_notifier::commit_ticket> ticket;
        if (!docs.empty()) ticket.emplace(s_.notifier());
        auto r = c_->exec(wrote_ ? s_.notify_and_commit() : std::string("COMMIT"));
        if (!r) {
            if (!c_->broken() && c_->in_transaction()) (void)c_->exec("ROLLBACK");
            return std::unexpected(r.error());
        }
        if (r->command() != "COMMIT") {
            return fail(errc::conflict, "COMMIT answered " + std::string(r->command()));
        }
        s_.notifier().notify_commit(docs, appended_);
        return {};
    }

  private:
    // The change log (storage/change_log.hpp), last before COMMIT: the head rows it locks
    // are held only for the commit itself.
    status write_change_log() {
        for (const auto& group : changes_to_log(changed_)) {
            const auto n = static_cast<std::int64_t>(group.docs.size());
            auto head = c_->query(reserve_change_seqs_sql, {group.collection, n});
            if (!head) return std::unexpected(head.error());
            if (head->empty()) return fail(errc::internal, "the change head was not returned");
            std::int64_t seq = decode_seq(head->row(0)).value - n;
            for (const document* d : group.docs) {
                ++seq;
                auto r = d->deleted
                             ? c_->query(insert_change_sql, {d->collection, seq, d->key, d->ts,
                                                             std::nullopt, std::nullopt})
                             : c_->query(insert_change_sql,
                                         {d->collection, seq, d->key, d->ts, d->body, d->etag});
                if (!r) return std::unexpected(r.error());
            }
            wrote_ = true;
        }
        return {};
    }

    pg_store& s_;
    pg_store::pooled c_;
    bool done_ = false;
    bool wrote_ = false;
    changed_documents changed_;  // the transaction's working set (storage/common.hpp)
    appended_topics appended_;   // reported to the append listeners after the commit
};

}  // namespace

result<std::unique_ptr<transaction>> pg_store::begin() {
    for (int attempt = 0;; ++attempt) {
        auto c = take_connection();
        if (!c) return std::unexpected(c.error());
        auto r = (*c)->exec("BEGIN");
        if (r) {
            (*c)->forget_failures();
            return std::unique_ptr<transaction>(new pg_transaction(*this, std::move(*c)));
        }
        if (attempt > 0 || !c->reused() || !(*c)->broken()) return std::unexpected(r.error());
        drop_idle();  // the server restarted since this connection was pooled
    }
}

}  // namespace prom::storage::postgres
