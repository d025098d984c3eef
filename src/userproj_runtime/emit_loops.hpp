// Projectors that emit into each other's topics (a emits to b's topic, b to a's) would feed
// one another without end: a definition that closes such a loop is refused when applied
// (docs/projectors.md, "emit"). Lua handlers choose their topics at run time and are not
// seen here; the emit depth limit (userproj/effects.hpp) stops those.
#pragma once

#include <string>
#include <vector>

#include "userproj_runtime/registry.hpp"

namespace prom::userproj {

// The names along a loop of emits through `candidate` (a definition's JSON, replacing any
// stored one of its name) among the stored definitions, first and last the candidate's
// name; empty when there is none.
std::vector<std::string> emit_loop(const json::object& candidate,
                                   const std::vector<registry_entry>& stored);

}  // namespace prom::userproj
