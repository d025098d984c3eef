// The extent of a JSON value in one walk, without serializing it: how deep its objects and
// arrays nest and roughly how many bytes it takes as text (its strings and keys, plus a few
// bytes per value). For limits checked on every write: docs::apply_update's depth and size
// of a document, a user-defined projector's write budget.
#pragma once

#include <cstddef>

#include "prom/json.hpp"

namespace prom {

struct json_extent {
    std::size_t depth = 0;  // levels of objects and arrays, the top one included (as
                            // parse_limits::max_depth counts); 0 for a scalar
    std::size_t bytes = 0;  // as text, approximately
};

json_extent measure_json(const json::value& v);
json_extent measure_json(const json::object& o);

}  // namespace prom
