// The longest key, in bytes: an event's (docs/events.md) and a document's, one bound, so that
// a projector can always write a document under its event's key.
#pragma once

#include <cstddef>

namespace prom {

inline constexpr std::size_t max_key_bytes = 1024;

}  // namespace prom
