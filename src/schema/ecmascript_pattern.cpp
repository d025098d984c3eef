#include "schema/ecmascript_pattern.hpp"

#include <cwchar>

#include "core/text.hpp"

static_assert(sizeof(wchar_t) == 4, "patterns are matched as UTF-32 code points");

namespace prom::schema {

namespace {

bool is_hex(wchar_t c) {
    return (c >= L'0' && c <= L'9') || (c >= L'a' && c <= L'f') || (c >= L'A' && c <= L'F');
}

unsigned hex_value(std::wstring_view digits) {
    unsigned v = 0;
    for (wchar_t c : digits) {
        v = v * 16 + static_cast<unsigned>(c <= L'9' ? c - L'0' : (c | 0x20) - L'a' + 10);
    }
    return v;
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The letters ECMAScript gives a meaning after a backslash (`\k` only before a group name).
constexpr std::string_view ecmascript_letter_escapes = "dDwWsSbBfnrtvcxuk";

}  // namespace

std::optional<std::string> non_ecmascript_construct(std::string_view p) {
    bool in_class = false;
    // The previous token is a quantifier (`*`, `+`, `?`, `{n,m}`): a `+` after it makes it
    // possessive, a `?` lazy.
    bool after_quantifier = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\') {
            if (i + 1 >= p.size()) return std::nullopt;  // Boost refuses a trailing backslash
            const char e = p[++i];
            if (e == 'p' || e == 'P') {
                return "'\\" + std::string(1, e) +
                       "' (a Unicode property escape) is not supported: use a character class";
            }
            if (is_letter(e) && ecmascript_letter_escapes.find(e) == std::string_view::npos) {
                return "'\\" + std::string(1, e) + "' is not an ECMAScript escape";
            }
            if (e == 'k' && (i + 1 >= p.size() || p[i + 1] != '<')) {
                return "'\\k' is an ECMAScript escape only before a group name: \\k<name>";
            }
            after_quantifier = false;
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < p.size() &&
                (p[i + 1] == ':' || p[i + 1] == '=' || p[i + 1] == '.')) {
                return "'[" + std::string(1, p[i + 1]) +
                       "' in a character class (a POSIX class) is not ECMAScript: list the "
                       "characters";
            }
            if (c == ']') in_class = false;
            continue;
        }
        if (c == '+' && after_quantifier) {
            return "a possessive quantifier ('" + std::string(p.substr(i - 1, 2)) +
                   "') is not ECMAScript";
        }
        const bool was_quantifier = after_quantifier;
        after_quantifier = false;
        switch (c) {
            case '[':
                in_class = true;
                if (i + 1 < p.size() && p[i + 1] == '^') ++i;
                if (i + 1 < p.size() && p[i + 1] == ']') ++i;  // `[]a]`: Boost's literal ']'
                break;
            case '(':
                if (i + 1 < p.size() && p[i + 1] == '?') {
                    std::string_view rest = p.substr(i + 2);
                    bool known = rest.starts_with(":") || rest.starts_with("=") ||
                                 rest.starts_with("!") || rest.starts_with("<=") ||
                                 rest.starts_with("<!");
                    if (!known && rest.starts_with("<")) {  // a named group: (?<name>…)
                        auto close = rest.find('>');
                        known = close != std::string_view::npos && close > 1;
                        for (std::size_t k = 1; known && k < close; ++k) {
                            const char n = rest[k];
                            known = is_letter(n) || n == '_' || n == '$' ||
                                    (k > 1 && n >= '0' && n <= '9');
                        }
                    }
                    if (!known) {
                        return "'(?" + std::string(rest.substr(0, 1)) +
                               "' is not ECMAScript (groups are (?:…), (?=…), (?!…), (?<=…), "
                               "(?<!…) and (?<name>…); inline modifiers and comments are not)";
                    }
                    ++i;  // the '?' is not a quantifier
                }
                break;
            case '*':
            case '+':
                after_quantifier = true;
                break;
            case '?':
                // After a quantifier it makes that one lazy (`a+?`); else it is one (`a?`).
                after_quantifier = !was_quantifier;
                break;
            case '}':
                after_quantifier = true;
                break;
            default:
                break;
        }
    }
    return std::nullopt;
}

std::wstring code_points(std::string_view s) {
    std::wstring out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        if (auto c = utf8_char_at(s, i)) {
            out.push_back(static_cast<wchar_t>(c->code_point));
            i += c->length;
        } else {
            out.push_back(L'\uFFFD');
            ++i;
        }
    }
    return out;
}

namespace {

// ECMAScript's \s (WhiteSpace and LineTerminator: ECMA-262, CharacterClassEscape) and its
// complement, as members of a character class. Boost's \s asks the C locale, which knows
// only the ASCII spaces: a no-break space matched `\S` on the server and `\s` in JavaScript.
constexpr std::wstring_view ecmascript_spaces =
    L"\\x{9}-\\x{D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    L"\\x{3000}\\x{FEFF}";
constexpr std::wstring_view ecmascript_non_spaces =
    L"\\x{0}-\\x{8}\\x{E}-\\x{1F}\\x{21}-\\x{9F}\\x{A1}-\\x{167F}\\x{1681}-\\x{1FFF}"
    L"\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}"
    L"\\x{3001}-\\x{FEFE}\\x{FF00}-\\x{10FFFF}";

}  // namespace

std::wstring boost_pattern(std::wstring_view p) {
    std::wstring out;
    out.reserve(p.size());
    bool in_class = false;  // inside [...], where \s adds members rather than a class
    auto hex4 = [&](std::size_t at) {
        return at + 4 <= p.size() && is_hex(p[at]) && is_hex(p[at + 1]) && is_hex(p[at + 2]) &&
               is_hex(p[at + 3]);
    };
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] != L'\\' || i + 1 >= p.size()) {
            if (p[i] == L'[' && !in_class) {
                in_class = true;
            } else if (p[i] == L']' && in_class) {
                in_class = false;
            } else if (p[i] == L'.' && !in_class) {
                // ECMAScript's `.` stops only at its four line terminators; Boost's also at
                // a form feed and U+0085.
                out += L"[^\\x{A}\\x{D}\\x{2028}\\x{2029}]";
                continue;
            }
            out.push_back(p[i]);
            continue;
        }
        const wchar_t e = p[i + 1];
        if (e == L's' || e == L'S') {
            const auto members = e == L's' ? ecmascript_spaces : ecmascript_non_spaces;
            if (in_class) {
                out += members;
            } else {
                out += L'[';
                out += members;
                out += L']';
            }
            ++i;
        } else if (e == L'v') {
            out += L"\\x{0B}";
            ++i;
        } else if (e == L'u' && hex4(i + 2)) {
            unsigned cp = hex_value(p.substr(i + 2, 4));
            std::size_t used = 6;
            // A surrogate pair written as two escapes is one code point.
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= p.size() && p[i + 6] == L'\\' &&
                p[i + 7] == L'u' && hex4(i + 8)) {
                unsigned low = hex_value(p.substr(i + 8, 4));
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    used = 12;
                }
            }
            wchar_t buf[16];
            std::swprintf(buf, 16, L"\\x{%X}", cp);
            out += buf;
            i += used - 1;
        } else if (e == L'u' && i + 2 < p.size() && p[i + 2] == L'{') {
            auto close = p.find(L'}', i + 3);
            bool hex = close != std::wstring_view::npos && close > i + 3;
            for (std::size_t k = i + 3; hex && k < close; ++k) hex = is_hex(p[k]);
            if (hex) {
                out += L"\\x{";
                out += p.substr(i + 3, close - i - 3);
                out += L'}';
                i = close;
            } else {
                out += L"\\u";
                ++i;
            }
        } else {
            out.push_back(p[i]);
            out.push_back(e);
            ++i;
        }
    }
    return out;
}

}  // namespace prom::schema
