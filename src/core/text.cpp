#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace prom {

std::optional<utf8_char> utf8_char_at(std::string_view s, std::size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return utf8_char{c, 1};
    std::size_t n;
    char32_t cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < n; ++k) {
        auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return std::nullopt;
        cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr char32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    return utf8_char{cp, n};
}

namespace {

// The length of the valid UTF-8 sequence that starts at s[i], or 0 when none does.
std::size_t utf8_sequence_at(std::string_view s, std::size_t i) {
    auto at = utf8_char_at(s, i);
    return at ? at->length : 0;
}

}  // namespace

namespace {

// The first byte of `s` outside a valid UTF-8 sequence, or NUL when `nul_too`. ASCII, nearly
// every byte of keys, ids and JSON text, is taken a byte at a time without decoding.
std::optional<std::size_t> first_unclean_byte(std::string_view s, bool nul_too) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c == 0 && nul_too) return i;
            ++i;
            continue;
        }
        std::size_t n = utf8_sequence_at(s, i);
        if (n == 0) return i;
        i += n;
    }
    return std::nullopt;
}

}  // namespace

bool is_clean_text(std::string_view s) { return !first_unclean_byte(s, true); }

std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
    return first_unclean_byte(s, false);
}

namespace {

// `s` into `out` with each byte outside a valid UTF-8 sequence (and NUL when `nul_too`) as
// U+FFFD, stopping once `out` holds `max_bytes`; returns how much of `s` was read.
std::size_t append_valid_utf8(std::string& out, std::string_view s, bool nul_too,
                              std::size_t max_bytes) {
    std::size_t i = 0;
    while (i < s.size() && out.size() < max_bytes) {
        std::size_t n = utf8_sequence_at(s, i);
        if (n == 0 || (nul_too && s[i] == '\0')) {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return i;
}

}  // namespace

std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_valid_utf8(out, s, false, std::string::npos);
    return out;
}

std::string printable_message(std::string_view s, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(s.size(), max_bytes) + 32);
    if (append_valid_utf8(out, s, true, max_bytes) < s.size()) {
        out += " \xE2\x80\xA6 (" + std::to_string(s.size()) + " bytes)";
    }
    return out;
}

std::string log_line(std::string_view s) {
    std::string valid = valid_utf8(s);
    std::string out;
    out.reserve(valid.size());
    for (char ch : valid) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += ch;
        }
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

void write_hex(char* out, std::uint64_t v, int digits) {
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) {
        out[i] = hex[v & 0xf];
        v >>= 4;
    }
}

}  // namespace prom
