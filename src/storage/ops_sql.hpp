// SQL shared by the SQLite and PostgreSQL backends for the operations part of the store
// (store::list_cursors and friends; docs/operations.md). The same text runs on both, so the
// two backends answer from one query; each only binds and decodes.
#pragma once

namespace prom::storage::ops_sql {

// Every cursor with its topic's last seq and the ts of its first unacknowledged event: one
// primary-key probe of `topics` and one seek of `events` per cursor, so /metrics stays cheap
// with thousands of groups. The first event after the cursor, not seq + 1: retention may
// have deleted that one (docs/retention.md). Columns: topic, grp, seq, acked_ms (NULL before
// the column existed), last_seq, next_ts (NULL when caught up).
inline constexpr const char* list_cursors =
    "SELECT c.topic, c.grp, c.seq, c.acked_ms, COALESCE(t.last_seq, 0), "
    "(SELECT e.ts FROM events e WHERE e.topic = c.topic AND e.seq > c.seq "
    "ORDER BY e.seq LIMIT 1) "
    "FROM cursors c "
    "LEFT JOIN topics t ON t.name = c.topic "
    "ORDER BY c.topic, c.grp";

}  // namespace prom::storage::ops_sql
