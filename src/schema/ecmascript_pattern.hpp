// A schema's regular expressions are ECMAScript's (JSON Schema says so, and `prom gen ts`
// runs them in JavaScript); they are matched with Boost.Regex (schema_regex.hpp). This file
// makes the two agree: what Boost's Perl syntax would accept but ECMAScript reads otherwise
// is refused when the schema is stored, and text and pattern are matched as code points,
// not bytes, as JavaScript does (`.` matches one "é", not half of it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prom::schema {

// Why `pattern` holds a construct that ECMAScript does not have or reads differently from
// Boost's Perl syntax: inline modifiers and comments (`(?i)`, `(?#…)`), possessive
// quantifiers (`a++`), POSIX classes (`[[:alpha:]]`), Unicode property escapes (`\p{L}`),
// escapes of letters ECMAScript gives no meaning (`\A`, `\Z`, `\Q`). Nothing when it has none.
std::optional<std::string> non_ecmascript_construct(std::string_view pattern);

// UTF-8 as code points (wchar_t is 32 bits on the platforms prom builds on). A byte that is
// not part of a valid sequence becomes U+FFFD.
std::wstring code_points(std::string_view utf8);

// The pattern in Boost's syntax: ECMAScript's `\uXXXX` (a surrogate pair as one code point)
// and `\u{X…}` become `\x{…}`, `\v` the vertical tab it is in ECMAScript, `\s` and `\S`
// ECMAScript's sets of white space and the rest, spelled out as class members.
std::wstring boost_pattern(std::wstring_view pattern);

}  // namespace prom::schema
