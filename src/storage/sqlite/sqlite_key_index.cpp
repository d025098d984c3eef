#include "storage/sqlite/sqlite_key_index.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace prom::storage::sqlite {

status step_latest_in_txn(connection& c, std::string_view topic, seq_t keyed) {
    // Each key's latest seq, once per key and step instead of once per key and transaction
    // (a batch of 1000 events to 1000 keys upserted 1000 rows; docs/benchmarks.md, "`latest`
    // behind the log"). The tail is grouped here, in a hash map, not by SQL's GROUP BY, which
    // sorts every row of the step (measured: ~40% of the step's instructions;
    // docs/benchmarks.md, "`latest`'s step without a sort").
    auto scan = c.prepare("SELECT key, seq FROM events WHERE topic = ?1 AND seq > ?2");
    if (!scan) return std::unexpected(scan.error());
    scan->bind_static(1, topic);
    scan->bind(2, keyed);
    std::unordered_map<std::string, std::int64_t> last;  // rows come in seq order: the last wins
    int rc;
    while ((rc = scan->step()) == SQLITE_ROW) last[std::string(scan->text(0))] = scan->int64(1);
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "read the log's tail"));
    // In key order, so that consecutive upserts land on the same pages of `latest`.
    std::vector<std::pair<std::string_view, std::int64_t>> rows(last.begin(), last.end());
    std::sort(rows.begin(), rows.end());
    // max(): a row that retention pointed into the tail stays if greater.
    auto up = c.prepare(
        "INSERT INTO latest(topic, key, seq) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(topic, key) DO UPDATE SET seq = max(seq, excluded.seq)");
    if (!up) return std::unexpected(up.error());
    for (const auto& [key, seq] : rows) {
        up->bind_static(1, topic);
        up->bind_static(2, key);
        up->bind(3, seq);
        rc = up->step();
        if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "index latest"));
        up->reset();
    }
    return {};
}

status index_keys_in_txn(connection& c, std::string_view topic, seq_t from, seq_t to) {
    // Sorted by the key_events key: each key's rows go in together, next to each other
    // (measured: about a sixth less CPU per appended event than in seq order). OR IGNORE:
    // rows that a database of schema 7 moved here may be there already.
    auto st = c.prepare(
        "INSERT OR IGNORE INTO keys.key_events(topic, key, ts, seq) "
        "SELECT topic, key, ts, seq FROM main.events "
        "WHERE topic = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY key, ts, seq");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, from);
    st->bind(3, to);
    int rc = st->step();
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "index keys"));
    auto up = c.prepare(
        "INSERT INTO keys.key_progress(topic, seq) VALUES(?1, ?2) "
        "ON CONFLICT(topic) DO UPDATE SET seq = excluded.seq");
    if (!up) return std::unexpected(up.error());
    up->bind(1, topic);
    up->bind(2, to);
    rc = up->step();
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "record key progress"));
    return {};
}

}  // namespace prom::storage::sqlite
