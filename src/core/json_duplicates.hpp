// Keys given twice in one JSON object (src/core/json_duplicates.cpp says why it matters).
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace prom {

// The JSON pointer of the first key that repeats a key of the same object in `text` (valid
// JSON: parse it first), or nullopt when every object's keys are distinct.
std::optional<std::string> first_duplicate_key(std::string_view text);

// The same for a publish request (HTTP body, WebSocket op), `parsed` from `text`: payloads
// and headers are data and keep the last value of a repeated key (RFC 8259 allows it), but a
// repeated envelope member — two `topic`s, two `expect`s — is a request whose meaning cannot
// be known.
std::optional<std::string> first_duplicate_envelope_key(std::string_view text,
                                                        const boost::json::value& parsed);
// "duplicate key at '/expect': …", for the pointer first_duplicate_envelope_key found.
std::string duplicate_member_message(std::string_view pointer);

}  // namespace prom
