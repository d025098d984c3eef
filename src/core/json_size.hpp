// The size a JSON value takes as text, roughly (its strings and keys, plus a few bytes per
// value), without serializing it: for limits that must be cheap to check on every write
// (docs::apply_update's document size, a user-defined projector's write budget).
#pragma once

#include <cstddef>

#include "prom/json.hpp"

namespace prom {

std::size_t approximate_json_bytes(const json::value& v);
std::size_t approximate_json_bytes(const json::object& o);

}  // namespace prom
