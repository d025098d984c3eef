// The backward-compatibility check of a topic's new schema version against the previous
// one: an event valid under the previous version should stay valid under the new one.
// Deciding that in general is as hard as comparing two programs, so the check applies the
// rules written down in docs/schemas.md ("Compatibility") and refuses what it cannot decide
// (a changed combinator or reference); `"compatibility":"none"` skips it.
#pragma once

#include <optional>

#include "prom/json.hpp"
#include "schema/json_schema.hpp"

namespace prom::schema {

// The first rule `next` breaks, with a pointer into `next` (or nothing: compatible). Both
// are valid draft-7 schemas (compiled_schema::compile accepted them).
std::optional<problem> incompatibility(const json::value& previous, const json::value& next);

}  // namespace prom::schema
