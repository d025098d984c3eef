// Whether a request's Transfer-Encoding lets its body's length be told for sure (RFC 9112,
// 6.1). Beast reads a body whose codings do not end in chunked as empty, so its bytes would
// be taken for the next request (a smuggled one): such a request is refused and its
// connection closed (docs/http-api.md, "Errors").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prom::http {

struct framing_refusal {
    unsigned status;  // 400, or 501 for a coding before chunked ("gzip, chunked")
    std::string code, message;
};

// `codings`: every Transfer-Encoding line of the request joined by commas (nullopt: none).
std::optional<framing_refusal> refuse_transfer_coding(unsigned http_version,
                                                      std::optional<std::string_view> codings);

}  // namespace prom::http
