// The operations commands of the CLI (docs/operations.md), registered by main.cpp.
#pragma once

#include "cli/commands.hpp"

namespace prom::cli {

// Like report(), but an unknown topic or group and an active group (not_found, conflict)
// are bad input too: exit 2.
void report_ops(const error& e, run_state& state);

// prom groups [rm], prom cursor set (under `cursor_cmd`), prom dlq ls|replay.
void register_ops_commands(CLI::App& app, run_state& state, CLI::App* cursor_cmd);
// prom replay SRC DST … (replay_command.cpp).
void register_replay_command(CLI::App& app, run_state& state);

}  // namespace prom::cli
