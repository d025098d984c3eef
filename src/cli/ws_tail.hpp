// prom tail --url ws://HOST:PORT/ws: the gateway client behind `prom tail` (Beast; its own
// translation unit so that only it pays Beast's compile time).
#pragma once

#include <cstddef>
#include <string>

#include "prom/error.hpp"

namespace prom::cli {

struct ws_tail_options {
    std::string url;  // ws://host:port/path
    std::string token;
    std::string topic;
    std::string group;  // empty: an ephemeral subscription (no group, nothing stored)
    std::string from = "latest";
    std::size_t limit = SIZE_MAX;
};

// Prints each event as NDJSON (with a group, acks what it printed); returns at the limit,
// when `interrupted` becomes non-zero, or on an error. Errors carry no Boost source
// locations: they are for the user, not for a debugger.
// "Connection refused [system:111 at /usr/include/boost/…]" → "Connection refused".
std::string without_source_location(std::string text);

status tail_over_gateway(const ws_tail_options& o, const volatile int& interrupted);

}  // namespace prom::cli
