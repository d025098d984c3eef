#include "http/error_status.hpp"

#include "core/text.hpp"
#include "prom/json.hpp"

namespace prom::http {

unsigned status_of(errc code) noexcept {
    switch (code) {
        case errc::invalid_argument:
        case errc::type_error:
            return 400;
        case errc::not_found:
            return 404;
        case errc::conflict:
            return 409;
        case errc::gone:
            return 410;
        case errc::precondition_failed:
            return 412;
        case errc::too_large:
            return 413;
        case errc::invalid_payload:
            return 422;
        case errc::unavailable:
        case errc::cancelled:
            return 503;
        case errc::io_error:
        case errc::corrupt:
        case errc::internal:
            return 500;
    }
    return 500;
}

json::object error_object(std::string_view code, std::string_view message) {
    json::object o;
    o["error"] = code;
    // Messages quote client input (decoded path segments, query values), which may be any
    // bytes: the body must stay valid UTF-8, hence valid JSON.
    o["message"] = valid_utf8(message);
    return o;
}

std::string error_body(std::string_view code, std::string_view message) {
    return canonical_json(error_object(code, message));
}

}  // namespace prom::http
