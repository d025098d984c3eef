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

// ASCII case-insensitive: does `s` start with `prefix` (lower case)?
bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

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

std::optional<absolute_target> split_absolute_form(std::string_view target) {
    std::size_t scheme = 0;
    for (std::string_view s : {"http://", "https://"}) {
        if (target.size() > s.size() && starts_with_ignoring_case(target, s)) scheme = s.size();
    }
    if (scheme == 0) return std::nullopt;
    std::string_view rest = target.substr(scheme);
    const std::size_t end = rest.find_first_of("/?");
    absolute_target out{rest.substr(0, end), {}};
    if (out.authority.empty() || out.authority.find('@') != std::string_view::npos) {
        return std::nullopt;  // no host, or user information (RFC 9110 4.2.4 forbids it)
    }
    std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    out.origin = tail.starts_with('/') ? std::string(tail) : "/" + std::string(tail);
    return out;
}

bool valid_host_field(std::string_view host) {
    std::string_view name = host, port;
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close < 2) return false;
        for (char c : host.substr(1, close - 1)) {
            if (hex_value(c) < 0 && c != ':' && c != '.') return false;
        }
        name = {};
        port = host.substr(close + 1);
        if (!port.empty() && port[0] != ':') return false;
    } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port = host.substr(colon);
    }
    if (!port.empty()) {
        // Digits, and a number a TCP port can be (found from outside: 99999 was taken).
        long value = 0;
        for (char c : port.substr(1)) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
            if (value > 65535) return false;
        }
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c == '%') {
            if (i + 2 >= name.size() || hex_value(name[i + 1]) < 0 || hex_value(name[i + 2]) < 0)
                return false;
            i += 2;
        } else if (!allowed_chars[c] || c == ':' || c == '@' || c == '/' || c == '?') {
            return false;
        }
    }
    return true;
}

std::string decode_path_segment(std::string_view encoded) { return decode(encoded, false); }
std::string decode_query_component(std::string_view encoded) { return decode(encoded, true); }

}  // namespace prom::http
