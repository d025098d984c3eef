// The field paths the document operators accept, for callers that check updates before
// running them (the user-projector parser). Defined in update.cpp beside the operators.
#pragma once

#include <string_view>

namespace prom::docs {

// Non-empty dotted steps (no empty step), not starting with '$'.
bool valid_update_path(std::string_view path);

}  // namespace prom::docs
