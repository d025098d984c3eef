// Derived event ids (process.state from heartbeats, user-projector emits) must fit the
// log's 256-byte id limit. Defined in process_handlers.cpp.
#pragma once

#include <string>

namespace prom::process {

// The id itself when at most 256 bytes, else "h:" + a stable hash of it.
std::string bounded_id(std::string id);

}  // namespace prom::process
