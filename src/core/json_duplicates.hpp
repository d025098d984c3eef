// Keys given twice in one JSON object (src/core/json_duplicates.cpp says why it matters).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prom {

// The JSON pointer of the first key that repeats a key of the same object in `text` (valid
// JSON: parse it first), or nullopt when every object's keys are distinct.
std::optional<std::string> first_duplicate_key(std::string_view text);

}  // namespace prom
