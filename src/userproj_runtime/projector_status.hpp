// The status of a definition as the admin routes and `prom projector ls|show` print it
// (docs/projectors.md, "Status fields"): the registry's view (version, state, failure),
// the store's (cursors and lag, the same on every node) and, in `prom serve`, this node's
// counters.
#pragma once

#include "prom/store.hpp"
#include "userproj_runtime/registry.hpp"
#include "userproj_runtime/supervisor.hpp"

namespace prom::userproj {

// `runtime`: this node's view (null in the CLI, or before the supervisor has seen the
// entry). `with_definition`: include the definition (and a pending rebuild's).
result<json::object> status_json(store& s, const registry_entry& e,
                                 const definition_runtime* runtime, bool with_definition);

// The state word: running, stopped, rebuilding or failed.
std::string_view state_of(const registry_entry& e, const definition_runtime* runtime);

}  // namespace prom::userproj
