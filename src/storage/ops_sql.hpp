// SQL shared by the SQLite and PostgreSQL backends for the operations part of the store
// (store::list_cursors and friends; docs/operations.md). The same text runs on both, so the
// two backends answer from one query; each only binds and decodes.
#pragma once

namespace prom::storage::ops_sql {

// Every cursor with its topic's last seq and the ts of its first unacknowledged event: one
// primary-key probe of `topics` and one of `events` per cursor, so /metrics stays cheap with
// thousands of groups. Columns: topic, grp, seq, acked_ms (NULL before the column existed),
// last_seq, next_ts (NULL when caught up).
inline constexpr const char* list_cursors =
    "SELECT c.topic, c.grp, c.seq, c.acked_ms, COALESCE(t.last_seq, 0), e.ts "
    "FROM cursors c "
    "LEFT JOIN topics t ON t.name = c.topic "
    "LEFT JOIN events e ON e.topic = c.topic AND e.seq = c.seq + 1 "
    "ORDER BY c.topic, c.grp";

}  // namespace prom::storage::ops_sql
