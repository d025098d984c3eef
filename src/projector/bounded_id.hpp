// Ids prom derives (process.state from heartbeats, stale states, user-projector emits,
// dead letters) start "prom-", which no publisher may use (docs/events.md), and must fit the
// log's 256-byte id limit. Defined in process_handlers.cpp.
#pragma once

#include <string>

namespace prom::process {

// `id` itself when at most 256 bytes, else "prom-h:" and a stable hash of it: still in the
// reserved space, since a long id's hash is as predictable as the id.
std::string bounded_reserved_id(std::string id);

}  // namespace prom::process
