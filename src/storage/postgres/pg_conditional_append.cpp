// Conditional append (storage/key_expectations.hpp) on PostgreSQL: lock the batch's topic
// rows first, the same rows, in the same (name) order, that prom_append locks, so that no
// other appender on any node can append to those topics until this transaction ends; then
// read the expected keys' latest seqs, append with prom_append in the same transaction, and
// check. Kept apart from pg_append.cpp, which only gains the branch that calls it: the
// unconditional path stays one statement per group.
#include "storage/key_expectations.hpp"
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

result<std::vector<append_result>> conditional_append_in_txn(connection& c,
                                                             const std::vector<event_input>& batch,
                                                             const std::string& channel) {
    std::vector<std::string_view> topics;
    topics.reserve(batch.size());
    for (const auto& in : batch) topics.push_back(in.topic);
    const std::string topic_list = text_array(topics);
    if (auto r = c.query("INSERT INTO topics(name, last_seq, count) "
                         "SELECT DISTINCT n, 0, 0 FROM unnest($1::text[]) AS n ORDER BY 1 "
                         "ON CONFLICT ON CONSTRAINT topics_pkey DO NOTHING",
                         {topic_list});
        !r) {
        return std::unexpected(r.error());
    }
    if (auto r = c.query("SELECT 1 FROM topics WHERE name = ANY($1::text[]) ORDER BY name "
                         "FOR UPDATE",
                         {topic_list});
        !r) {
        return std::unexpected(r.error());
    }
    // A fresh snapshot after the lock (READ COMMITTED): every append committed before ours
    // is seen.
    auto keys = expected_keys(batch);
    std::vector<std::string_view> key_topics, key_names;
    for (const auto& [t, k] : keys) {
        key_topics.push_back(t);
        key_names.push_back(k);
    }
    // A key whose every event retention dropped is at its base seq (key_horizons): the
    // greater of the two, in one round trip (greatest() skips a NULL).
    auto r = c.query(
        "SELECT k.topic, k.key, greatest(l.seq, h.base_seq) "
        "FROM unnest($1::text[], $2::text[]) AS k(topic, key) "
        "LEFT JOIN latest l ON l.topic = k.topic AND l.key = k.key "
        "LEFT JOIN key_horizons h ON h.topic = k.topic AND h.key = k.key "
        "WHERE l.seq IS NOT NULL OR h.base_seq IS NOT NULL",
        {text_array(key_topics), text_array(key_names)});
    if (!r) return std::unexpected(r.error());
    key_seqs before;
    for (int i = 0; i < r->size(); ++i) {
        before.emplace(std::pair(std::string(r->text(i, 0)), std::string(r->text(i, 1))),
                       seq_t{r->int64(i, 2)});
    }
    std::vector<const event_input*> all;
    all.reserve(batch.size());
    for (const auto& in : batch) all.push_back(&in);
    auto out = append_in_txn(c, all, channel);
    if (!out) return out;
    if (auto ok = check_key_expectations(batch, *out, std::move(before)); !ok) {
        return std::unexpected(ok.error());
    }
    return out;
}

result<std::vector<append_result>> conditional_append(connection& c,
                                                      const std::vector<event_input>& batch,
                                                      const std::string& channel) {
    if (auto b = c.exec("BEGIN"); !b) return std::unexpected(b.error());
    auto out = conditional_append_in_txn(c, batch, channel);
    if (!out) {
        if (!c.broken()) (void)c.exec("ROLLBACK");
        return out;
    }
    auto done = c.exec("COMMIT");
    if (!done) {
        if (!c.broken() && c.in_transaction()) (void)c.exec("ROLLBACK");
        return std::unexpected(done.error());
    }
    if (done->command() != "COMMIT") {
        return fail(errc::conflict, "COMMIT answered " + std::string(done->command()));
    }
    return out;
}

}  // namespace prom::storage::postgres
