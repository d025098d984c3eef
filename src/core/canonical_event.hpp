// A publish body read without building its JSON, for the shape nearly every publisher sends.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "prom/event.hpp"

namespace prom {

// One event whose members are `topic`, `key`, `id`, `ts` (an integer), `payload` and
// `headers` (an object of strings), each at most once, with no escape in any string, no
// header name reserved for prom or given twice, and a payload whose numbers are written as
// canonical_json writes them: its event_input, already checked as event_input_from_json
// checks one, with the payload's canonical text written straight from the body
// (event_input's payload_canonical: whitespace dropped, each object's members put in key
// order) instead of a parsed payload.
//
// nullopt for any other body, valid or not: the caller then takes the general path
// (parse_json, event_input_from_json), which gives any error. This reader accepts a subset
// of what that path accepts, with the same result, so that a publish body's JSON is built
// as a tree and serialized again only when it holds an escape, a number in another form
// (`1.0`, `1E5`), a key given twice, or a member this reader does not read (docs/http-api.md,
// "Numbers" and "Keys given twice", say what the general path does with those).
std::optional<event_input> read_canonical_event(std::string_view body);

// A WebSocket publish frame read the same way: `{"op":"publish","id":…,"event":{…}}`, its
// members in any order, `id` optional (at most `max_id_bytes`, no escape), the event as above.
// nullopt for any other frame (a batch of `events` included): ws::parse_command's general
// path reads it, with the same result for a frame read here.
struct canonical_publish_frame {
    std::string id;
    event_input event;
};
std::optional<canonical_publish_frame> read_canonical_publish_frame(std::string_view frame,
                                                                    std::size_t max_id_bytes);

}  // namespace prom
