// The regular expressions of a schema (`pattern`, the names of `patternProperties`), matched
// with Boost.Regex under a bound on backtracking instead of valijson's std::regex
// (docs/schemas.md, "Patterns"). libstdc++'s std::regex backtracks recursively without a
// limit: a pattern such as "(a*)*b" takes exponential time on a short string, and a plain
// "^[a-z]*$" overflows the stack on a long one. Either would stop a server that checks
// payloads, so a match that needs more than the bound refuses the payload instead.
//
// Thread-safe: compiled expressions are cached per thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prom::schema {

// Why `pattern` is not a regular expression prom can use, or nothing.
std::optional<std::string> pattern_error(std::string_view pattern);

enum class pattern_match { found, not_found, too_complex };

// Searches `text` for `pattern` (ECMAScript: `^`/`$` at the ends of the text only, `.` not a
// line break). too_complex: the bound was reached, or `pattern` does not compile.
pattern_match search_pattern(std::string_view pattern, std::string_view text);

}  // namespace prom::schema
