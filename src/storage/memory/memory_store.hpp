// The in-memory backend: everything in process memory, nothing survives the process.
// For tests, the dev harness and the in-memory bus.
#pragma once

#include <memory>

#include "prom/store.hpp"

namespace prom::storage {

std::unique_ptr<store> make_memory_store();

}  // namespace prom::storage
