// Schemas valijson would recurse through without end (or too deep for a thread's stack),
// refused before it sees them (docs/schemas.md, "References").
#pragma once

#include <optional>

#include "prom/json.hpp"
#include "schema/json_schema.hpp"

namespace prom::schema {

// How many subschemas may apply to the same value in a row: one recursion of valijson's
// each while a payload is checked, on top of those for each level of the payload (whose
// depth is bounded where it is read).
inline constexpr int longest_same_value_run = 32;

// How deep compiling may nest subschemas, counted as below: one recursion of valijson's each.
inline constexpr int deepest_compile_nesting = 2000;

// Why `schema` cannot be compiled and applied in bounded depth, or nothing:
// - the subschemas that apply to the same value as the schema naming them ("$ref", "allOf",
//   "anyOf", "oneOf", "not", "if", "then", "else", a schema in "dependencies") lead back to
//   where they started ({"$ref":"#"}, {"allOf":[{"$ref":"#"}]}) or run longer than
//   longest_same_value_run: valijson would recurse until the stack overflows while checking
//   any payload. A recursive schema is fine when each turn moves into a member or an item of
//   the value ("properties", "items", ...): payloads have a bounded depth.
// - valijson compiles a referenced schema where the first "$ref" to it is met, by recursion,
//   once per spelling of the reference: a chain of definitions each naming the next nests
//   as deep as the chain is long. The bound used is the depth of the document's schema tree
//   plus, for each distinct reference, the depth of the tree it names; it must stay within
//   deepest_compile_nesting.
// A "$ref" is resolved by valijson's rules, not RFC 6901's ("#/" is the root, "#/a//b" is
// "#/a/b", %-escapes are decoded), so that what is seen here is what valijson would follow.
std::optional<problem> depth_problem(const json::value& schema);

}  // namespace prom::schema
