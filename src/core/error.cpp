#include "prom/error.hpp"

namespace prom {

std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::invalid_argument:
            return "invalid_argument";
        case errc::not_found:
            return "not_found";
        case errc::conflict:
            return "conflict";
        case errc::type_error:
            return "type_error";
        case errc::too_large:
            return "too_large";
        case errc::unavailable:
            return "unavailable";
        case errc::io_error:
            return "io_error";
        case errc::corrupt:
            return "corrupt";
        case errc::cancelled:
            return "cancelled";
        case errc::invalid_payload:
            return "invalid_payload";
        case errc::gone:
            return "gone";
        case errc::precondition_failed:
            return "precondition_failed";
        case errc::internal:
            return "internal";
    }
    return "internal";
}

}  // namespace prom
