// Consumer groups that belong to prom itself, which subscribers of the outside may not use.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "prom/process_projectors.hpp"

namespace prom {

// The groups of prom's own consumers: user-defined projectors ("projector.<name>", after a
// rebuild "projector.<name>@<token>"), replays ("replay:<destination>") and the built-in
// process projectors. A subscriber of the outside (WebSocket, `prom tail`) that joined one
// took its lease while the projector was stopped or failed and acknowledged events the
// projector then never applied, without an error (found from outside); they are refused
// there. Operators still move these cursors on purpose with a seek (docs/operations.md).
inline constexpr std::string_view projector_group_prefix = "projector.";
inline constexpr std::string_view replay_group_prefix = "replay:";
inline std::optional<std::string> reserved_group_problem(std::string_view group) {
    if (group.starts_with(projector_group_prefix) || group.starts_with(replay_group_prefix) ||
        group == process_projector_group || group == process_txn_group) {
        return "group '" + std::string(group) +
               "' is reserved for prom's own projectors and replays (names starting with "
               "'projector.' or 'replay:', 'process-projector', 'processes.txn')";
    }
    return std::nullopt;
}

}  // namespace prom
