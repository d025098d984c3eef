#include "http/percent.hpp"

#include <array>

namespace prom::http {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}

// unreserved / sub-delims / ':' / '@' / '/' / '?' (the last two only matter in the query,
// and '?' in the path starts the query anyway).
constexpr auto allowed_chars = [] {
    std::array<bool, 256> a{};
    for (unsigned char c = 'a'; c <= 'z'; ++c) a[c] = true;
    for (unsigned char c = 'A'; c <= 'Z'; ++c) a[c] = true;
    for (unsigned char c = '0'; c <= '9'; ++c) a[c] = true;
    for (unsigned char c : std::string_view("-._~!$&'()*+,;=:@/?")) a[c] = true;
    return a;
}();

}  // namespace

bool valid_origin_form(std::string_view t) {
    if (t.empty() || t[0] != '/') return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        auto c = static_cast<unsigned char>(t[i]);
        if (c == '%') {
            if (i + 2 >= t.size() || hex_value(t[i + 1]) < 0 || hex_value(t[i + 2]) < 0)
                return false;
            i += 2;
        } else if (!allowed_chars[c]) {
            return false;
        }
    }
    return true;
}

std::string decode_path_segment(std::string_view encoded) { return decode(encoded, false); }
std::string decode_query_component(std::string_view encoded) { return decode(encoded, true); }

}  // namespace prom::http
