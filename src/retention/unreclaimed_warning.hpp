// What an erasure says when the space it freed cannot be given back yet (docs/retention.md,
// "Erasure"). The erasure is committed whatever this says, and secure_delete overwrote the
// freed pages in the database file; but a SQLite reader outside prom (a sqlite3 shell, a
// backup tool) can keep the WAL from being checkpointed and truncated, and the WAL may still
// hold the erased content until later writes overwrite it. The HTTP answer and the CLI's say
// it in the same words.
#pragma once

#include <string>

#include "prom/error.hpp"

namespace prom::retention {

inline std::string erased_content_may_remain(const error& why_not_reclaimed) {
    return "the erased content may remain in the database's WAL file until it is "
           "checkpointed: " +
           why_not_reclaimed.message;
}

}  // namespace prom::retention
