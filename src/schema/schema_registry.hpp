// Topic schemas in the database: documents in two reserved collections (docs/schemas.md,
// "Where schemas are stored"), so memory, SQLite and PostgreSQL keep them the same way
// and every node of a shared database reads the same ones.
//
//   _prom.schemas         key = topic: the current version {topic, version, schema, compatibility,
//   ts} _prom.schema_history  key = topic: {topic, versions: [every version, oldest first]}
//
// The publish path reads only the small current document (payload_schemas.hpp); the routes
// and the CLI read the history. Both are written in one transaction.
//
// Free functions over a store; thread-safe as the store is.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/store.hpp"

namespace prom::schema {

inline constexpr std::string_view current_collection = "_prom.schemas";
inline constexpr std::string_view history_collection = "_prom.schema_history";

struct schema_version {
    std::string topic;
    std::int64_t version = 0;  // 1, 2, … per topic
    json::value schema;
    std::string compatibility;  // "backward" (checked) or "none"
    ts_ms ts{};                 // when it was stored
};

json::object to_json(const schema_version& v);
// corrupt when a stored document lacks the fields.
result<schema_version> schema_version_from_json(const json::object& o);

struct put_outcome {
    bool created = false;  // false: the schema equals the current version, nothing stored
    schema_version stored;
};

struct put_error {
    // "bad_request" (the body's shape, 400), "invalid_topic" (400), "invalid_schema" or
    // "incompatible_schema" (422), or empty: `err` is the store's error.
    std::string code;
    error err;
    std::optional<std::string> pointer;  // into the body, e.g. "/schema/properties/x/type"
};

// Stores `body` = {"schema": <draft-7 schema>, "compatibility": "backward"|"none"}
// (compatibility optional, "backward" by default) as the next version of `topic`. The schema
// is checked (compiled_schema::compile) and, unless "none", checked for compatibility with
// the current version (compatibility.hpp). Nothing is stored on any error.
// Why `topic` can take no schema (invalid_topic), or nothing: a name no event can have, a
// dead-letter topic, prom's alerts topic. What put_schema checks first.
std::optional<put_error> schema_topic_problem(std::string_view topic);

std::expected<put_outcome, put_error> put_schema(store& s, std::string_view topic,
                                                 const json::value& body);

// The current version of every topic that has a schema, in topic order.
result<std::vector<schema_version>> current_schemas(store& s);
// The current version of `topic`, or nullopt.
result<std::optional<schema_version>> current_schema(store& s, std::string_view topic);
// Every version of `topic`, oldest first; empty when it has none.
result<std::vector<schema_version>> schema_versions(store& s, std::string_view topic);

}  // namespace prom::schema
