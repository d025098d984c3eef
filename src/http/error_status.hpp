// The one place that maps prom::errc to an HTTP status, and the error body every route uses.
#pragma once

#include <string>
#include <string_view>

#include "prom/error.hpp"
#include "prom/json.hpp"

namespace prom::http {

unsigned status_of(errc code) noexcept;

// `{"error":code,"message":text}`, canonical JSON.
std::string error_body(std::string_view code, std::string_view message);
// The same as an object, for an answer that adds members ("path", "key_seq", …).
json::object error_object(std::string_view code, std::string_view message);

}  // namespace prom::http
