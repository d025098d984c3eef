// The HTTP statuses `prom serve` answers, with their reason phrases (RFC 9110 §15): one
// table, so that the status line and the /metrics status labels cannot drift apart.
#pragma once

#include <array>
#include <string_view>

namespace prom::http {

struct status_info {
    unsigned code;
    std::string_view reason;
};

inline constexpr std::array<status_info, 28> known_statuses{{
    {101, "Switching Protocols"},  // GET /ws upgrades, counted in the request metrics
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {505, "HTTP Version Not Supported"},
}};

}  // namespace prom::http
