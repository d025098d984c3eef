#include "storage/row_codec.hpp"

namespace prom::storage {

namespace {

enum event_column : int { topic, seq, id, key, ts, payload, headers };

}  // namespace

result<event> decode_event(const row_reader& row) {
    for (int col = topic; col <= headers; ++col) {
        if (row.is_null(col)) return fail(errc::corrupt, "a stored event has a NULL column");
    }
    event e;
    e.topic = row.text(topic);
    e.seq = seq_t{row.int64(seq)};
    e.id = row.text(id);
    e.key = row.text(key);
    e.ts = ts_ms{row.int64(ts)};
    auto p = parse_stored_json(row.text(payload));
    if (!p) return fail(errc::corrupt, "stored payload does not parse: " + p.error().message);
    e.payload = std::move(*p);
    // Most events carry no headers: their stored "{}" is not worth a parser.
    const auto header_text = row.text(headers);
    if (header_text == "{}") return e;
    auto h = parse_stored_json(header_text);
    if (!h || !h->is_object()) return fail(errc::corrupt, "stored headers do not parse");
    for (const auto& kv : h->get_object()) {
        if (!kv.value().is_string()) {
            return fail(errc::corrupt,
                        "stored header '" + std::string(kv.key()) + "' is not a string");
        }
        e.headers.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    return e;
}

std::size_t event_row_bytes(const row_reader& row) {
    return row.text_bytes(payload) + row.text_bytes(headers);
}

std::size_t document_row_bytes(const row_reader& row) { return row.text_bytes(3); }

std::size_t change_row_bytes(const row_reader& row) {
    return row.is_null(4) ? 0 : row.text_bytes(4);
}

document decode_document(const row_reader& row) {
    return document{std::string(row.text(0)), std::string(row.text(1)), ts_ms{row.int64(2)},
                    std::string(row.text(3)), std::string(row.text(4))};
}

state_snapshot decode_snapshot(const row_reader& row) {
    return state_snapshot{ts_ms{row.int64(0)}, seq_t{row.int64(1)}, row.int64(2),
                          std::string(row.text(3))};
}

topic_info decode_topic(const row_reader& row) {
    return topic_info{std::string(row.text(0)), row.int64(1), seq_t{row.int64(2)},
                      ts_ms{row.int64(3)}};
}

document_change decode_change(const row_reader& row) {
    document_change c;
    c.collection = row.text(0);
    c.seq = seq_t{row.int64(1)};
    c.key = row.text(2);
    c.ts = ts_ms{row.int64(3)};
    c.deleted = row.is_null(4);
    if (!c.deleted) {
        c.body = row.text(4);
        c.etag = row.text(5);
    }
    return c;
}

seq_t decode_seq(const row_reader& row, int col) { return seq_t{row.int64(col)}; }

cursor_status decode_cursor_status(const row_reader& row) {
    cursor_status c{.topic = std::string(row.text(0)),
                    .group = std::string(row.text(1)),
                    .seq = seq_t{row.int64(2)}};
    if (!row.is_null(3)) c.acked_at = ts_ms{row.int64(3)};
    c.topic_last_seq = seq_t{row.int64(4)};
    if (!row.is_null(5)) c.next_ts = ts_ms{row.int64(5)};
    return c;
}

std::string encode_headers(const headers_map& headers) {
    if (headers.empty()) return "{}";  // nearly every event: no allocation
    // canonical_json's text of the headers as an object, written without building one: the
    // map keeps its names in byte order, which is canonical_json's member order, and each
    // string is escaped by the function canonical_json escapes with.
    std::string out(1, '{');
    for (const auto& [name, value] : headers) {
        if (out.size() > 1) out.push_back(',');
        append_json_string(out, name);
        out.push_back(':');
        append_json_string(out, value);
    }
    out.push_back('}');
    return out;
}

}  // namespace prom::storage
