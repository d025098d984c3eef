// How a stored row becomes an event, a document, a snapshot or a topic, for every SQL
// backend (SQLite and PostgreSQL): each backend hands its result rows over as a
// `row_reader`, and the rules (column order, the headers and payload JSON, what makes a
// row corrupt) live here once. The column lists below are what the decoders expect: a
// backend splices them into its SELECTs, so the order cannot drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "prom/store.hpp"

namespace prom::storage {

// One row of a query result, read column by column (0-based). A row_reader only lives as
// long as the result it reads; the decoders copy what they keep.
class row_reader {
  public:
    virtual std::string_view text(int col) const = 0;
    virtual std::int64_t int64(int col) const = 0;
    virtual bool is_null(int col) const = 0;
    // The length of text(col), where a backend knows it without reading the text.
    virtual std::size_t text_bytes(int col) const { return text(col).size(); }

  protected:
    ~row_reader() = default;  // readers are views on the stack, never owned through this
};

#define PROM_EVENT_COLUMNS "topic, seq, id, key, ts, payload, headers"
#define PROM_DOCUMENT_COLUMNS "coll, key, ts, body, etag"
#define PROM_SNAPSHOT_COLUMNS "ts, seq, count, state"
#define PROM_TOPIC_COLUMNS "name, count, last_seq, horizon_ms"

// (topic, seq, id, key, ts, payload, headers). errc::corrupt when the payload or the headers
// do not parse, when the headers are not an object of strings, or when a column that is
// never NULL is NULL: one bad row is reported, not silently turned into a different event.
result<event> decode_event(const row_reader& row);
// (coll, key, ts, body, etag). The body is served as stored, without parsing (store.hpp).
document decode_document(const row_reader& row);
// (ts, seq, count, state).
state_snapshot decode_snapshot(const row_reader& row);
// (name, count, last_seq, horizon_ms).
topic_info decode_topic(const row_reader& row);
// (coll, seq, key, ts, body, etag) of the change log (storage/change_log.hpp); a NULL body
// is a deletion.
document_change decode_change(const row_reader& row);
// The stored text that a page's byte bound counts (page_bytes.hpp) of a row of each of the
// three above: payload and headers of an event, the body of a document or of a change.
std::size_t event_row_bytes(const row_reader& row);
std::size_t document_row_bytes(const row_reader& row);
std::size_t change_row_bytes(const row_reader& row);
// The one column of a cursor row.
seq_t decode_seq(const row_reader& row, int col = 0);
// (topic, grp, seq, acked_ms, last_seq, next_ts): a row of ops_sql::list_cursors; acked_ms
// and next_ts may be NULL.
cursor_status decode_cursor_status(const row_reader& row);

// The `headers` column: canonical JSON of the map ("{}" when empty), what decode_event reads.
std::string encode_headers(const headers_map& headers);

}  // namespace prom::storage
