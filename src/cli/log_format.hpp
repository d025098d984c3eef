// How prom's log lines look: spdlog's default pattern, with the message written through
// log_line (core/text.hpp), so that no text a client sent can start a line of its own or
// drive a terminal.
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace prom::cli {

std::unique_ptr<spdlog::formatter> log_formatter();

}  // namespace prom::cli
