// Text every backend can store and every client can print: valid UTF-8 without NUL bytes.
// (PostgreSQL text refuses anything else; SQLite and memory would take any bytes, so the
// check happens once, before any backend, for all of them alike.)
#pragma once

#include <string_view>

namespace prom {

bool is_clean_text(std::string_view s);

}  // namespace prom
