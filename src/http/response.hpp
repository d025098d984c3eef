// A response as the session writes it: a status, a block of header lines and a body.
//
// Document responses point into an immutable pre-rendered entry of the snapshot cache
// (shared, never copied per request); everything else owns its strings. The session adds
// the status line, Date, Connection and the blank line.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/route.hpp"
#include "prom/error.hpp"

namespace prom::http {

struct rendered_document;  // snapshot_cache.hpp

struct response {
    unsigned status = 200;
    route_id route = route_id::unknown;
    std::shared_ptr<const rendered_document> doc;  // set: head and body come from it
    std::string head;  // header lines, each ending in CRLF (Content-Length included)
    std::string body;
    // Set: the body instead of `body`, static data that outlives every response (the
    // dashboard's embedded files, served without a copy).
    std::string_view static_body;
    bool head_only = false;  // HEAD: same header lines, no body
    bool close = false;      // close the connection after this response
};

// The header lines and the body to send (the body is empty for HEAD, 304 and 204).
std::string_view head_of(const response& r);
std::string_view body_of(const response& r);

// The reason phrase, "Unknown" for codes we never send.
std::string_view reason_of(unsigned status);

// A JSON response with `Cache-Control: no-store` (lists, publish results, errors).
response json_response(unsigned status, std::string body, route_id route);
// `{"error":code,"message":text}` with `no-store`.
response error_response(unsigned status, std::string_view code, std::string_view message,
                        route_id route);
// The same for an error value: its code's status (error_status.hpp), code and message.
response error_response(const error& e, route_id route);

}  // namespace prom::http
