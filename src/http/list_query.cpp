#include "http/list_query.hpp"

#include <charconv>

#include "docs/update.hpp"
#include "http/percent.hpp"

namespace prom::http {

namespace {

// Plain decimal digits only: no sign, no exponent, no fraction, no spaces; at most 12 digits
// so that the value is far from any overflow.
bool parse_decimal(std::string_view text, std::size_t& out) {
    if (text.empty() || text.size() > 12) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    std::uint64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    out = static_cast<std::size_t>(v);
    return true;
}

}  // namespace

status parse_list_query(std::string_view encoded_query, find_query& q) {
    q.offset = 0;
    q.limit = default_list_limit;
    q.equals.clear();
    // The target passed valid_origin_form, so every '%' here starts a valid escape.
    bool seen_offset = false, seen_limit = false;
    while (!encoded_query.empty()) {
        auto amp = encoded_query.find('&');
        std::string_view param = encoded_query.substr(0, amp);
        encoded_query =
            amp == std::string_view::npos ? std::string_view{} : encoded_query.substr(amp + 1);
        if (param.empty()) continue;  // `?a=1&&b=2`, a trailing `&`
        auto eq = param.find('=');
        std::string name = decode_query_component(param.substr(0, eq));
        if (eq == std::string_view::npos) {
            return fail(errc::invalid_argument, "query parameter '" + name + "' needs a value");
        }
        std::string value = decode_query_component(param.substr(eq + 1));
        // Read-your-writes parameters, taken by the consistency layer (api_consistency.cpp).
        if (name == "after" || name == "wait") continue;
        if (name == "offset" || name == "limit") {
            bool& seen = name == "offset" ? seen_offset : seen_limit;
            if (seen) return fail(errc::invalid_argument, "'" + name + "' given twice");
            seen = true;
            std::size_t n = 0;
            if (!parse_decimal(value, n)) {
                return fail(errc::invalid_argument,
                            "'" + name + "' must be a plain decimal integer of at most 12 digits");
            }
            if (name == "limit") {
                if (n < 1 || n > max_list_limit) {
                    return fail(errc::invalid_argument, "'limit' must be between 1 and 1000");
                }
                q.limit = n;
            } else {
                q.offset = n;
            }
            continue;
        }
        if (!docs::valid_field_name(name)) {
            return fail(errc::invalid_argument,
                        "filter names are top-level fields of [A-Za-z0-9_], 1 to 128 characters; "
                        "equality only");
        }
        // `host=a&host=b`: one field cannot equal both, and whether "or" or "the last one" was
        // meant is a guess; refused, as every repeated parameter is.
        for (const auto& [field, _] : q.equals) {
            if (field == name) return fail(errc::invalid_argument, "'" + name + "' given twice");
        }
        q.equals.emplace_back(std::move(name), std::move(value));
    }
    return {};
}

}  // namespace prom::http
