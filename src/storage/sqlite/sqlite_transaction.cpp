// A write transaction: holds the store's write connection from begin to commit/rollback.
#include <map>
#include <optional>

#include "docs/update.hpp"
#include "storage/change_log.hpp"
#include "storage/key_expectations.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "storage/working_set.hpp"

namespace prom::storage::sqlite {

namespace {

class sqlite_transaction final : public transaction {
  public:
    sqlite_transaction(sqlite_store& s, std::unique_lock<std::mutex> lock)
        : s_(s), lock_(std::move(lock)) {}

    ~sqlite_transaction() override {
        if (lock_.owns_lock()) (void)s_.writer().exec("ROLLBACK");
    }

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        // The batch's own working set first: a projector batch updates the same documents
        // again and again (a host's stats once per event), and those are not written to
        // the table before commit.
        return docs_.find_one(collection, key, [&] { return find_stored(collection, key); });
    }

    result<std::optional<document>> find_stored(std::string_view collection, std::string_view key) {
        auto st = s_.writer().prepare("SELECT " PROM_DOCUMENT_COLUMNS
                                      " FROM docs WHERE coll = ?1 AND key = ?2");
        if (!st) return std::unexpected(st.error());
        st->bind(1, collection);
        st->bind(2, key);
        int rc = st->step();
        if (rc == SQLITE_ROW) {
            return std::optional<document>{decode_document(*st)};
        }
        if (rc != SQLITE_DONE) return std::unexpected(s_.writer().last_error(rc, "read document"));
        return std::optional<document>{};
    }

    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert) override {
        if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
        return docs_.update_one(collection, key, update, upsert,
                                [&] { return find_stored(collection, key); });
    }

    status update(std::string_view collection, std::string_view key, json::object update,
                  bool upsert) override {
        if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
        return docs_.update(collection, key, std::move(update), upsert,
                            [&] { return find_stored(collection, key); });
    }

    result<bool> delete_one(std::string_view collection, std::string_view key) override {
        if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
        auto cur = find_one(collection, key);
        if (!cur) return std::unexpected(cur.error());
        if (!*cur) return false;
        docs_.put(deleted_document(collection, key));
        return true;
    }

    result<bool> erase_one(std::string_view collection, std::string_view key) override {
        auto gone = delete_one(collection, key);
        if (!gone) return gone;
        auto st = s_.writer().prepare(forget_change_bodies_sql);
        if (!st) return std::unexpected(st.error());
        st->bind(1, collection);
        st->bind(2, key);
        if (int rc = st->step(); rc != SQLITE_DONE) {
            return std::unexpected(s_.writer().last_error(rc, "forget change bodies"));
        }
        return *gone || sqlite3_changes(s_.writer().raw()) > 0;
    }

    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        if (auto ok = prepare_inputs(batch); !ok) return std::unexpected(ok.error());
        result<std::vector<append_result>> out;
        if (!has_expectations(batch)) {
            out = append_in_txn(s_.writer(), batch);
        } else {
            // A refused conditional batch leaves nothing behind; the transaction goes on.
            if (auto ok = s_.writer().run("SAVEPOINT conditional_append"); !ok) {
                return std::unexpected(ok.error());
            }
            out = append_in_txn(s_.writer(), batch);
            if (!out) (void)s_.writer().run("ROLLBACK TO conditional_append");
            (void)s_.writer().run("RELEASE conditional_append");
        }
        if (out) {
            for (std::size_t i = 0; i < out->size(); ++i) {
                note_appended(appended_.tips, batch[i].topic, (*out)[i].seq);
            }
        }
        return out;
    }

    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override {
        auto st = s_.writer().prepare(
            "INSERT INTO cursors(topic, grp, seq, acked_ms) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(topic, grp) DO UPDATE SET seq = excluded.seq, "
            "acked_ms = excluded.acked_ms");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, group);
        st->bind(3, seq);
        st->bind(4, now_ms());
        int rc = st->step();
        if (rc != SQLITE_DONE) return std::unexpected(s_.writer().last_error(rc, "write cursor"));
        return {};
    }

    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        auto st = s_.writer().prepare("SELECT seq FROM cursors WHERE topic = ?1 AND grp = ?2");
        if (!st) return std::unexpected(st.error());
        st->bind(1, topic);
        st->bind(2, group);
        int rc = st->step();
        if (rc == SQLITE_ROW) return std::optional<seq_t>{decode_seq(*st)};
        if (rc != SQLITE_DONE) return std::unexpected(s_.writer().last_error(rc, "read cursor"));
        return std::optional<seq_t>{};
    }

    // ---- retention (sqlite_retention.cpp): straight into the open write transaction
    result<std::size_t> delete_events(std::string_view topic,
                                      const std::vector<seq_t>& seqs) override {
        return delete_events_in_txn(s_.writer(), topic, seqs);
    }
    status put_key_horizon(std::string_view topic, const key_horizon& h) override {
        return put_key_horizon_in_txn(s_.writer(), topic, h);
    }
    result<std::size_t> erase_key(std::string_view topic, std::string_view key) override {
        return erase_key_in_txn(s_.writer(), topic, key);
    }
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override {
        return put_snapshots_in_txn(s_.writer(), topic, key, reducer, known_seq, snaps);
    }

    status commit() override {
        if (auto ok = write_documents(); !ok) {
            (void)s_.writer().exec("ROLLBACK");
            lock_.unlock();
            return ok;
        }
        // From before the documents are visible until the listeners dropped their cached
        // copies (storage/common.hpp, commit_ticket).
        std::optional<change_notifier::commit_ticket> ticket;
        if (!docs_.documents().empty()) ticket.emplace(s_.notifier());
        if (auto ok = s_.writer().run("COMMIT"); !ok) {
            (void)s_.writer().exec("ROLLBACK");
            lock_.unlock();
            return ok;
        }
        lock_.unlock();
        auto& changed = docs_.documents();
        std::vector<document> docs;
        docs.reserve(changed.size());
        for (auto& [k, d] : changed) docs.push_back(std::move(d));
        s_.notifier().notify_commit(docs, appended_);
        return {};
    }

  private:
    // The documents the transaction changed, one upsert (or delete) each with one prepared
    // statement, and their change log (storage/change_log.hpp).
    status write_documents() {
        auto written = docs_.write_each([this](const document& d) -> status {
            if (d.deleted) {
                auto del = s_.writer().prepare("DELETE FROM docs WHERE coll = ?1 AND key = ?2");
                if (!del) return std::unexpected(del.error());
                del->bind(1, d.collection);
                del->bind(2, d.key);
                if (int rc = del->step(); rc != SQLITE_DONE) {
                    return std::unexpected(s_.writer().last_error(rc, "delete document"));
                }
                return {};
            }
            auto st = s_.writer().prepare(
                "INSERT INTO docs(coll, key, ts, body, etag) VALUES(?1, ?2, ?3, ?4, ?5) "
                "ON CONFLICT(coll, key) DO UPDATE SET ts = excluded.ts, body = excluded.body, "
                "etag = excluded.etag");
            if (!st) return std::unexpected(st.error());
            // Bound without copies: the documents outlive `st`, which resets each call.
            st->bind_static(1, d.collection);
            st->bind_static(2, d.key);
            st->bind(3, d.ts);
            st->bind_static(4, d.body);
            st->bind_static(5, d.etag);
            if (int rc = st->step(); rc != SQLITE_DONE) {
                return std::unexpected(s_.writer().last_error(rc, "write document"));
            }
            return {};
        });
        if (!written) return written;
        return write_change_log();
    }

    status write_change_log() {
        for (const auto& group : changes_to_log(docs_.documents())) {
            auto head = s_.writer().prepare(reserve_change_seqs_sql);
            if (!head) return std::unexpected(head.error());
            head->bind(1, group.collection);
            head->bind(2, static_cast<std::int64_t>(group.docs.size()));
            if (int rc = head->step(); rc != SQLITE_ROW) {
                return std::unexpected(s_.writer().last_error(rc, "reserve change seqs"));
            }
            std::int64_t seq = head->int64(0) - static_cast<std::int64_t>(group.docs.size());
            for (const document* d : group.docs) {
                auto st = s_.writer().prepare(insert_change_sql);
                if (!st) return std::unexpected(st.error());
                st->bind_static(1, d->collection);
                st->bind(2, ++seq);
                st->bind_static(3, d->key);
                st->bind(4, d->ts);
                if (d->deleted) {
                    st->bind_null(5);
                    st->bind_null(6);
                } else {
                    st->bind_static(5, d->body);
                    st->bind_static(6, d->etag);
                }
                if (int rc = st->step(); rc != SQLITE_DONE) {
                    return std::unexpected(s_.writer().last_error(rc, "log change"));
                }
            }
        }
        return {};
    }

    sqlite_store& s_;
    std::unique_lock<std::mutex> lock_;
    working_set docs_;          // the transaction's documents (storage/working_set.hpp)
    appended_topics appended_;  // reported to the append listeners after the commit
};

}  // namespace

result<std::unique_ptr<transaction>> sqlite_store::begin() {
    auto lock = lock_writer();
    if (auto ok = writer().begin_main_write(); !ok) return std::unexpected(ok.error());
    return std::unique_ptr<transaction>(new sqlite_transaction(*this, std::move(lock)));
}

}  // namespace prom::storage::sqlite
