// The one place where payloads meet their topic's schema: a store that wraps a backend and
// checks every batch (payload_schemas) before it reaches the backend's append, whether it
// comes through store::append, store::append_async or a transaction (projector emits).
// open_store() returns every backend wrapped in it, so the HTTP and WebSocket publishes,
// `prom publish` and the library's appends all share this check (docs/schemas.md).
//
// Everything else is forwarded unchanged. Thread-safe as the wrapped store is.
#pragma once

#include <memory>

#include "prom/store.hpp"

namespace prom::schema {

std::unique_ptr<store> enforce_schemas(std::unique_ptr<store> backend);

}  // namespace prom::schema
