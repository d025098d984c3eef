// Schemas prom ships for its built-in topics (docs/process-projector.md): what the process
// projectors read. They are not enforced unless stored (`prom schema set heartbeat.received
// FILE`; `prom schema builtin TOPIC` prints one), so that publishing stays as documented;
// `prom gen ts` uses them for a built-in topic that has no stored schema.
#pragma once

#include <string_view>
#include <vector>

#include "prom/json.hpp"

namespace prom::schema {

struct builtin_schema {
    std::string_view topic;
    std::string_view text;  // a draft-7 JSON Schema
};

const std::vector<builtin_schema>& builtin_schemas();

}  // namespace prom::schema
