#include "auth/browser_guard.hpp"

#include <charconv>

namespace prom::auth {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// The name part of a Host header: without its port, and without the brackets of an IPv6
// literal.
std::string_view name_of(std::string_view host) {
    if (host.starts_with('[')) {
        auto close = host.find(']');
        return close == std::string_view::npos ? std::string_view{} : host.substr(1, close - 1);
    }
    return host.substr(0, host.find(':'));
}

bool is_loopback_ipv4(std::string_view name) {
    int parts = 0;
    int first = -1;
    while (!name.empty()) {
        auto dot = name.find('.');
        auto part = name.substr(0, dot);
        int v = -1;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || v > 255)
            return false;
        if (parts++ == 0) first = v;
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    return parts == 4 && first == 127;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
    const std::string_view name = name_of(host);
    if (name.empty()) return false;
    if (iequals(name, "localhost") || iequals(name, "::1")) return true;
    if (name.size() > 10 && iequals(name.substr(name.size() - 10), ".localhost")) return true;
    return is_loopback_ipv4(name);
}

bool is_same_origin(std::string_view origin, std::string_view host) {
    constexpr std::string_view scheme = "http://";
    if (origin.size() <= scheme.size() || !iequals(origin.substr(0, scheme.size()), scheme)) {
        return false;
    }
    return iequals(origin.substr(scheme.size()), host);
}

}  // namespace prom::auth
