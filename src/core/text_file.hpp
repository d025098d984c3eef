// The whole text of a file a user names (a config file, a projector definition, a schema, a
// Lua file), or of standard input for "-", with a bound on its size: `--config /dev/zero`
// read until memory ran out (found from outside).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "prom/error.hpp"
#include "prom/json.hpp"

namespace prom {

inline constexpr std::size_t max_text_file_bytes = std::size_t{64} << 20;

// invalid_argument, naming `what` ("config file ") and `path`, for a directory, a file that
// cannot be read, or more than `max_bytes`.
result<std::string> read_text_file(const std::string& path, std::string_view what = "",
                                   std::size_t max_bytes = max_text_file_bytes);

// How such a file's JSON is parsed: as large as the file may be (the default bound was
// 16 MiB, found from outside), and a key given twice refused.
inline constexpr parse_limits json_file_limits{.max_bytes = max_text_file_bytes,
                                               .refuse_duplicate_keys = true};

}  // namespace prom
