// Definitions read from files: `prom projector apply FILE` and the "projectors" /
// "projectors_dir" settings of `prom serve` (docs/config.md).
#pragma once

#include <string>
#include <vector>

#include "userproj_runtime/registry.hpp"

namespace prom::userproj {

// The JSON text of a file; "-" reads standard input. invalid_argument when it cannot be read.
result<std::string> read_definition_text(const std::string& path);

// Every "*.json" file directly in `dir`, in name order. invalid_argument when `dir` cannot be
// listed.
result<std::vector<std::string>> definition_files_in(const std::string& dir);

// Applies each file in order (apply_definition). Stops at the first failure, as an error
// naming the file and, for an invalid definition, the JSON Pointer:
// "projectors/orders.json: /writes/0/key: …". A version lower than the stored one is found
// before any file is applied; a later failure (a rebuild in the way) leaves earlier files
// applied.
status apply_definition_files(store& s, const std::vector<std::string>& files);

// Reads and validates each file without storing anything: `prom serve` checks its files
// before it opens the database, so a start refused for a bad file changes nothing. Two files
// defining one projector are refused too.
status check_definition_files(const std::vector<std::string>& files);

// "<pointer>: <message>", or the message alone when the pointer is the whole body.
std::string describe(const apply_error& e);

}  // namespace prom::userproj
