// Document update semantics shared by every backend, so that all of them agree byte for byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/key_limit.hpp"
#include "prom/store.hpp"

namespace prom::docs {

// The largest document, as JSON text (approximately: core/json_size.hpp), MongoDB's bound:
// a document that kept growing (a new field per event) would otherwise be read, rewritten
// and held whole by every later update of it.
inline constexpr std::size_t max_document_bytes = std::size_t{16} << 20;
// The longest document key, an event's key's bound: a handler that took a key from a large
// payload field would otherwise store it in every index, ETag and change of the document.
// Only writes are bounded; reads and deletes of a longer key simply find nothing.
inline constexpr std::size_t max_document_key_bytes = max_key_bytes;

// Applies `update` to `current` (nullptr when the document does not exist yet).
// Operators: $set, $inc, $setOnInsert, $unset (dotted paths reach into nested objects);
// an update without operators replaces the document. `_key` is always `key`; `_ts` is
// the update's own `_ts` when it sets one, else `default_ts`.
// Errors: invalid_argument (unknown operator, bad shape, a key longer than
// max_document_key_bytes, a result nested too deep or larger than max_document_bytes),
// type_error ($inc on a non-number).
result<json::object> apply_update(const json::object* current, const json::object& update,
                                  std::string_view key, ts_ms default_ts);
// Whether `update` is a whole document (no `$` operator), which replaces the stored one
// without reading it.
bool is_replacement(const json::object& update);
// The same, taking the update's fields when it is a replacement instead of copying them.
result<json::object> apply_update(const json::object* current, json::object&& update,
                                  std::string_view key, ts_ms default_ts);

// What every backend checks before writing (collection, key): a valid collection name and a
// non-empty key of valid UTF-8 without NUL. invalid_argument otherwise.
status check_target(std::string_view collection, std::string_view key);

// apply_update over a stored body (nullopt: no document yet), for backends that keep bodies
// as text. not_found when there is none and !upsert; corrupt when the body does not parse.
result<json::object> update_stored(const std::optional<document>& stored,
                                   const json::object& update, std::string_view key, bool upsert);

// Builds the stored form (canonical body + ETag) of a document object.
document make_document(std::string_view collection, std::string_view key, const json::object& doc);

// The text a /list equality filter compares with: a string field's own value, a number's or
// boolean's canonical JSON text; nothing for null, objects, arrays or a missing field.
std::optional<std::string> match_text(const json::object& doc, std::string_view field);

// Collection and field names: [A-Za-z0-9_] (collections also . and -), 1-128 bytes.
bool valid_field_name(std::string_view name);
bool valid_collection_name(std::string_view name);

}  // namespace prom::docs
