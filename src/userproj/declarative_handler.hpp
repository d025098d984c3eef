// The handler of a declarative definition: `where`, then every write, then every emit,
// all inside the projector's transaction.
#pragma once

#include "prom/user_projector.hpp"
#include "userproj/compiled_definition.hpp"

namespace prom::userproj {

// Applies one event. ok without effects when `where` does not match; invalid_argument for
// a missing path or a value of the wrong kind (the projector retries, then dead-letters);
// the store's own errors as they come.
status apply_declarative(const compiled_definition& d, const user_handler_options& o,
                         const event& e, transaction& txn);

}  // namespace prom::userproj
