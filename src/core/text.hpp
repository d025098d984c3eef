// Text every backend can store and every client can print: valid UTF-8 without NUL bytes.
// (PostgreSQL text refuses anything else; SQLite and memory would take any bytes, so the
// check happens once, before any backend, for all of them alike.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace prom {

// `s` without the spaces and tabs around it (HTTP's optional whitespace, RFC 9110 5.6.3).
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_clean_text(std::string_view s);

// The first byte of `s` that is not part of valid UTF-8, if any (NUL is valid UTF-8).
std::optional<std::size_t> first_invalid_utf8(std::string_view s);

// The valid UTF-8 sequence that starts at s[i]: its code point and length in bytes; nothing
// when none starts there (a stray byte, an overlong form, a surrogate, past U+10FFFF).
struct utf8_char {
    char32_t code_point;
    std::size_t length;
};
std::optional<utf8_char> utf8_char_at(std::string_view s, std::size_t i);

// `s` with every byte that does not belong to a valid UTF-8 sequence replaced by U+FFFD:
// for messages that quote what a client sent (an undecodable path segment, a query value),
// so that an error body is always valid UTF-8 and therefore valid JSON. NUL stays (JSON
// escapes it).
std::string valid_utf8(std::string_view s);

// `s` as an error message that every store keeps and every client prints: valid_utf8, NUL
// as U+FFFD too, and at most about `max_bytes` (cut at a character boundary, followed by
// " … (N bytes)"). For text a user's code produced (a Lua error), which a dead-letter header
// and the projector registry must be able to hold.
std::string printable_message(std::string_view s, std::size_t max_bytes = 4096);

// `s` as one line of a log: ASCII control characters (newline, carriage return, escape, …)
// and DEL written as `\n`, `\r`, `\t` or `\xHH`, invalid UTF-8 as U+FFFD. Log messages quote what
// clients sent (event ids, Lua errors): a newline in one would start a line that looks like prom's
// own, an escape sequence would drive a terminal.
std::string log_line(std::string_view s);

// ASCII case-insensitive equality (HTTP header names and tokens).
bool iequals(std::string_view a, std::string_view b);

// Non-empty and only ASCII digits: a decimal number with no sign, space or exponent.
bool all_digits(std::string_view s);

// Writes the low `digits` hex digits of `v` (lowercase, zero-padded) at `out`: event ids and
// ETags, made once per published event or written document, where snprintf's format parsing
// showed up in profiles.
void write_hex(char* out, std::uint64_t v, int digits);

}  // namespace prom
