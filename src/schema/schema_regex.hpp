// The regular expressions of a schema (`pattern`, the names of `patternProperties`), matched
// with Boost.Regex under a bound on backtracking instead of valijson's std::regex
// (docs/schemas.md, "Patterns"). libstdc++'s std::regex backtracks recursively without a
// limit: a pattern such as "(a*)*b" takes exponential time on a short string, and a plain
// "^[a-z]*$" overflows the stack on a long one. Either would stop a server that checks
// payloads, so a match that needs more than the bound refuses the payload instead.
//
// The bound is per string; one check of a payload (pattern_check_scope) also stops matching
// after its first string beyond the bound or after a second of matching in all, so that a
// payload of many strings cannot multiply the cost.
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

// One check of one payload, on this thread: while it lives, search_pattern answers
// too_complex without matching once a string was too complex or matching took a second.
class pattern_check_scope {
  public:
    pattern_check_scope();
    ~pattern_check_scope();
    pattern_check_scope(const pattern_check_scope&) = delete;
    pattern_check_scope& operator=(const pattern_check_scope&) = delete;
};

// Searches `text` for `pattern` (ECMAScript: `^`/`$` at the ends of the text only, `.` not a
// line break). too_complex: the bound was reached, or `pattern` does not compile.
pattern_match search_pattern(std::string_view pattern, std::string_view text);

}  // namespace prom::schema
