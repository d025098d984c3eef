// Appends: id dedupe, gapless seq assignment in commit order, and group commit.
//
// Why a locked `topics` row and not a SEQUENCE: a sequence hands out numbers at insert
// time, but transactions commit in any order. If A takes seq 7 and B takes seq 8 and B
// commits first, a reader that sees 8 and moves its cursor past it never sees 7 when A
// commits later: the reader silently skips an event. (A rolled-back A leaves a gap, too.)
// Here a transaction locks the topic's row (SELECT … FOR UPDATE) before it reads last_seq,
// and writes it back before committing; the next appender of that topic blocks on that
// lock until the first commits and then reads the committed value. So seqs of a topic are
// handed out, and become visible, strictly in commit order: whenever seq N is visible,
// every seq below N already is. Rows are locked in name order, so two multi-topic batches
// cannot deadlock on each other.
//
// The steps run server-side in prom_append (pg_schema.hpp), so a whole group costs one
// round trip: create missing topic rows, lock them, then in one statement with a fresh
// snapshot look up the batch's ids (so a duplicate committed by another node just before
// is seen), number the new events, insert them, upsert `latest`, write back the topics
// and NOTIFY. A group written by the store alone is that one statement in autocommit.

#include "core/text.hpp"
#include "storage/key_expectations.hpp"
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

namespace {

constexpr int max_conflict_retries = 5;

}  // namespace

result<std::vector<append_result>> append_in_txn(connection& c,
                                                 const std::vector<const event_input*>& batch,
                                                 const std::string& channel) {
    std::vector<std::string_view> topics, ids, keys;
    std::vector<std::int64_t> ts;
    std::vector<std::string> payload_text(batch.size()), headers_text;
    std::vector<std::string_view> payloads;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto* in = batch[i];
        topics.push_back(in->topic);
        ids.push_back(*in->id);
        keys.push_back(in->key);
        ts.push_back(in->ts->value);
        payloads.push_back(payload_text_of(*in, payload_text[i]));
        headers_text.push_back(encode_headers(in->headers));
    }
    std::vector<std::string_view> headers(headers_text.begin(), headers_text.end());
    auto r = c.query(
        "SELECT r_seq, r_ts, r_dup FROM prom_append($1::text[], $2::text[], $3::text[], "
        "$4::bigint[], $5::text[], $6::text[], $7)",
        {text_array(topics), text_array(ids), text_array(keys), int_array(ts), text_array(payloads),
         text_array(headers), channel});
    if (!r) return std::unexpected(r.error());
    if (static_cast<std::size_t>(r->size()) != batch.size()) {
        return fail(errc::internal, "prom_append answered " + std::to_string(r->size()) +
                                        " rows for " + std::to_string(batch.size()) + " events");
    }
    std::vector<append_result> out;
    out.reserve(batch.size());
    for (int i = 0; i < r->size(); ++i) {
        out.push_back({*batch[static_cast<std::size_t>(i)]->id, seq_t{r->int64(i, 0)},
                       ts_ms{r->int64(i, 1)}, r->text(i, 2) == "t"});
    }
    return out;
}

result<std::vector<append_result>> pg_store::append(std::vector<event_input> batch) {
    return group_commit_->append(std::move(batch));
}

void pg_store::append_async(std::vector<event_input> batch, append_callback done) {
    group_commit_->submit(std::move(batch), std::move(done));
}

void pg_store::write_group(std::vector<group_commit::request>& group) {
    // In queue order: a conditional batch may fail alone (a key moved), so it gets a
    // transaction of its own (pg_conditional_append.cpp) at its place in the queue, and the
    // plain batches between two conditional ones share one statement. Writing every
    // conditional batch first let one pass a plain batch queued ahead of it: an append
    // expecting a key to have no event was taken behind an append of that key.
    appended_topics appended;  // what the append listeners hear once the group is written
    std::vector<group_commit::request*> plain;
    for (auto& r : group) {
        if (!has_expectations(r.batch)) {
            plain.push_back(&r);
            continue;
        }
        write_plain_run(plain, appended);
        plain.clear();
        r.out = write_conditional(r.batch);
        if (!r.out) continue;
        for (std::size_t i = 0; i < r.out->size(); ++i) {
            note_appended(appended.tips, r.batch[i].topic, (*r.out)[i].seq);
        }
    }
    write_plain_run(plain, appended);
    notifier_.notify_commit({}, appended);
}

void pg_store::write_plain_run(const std::vector<group_commit::request*>& plain,
                               appended_topics& appended) {
    if (plain.empty()) return;
    // The requests were validated one by one before queueing; what fails now is the
    // database, which fails them all alike, so they share one statement and transaction.
    std::vector<const event_input*> all;
    for (auto* r : plain) {
        for (auto& in : r->batch) all.push_back(&in);
    }
    auto out = write_plain(all);
    if (!out && out.error().code == errc::gone && plain.size() > 1) {
        // A batch below its topic's horizon failed the group's statement (docs/retention.md):
        // each batch again on its own, so that only the refused ones fail.
        for (auto* r : plain) {
            std::vector<const event_input*> one;
            one.reserve(r->batch.size());
            for (auto& in : r->batch) one.push_back(&in);
            r->out = write_plain(one);
            if (!r->out) continue;
            for (std::size_t i = 0; i < one.size(); ++i) {
                note_appended(appended.tips, one[i]->topic, (*r->out)[i].seq);
            }
        }
        return;
    }
    if (!out) {
        for (auto* r : plain) r->out = std::unexpected(out.error());
        return;
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
        note_appended(appended.tips, all[i]->topic, (*out)[i].seq);
    }
    std::size_t at = 0;
    for (auto* r : plain) {
        auto first = out->begin() + static_cast<std::ptrdiff_t>(at);
        at += r->batch.size();
        r->out = std::vector<append_result>(first, out->begin() + static_cast<std::ptrdiff_t>(at));
    }
}

// The writer's connection, opened again when it broke (the retry loops below).
status pg_store::ensure_appender() {
    if (appender_ && !appender_->broken()) return {};
    auto c = connection::open(target_.conninfo, session_setup());
    if (!c) return std::unexpected(c.error());
    appender_ = std::move(*c);
    return {};
}

result<std::vector<append_result>> pg_store::write_plain(
    const std::vector<const event_input*>& all) {
    result<std::vector<append_result>> out = fail(errc::internal, "not written");
    for (int attempt = 0;; ++attempt) {
        if (auto ok = ensure_appender(); !ok) return std::unexpected(ok.error());
        // One statement, so one round trip and its own transaction: prom_append commits
        // (and NOTIFYs) when it returns.
        out = append_in_txn(*appender_, all, channel_);
        if (out) return out;
        // Deadlocks and lock races: run it again. A connection that broke (perhaps during
        // COMMIT, outcome unknown): once more on a new one; ids make that idempotent.
        bool again = (out.error().code == errc::conflict && attempt < max_conflict_retries) ||
                     (appender_->broken() && attempt == 0);
        if (!again) return out;
    }
}

result<std::vector<append_result>> pg_store::write_conditional(
    const std::vector<event_input>& batch) {
    result<std::vector<append_result>> out = fail(errc::internal, "not written");
    for (int attempt = 0;; ++attempt) {
        if (auto ok = ensure_appender(); !ok) return std::unexpected(ok.error());
        out = conditional_append(*appender_, batch, channel_);
        if (out || out.error().key_seq) return out;  // appended, or refused: the answer
        bool again = (out.error().code == errc::conflict && attempt < max_conflict_retries) ||
                     (appender_->broken() && attempt == 0);
        if (!again) return out;
    }
}

}  // namespace prom::storage::postgres
