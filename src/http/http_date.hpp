// HTTP dates (RFC 9110 5.6.7): we send IMF-fixdate and accept all three formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace prom::http {

// "Sun, 06 Nov 1994 08:49:37 GMT" for seconds since the epoch.
std::string format_http_date(std::int64_t epoch_seconds);

// IMF-fixdate, RFC 850 or asctime; nullopt when the text is none of them (the caller then
// ignores the header, as RFC 9110 13.1.3 asks).
std::optional<std::int64_t> parse_http_date(std::string_view text);

}  // namespace prom::http
