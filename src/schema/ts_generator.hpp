// `prom gen ts`: TypeScript from topic schemas (docs/schemas.md, "TypeScript"). Pure text
// generation: the caller picks the topics (stored and built-in schemas) and writes the files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prom/json.hpp"

namespace prom::schema {

struct ts_topic {
    std::string topic;
    std::int64_t version = 0;  // 0: a built-in schema that is not stored
    json::value schema;
};

struct ts_file {
    std::string name;  // "topics.ts", "validate.ts"
    std::string text;
};

// The files for `topics` (in the order given): a payload type per topic, the topic map, the
// typed wrapper and the runtime validators.
std::vector<ts_file> generate_typescript(const std::vector<ts_topic>& topics);

// The TypeScript type of a schema's values (local `$ref`s resolved against `root`).
std::string ts_type_of(const json::value& schema, const json::value& root);

}  // namespace prom::schema
