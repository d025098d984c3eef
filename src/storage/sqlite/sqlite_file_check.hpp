// Before prom writes anything next to or into a SQLite file (its schema, WAL mode, the keys
// file beside it), the file must be a prom database or empty: `--db` naming another
// application's database, a text file or a directory is refused and nothing is changed.
#pragma once

#include <string>

#include "prom/error.hpp"

namespace prom::storage::sqlite {

// ok when `path` does not exist, is empty, is a SQLite database without tables, or holds
// prom's `meta` table; invalid_argument (a wrong --db) otherwise.
status refuse_foreign_file(const std::string& path);

}  // namespace prom::storage::sqlite
