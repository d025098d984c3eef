// Local references ("$ref": "#/definitions/a") resolved as valijson resolves them, for
// everything that reads a schema besides valijson itself (the depth and loop checks, the
// TypeScript generator): trailing slashes dropped ("#/" is the whole schema), empty tokens
// skipped, tokens decoded by valijson's own function ("~1", "~0", %-escapes), array indexes
// read as std::stoul reads them (docs/schemas.md, "References").
#pragma once

#include <string>
#include <string_view>

#include "prom/json.hpp"

namespace prom::schema {

// The JSON Pointer of a local "$ref" ("#" or "#/json/pointer") as valijson keys it: what
// follows '#', trailing slashes dropped.
std::string ref_pointer(std::string_view ref);

// Where a ref_pointer points in `root`; null when valijson would not resolve it (it then
// refuses the schema).
const json::value* ref_target(const json::value& root, const std::string& pointer);

// Both: the value a local "$ref" names in `root`, or null (also for a non-local one).
const json::value* resolve_local_ref(const json::value& root, std::string_view ref);

}  // namespace prom::schema
