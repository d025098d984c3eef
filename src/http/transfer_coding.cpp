#include "http/transfer_coding.hpp"

#include <algorithm>
#include <vector>

#include "core/text.hpp"

namespace prom::http {

std::optional<framing_refusal> refuse_transfer_coding(unsigned http_version,
                                                      std::optional<std::string_view> codings) {
    if (!codings) return std::nullopt;
    if (http_version < 11) {
        return framing_refusal{400, "bad_request",
                               "malformed HTTP request: Transfer-Encoding in an HTTP/1.0 request"};
    }
    std::vector<std::string_view> list;
    for (std::string_view rest = *codings; !rest.empty();) {
        auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (!item.empty()) list.push_back(item);
    }
    if (list.empty() || !iequals(list.back(), "chunked")) {
        return framing_refusal{400, "bad_request",
                               "malformed HTTP request: a Transfer-Encoding must end in chunked"};
    }
    // Chunked applied twice is malformed (RFC 9112 6.1: chunked at most once), not a coding
    // prom lacks (found from outside: "'chunked' is not implemented").
    if (std::any_of(list.begin(), list.end() - 1,
                    [](std::string_view c) { return iequals(c, "chunked"); })) {
        return framing_refusal{400, "bad_request",
                               "malformed HTTP request: chunked may be applied only once"};
    }
    if (list.size() > 1) {
        return framing_refusal{501, "not_implemented",
                               "transfer coding '" + printable_message(list.front(), 100) +
                                   "' is not implemented: send the body chunked only"};
    }
    return std::nullopt;
}

}  // namespace prom::http
