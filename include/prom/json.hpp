// JSON values and prom's one canonical serialization.
//
// Canonical form: no whitespace, object members sorted by key bytes, integers in decimal,
// doubles in the shortest form that round-trips (an integral double prints as an integer;
// infinity and NaN, which JSON cannot hold, print as null), strings UTF-8 with only the
// escapes JSON requires. ETags hash these bytes, so they must
// never change between versions; tests/unit/canonical_json_test.cpp pins them.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "prom/error.hpp"

namespace prom {

namespace json = boost::json;

struct parse_limits {
    std::size_t max_depth = 64;
    std::size_t max_bytes = std::size_t{16} * 1024 * 1024;
    // Configuration and definitions refuse a key given twice in one object (the parser would
    // keep the last value and drop the others silently); payloads keep RFC 8259's leeway.
    bool refuse_duplicate_keys = false;
};

// Parses strict JSON (no comments, no trailing commas, valid UTF-8). Errors are
// errc::invalid_argument with a message that says where. A number too large for a double
// (`1e400`, `-1e400`, a 5000-digit integer) is an error too, naming its JSON pointer:
// it would become infinity, which has no JSON form (docs/http-api.md, "Numbers"). Every
// input path (HTTP, WebSocket, CLI) parses here, so every backend sees the same values.
// With `refuse_duplicate_keys`, a key given twice in one object is an error naming it.
result<json::value> parse_json(std::string_view text, parse_limits limits = {});

// Parses JSON that prom stored itself (payloads, documents, snapshots): no size limit,
// depth 1024. Text written by versions that rendered infinity as `inf` (not JSON) is read
// with those numbers as null, so that one such event cannot make a topic unreadable.
// Errors are errc::corrupt.
result<json::value> parse_stored_json(std::string_view text);

std::string canonical_json(const json::value& v);
void append_canonical_json(std::string& out, const json::value& v);
// The same for an object, without the copy that converting it to a json::value would make
// (a projector serializes every document it changes: docs/benchmarks.md).
std::string canonical_json(const json::object& obj);
void append_canonical_json(std::string& out, const json::object& obj);

// A JSON string with `s` as its text, escaped as canonical_json escapes strings: for
// writers that build a known shape by hand without a json::value (which would copy `s`).
void append_json_string(std::string& out, std::string_view s);

// The strong ETag of canonical bytes: a quoted 128-bit XXH3 hash in hex.
std::string etag_of(std::string_view canonical_bytes);

}  // namespace prom
