// Turns a prom database URL into what libpq takes, minus prom's own parameters.
#pragma once

#include <string>
#include <string_view>

#include "prom/error.hpp"

namespace prom::storage::postgres {

struct pg_target {
    std::string conninfo;  // the URL for libpq, without `schema`
    std::string schema;    // where prom's tables live; "public" unless the URL says otherwise
};

// `postgresql://…` or `postgres://…`; the query parameter `schema=NAME` ([A-Za-z0-9_],
// at most 63 bytes) selects the schema and is removed. Added unless the URL sets them:
// connect_timeout=5 (an unreachable host fails instead of hanging) and TCP keepalives
// (idle 15 s, interval 5 s, count 3: a server that vanished without a reset is noticed).
result<pg_target> parse_pg_url(std::string_view url);

// libpq's message on one line: it ends lines with "\n" and indents hints with "\t"
// ("Connection refused\n\tIs the server running…"), which logs and CLI errors showed as
// escapes (found from outside). Null reads as "".
std::string libpq_one_line(const char* text);

}  // namespace prom::storage::postgres
