// What PostgreSQL text can hold: valid UTF-8 without NUL bytes. SQLite and the memory store
// take any bytes, so keys, ids and header strings are checked here, per request, before
// they reach a shared group-commit transaction (where one bad string would fail them all).
#pragma once

#include <string_view>
#include <vector>

#include "prom/event.hpp"

namespace prom::storage::postgres {

bool storable_text(std::string_view s);

// invalid_argument naming the first field PostgreSQL cannot store.
status check_storable(const std::vector<event_input>& batch);

}  // namespace prom::storage::postgres
