#include "schema/ecmascript_pattern.hpp"

#include <algorithm>
#include <cwchar>
#include <vector>

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

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `{n}`, `{n,}` or `{n,m}` at p[i]: where it ends (its '}'), or npos when it is not one.
std::size_t quantifier_end(std::string_view p, std::size_t i) {
    std::size_t k = i + 1;
    const std::size_t first = k;
    while (k < p.size() && is_digit(p[k])) ++k;
    if (k == first) return std::string_view::npos;
    if (k < p.size() && p[k] == ',') {
        ++k;
        while (k < p.size() && is_digit(p[k])) ++k;
    }
    return k < p.size() && p[k] == '}' ? k : std::string_view::npos;
}

// The capturing groups of `p`, numbered in order of their '(' from 1: the name of each
// ("" for an unnamed one; index 0 unused).
struct group_table {
    std::size_t count = 0;
    std::vector<std::string> names{""};
};

group_table groups_of(std::string_view p) {
    group_table t;
    bool in_class = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '\\') {
            ++i;
        } else if (in_class) {
            if (p[i] == ']') in_class = false;
        } else if (p[i] == '[') {
            in_class = true;
            if (i + 1 < p.size() && p[i + 1] == '^') ++i;
            if (i + 1 < p.size() && p[i + 1] == ']') ++i;
        } else if (p[i] == '(') {
            std::string_view rest = p.substr(i + 1);
            if (!rest.starts_with("?")) {
                ++t.count;
                t.names.emplace_back();
            } else if (rest.starts_with("?<") && !rest.starts_with("?<=") &&
                       !rest.starts_with("?<!")) {
                ++t.count;
                auto close = rest.find('>');
                t.names.emplace_back(
                    rest.substr(2, close == std::string_view::npos ? 0 : close - 2));
            }
        }
    }
    return t;
}

}  // namespace

std::optional<std::string> non_ecmascript_construct(std::string_view p) {
    const group_table groups = groups_of(p);
    for (std::size_t a = 1; a < groups.names.size(); ++a) {
        for (std::size_t b = a + 1; b < groups.names.size(); ++b) {
            if (!groups.names[a].empty() && groups.names[a] == groups.names[b]) {
                return "the group name '" + groups.names[a] + "' is given twice";
            }
        }
    }
    // Groups whose ')' has been seen: a backreference to one that has not (`\1(a)`, `(a\1)`)
    // matches the empty string in JavaScript and nothing in Boost.
    std::vector<std::size_t> open;  // capture numbers of the open groups (0: not capturing)
    std::vector<bool> closed(groups.count + 1, false);
    std::vector<std::string> closed_names;
    std::size_t next_group = 0;
    bool in_class = false;
    // Inside a class: the last member was a class escape (`\d`), or a '-' follows one.
    bool class_escape_before = false, range_open = false;
    // The previous token: a quantifier (`*`, `+`, `?`, `{n,m}`), and whether a lazy `?` may
    // still follow it; nothing to repeat (the start, `(`, `|`).
    bool quantified = false, lazy_allowed = false, nothing_before = true;
    auto repeat = [&](std::size_t at, std::size_t length) -> std::optional<std::string> {
        std::string q(p.substr(at, length));
        if (quantified) {
            return lazy_allowed && q == "+"
                       ? "a possessive quantifier ('" + std::string(p.substr(at - 1, 2)) +
                             "') is not ECMAScript"
                       : "'" + q + "' repeats a quantifier: nothing to repeat in ECMAScript";
        }
        if (nothing_before) return "'" + q + "' has nothing to repeat";
        quantified = lazy_allowed = true;
        return std::nullopt;
    };
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
            // Escapes JavaScript reads as literal text when incomplete, Boost as a character.
            if (e == 'x' && !(i + 2 < p.size() && is_hex(p[i + 1]) && is_hex(p[i + 2]))) {
                return "'\\x' takes two hex digits in ECMAScript (\\x41)";
            }
            if (e == 'u') {
                const bool four = i + 4 < p.size() && is_hex(p[i + 1]) && is_hex(p[i + 2]) &&
                                  is_hex(p[i + 3]) && is_hex(p[i + 4]);
                const bool braced = i + 1 < p.size() && p[i + 1] == '{';
                std::size_t close = braced ? p.find('}', i + 2) : std::string_view::npos;
                bool hex = close != std::string_view::npos && close > i + 2;
                for (std::size_t k = i + 2; hex && k < close; ++k) hex = is_hex(p[k]);
                if (!four && !hex) {
                    return "'\\u' takes four hex digits or {hex} in ECMAScript (\\u00e9, "
                           "\\u{1F600})";
                }
                if (!four) i = close;  // `\u{…}` is one character
            }
            if (e == 'c' && !(i + 1 < p.size() && is_letter(p[i + 1]))) {
                return "'\\c' takes a letter in ECMAScript (\\cJ)";
            }
            if (!in_class && is_digit(e) && e != '0') {
                std::size_t n = 0, k = i;
                while (k < p.size() && is_digit(p[k]))
                    n = n * 10 + static_cast<std::size_t>(p[k++] - '0');
                if (n > groups.count)
                    return "'\\" + std::string(p.substr(i, k - i)) + "' refers to no group";
                if (!closed[n]) {
                    return "'\\" + std::string(p.substr(i, k - i)) +
                           "' refers to a group not closed before it (ECMAScript matches it "
                           "as empty there)";
                }
                i = k - 1;
            }
            if (e == 'k' && !in_class) {
                auto close = p.find('>', i + 1);
                std::string name(
                    p.substr(i + 2, close == std::string_view::npos ? 0 : close - i - 2));
                if (std::ranges::find(closed_names, name) == closed_names.end()) {
                    return "'\\k<" + name + ">' refers to no group closed before it";
                }
                i = close == std::string_view::npos ? i : close;
            }
            if (in_class) {
                const bool class_escape =
                    std::string_view("dDwWsS").find(e) != std::string_view::npos;
                if (range_open && class_escape) {
                    return "a range ends in a class escape ('-\\" + std::string(1, e) +
                           "'): not ECMAScript";
                }
                range_open = false;
                class_escape_before = class_escape;
                continue;
            }
            quantified = false;
            nothing_before = false;
            continue;
        }
        if (in_class) {
            if (c == '[' && i + 1 < p.size() &&
                (p[i + 1] == ':' || p[i + 1] == '=' || p[i + 1] == '.')) {
                return "'[" + std::string(1, p[i + 1]) +
                       "' in a character class (a POSIX class) is not ECMAScript: list the "
                       "characters";
            }
            if (c == ']') {
                in_class = false;
                quantified = false;
                nothing_before = false;
                continue;
            }
            if (c == '-' && i + 1 < p.size() && p[i + 1] != ']') {
                if (class_escape_before) {
                    return "a range starts at a class escape ('\\" + std::string(1, p[i - 1]) +
                           "-'): not ECMAScript";
                }
                range_open = true;
                continue;
            }
            range_open = false;
            class_escape_before = false;
            continue;
        }
        switch (c) {
            case '[': {
                // `[]` matches nothing and `[^]` any character in ECMAScript: one atom each
                // (boost_pattern spells them for Boost, which reads a ']' first in a class
                // as a member; found from outside: both were refused).
                std::size_t k = i + 1;
                if (k < p.size() && p[k] == '^') ++k;
                if (k < p.size() && p[k] == ']') {
                    i = k;
                    quantified = false;
                    nothing_before = false;
                    break;
                }
                in_class = true;
                class_escape_before = range_open = false;
                if (i + 1 < p.size() && p[i + 1] == '^') ++i;
                break;
            }
            case '(': {
                std::size_t number = 0;
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
                        number = ++next_group;
                    }
                    if (!known) {
                        return "'(?" + std::string(rest.substr(0, 1)) +
                               "' is not ECMAScript (groups are (?:…), (?=…), (?!…), (?<=…), "
                               "(?<!…) and (?<name>…); inline modifiers and comments are not)";
                    }
                    ++i;  // the '?' is not a quantifier
                } else {
                    number = ++next_group;
                }
                open.push_back(number);
                quantified = false;
                nothing_before = true;
                break;
            }
            case ')':
                if (!open.empty()) {
                    const std::size_t number = open.back();
                    open.pop_back();
                    if (number > 0 && number < closed.size()) {
                        closed[number] = true;
                        if (!groups.names[number].empty()) {
                            closed_names.push_back(groups.names[number]);
                        }
                    }
                }
                quantified = false;
                nothing_before = false;
                break;
            case '|':
                quantified = false;
                nothing_before = true;
                break;
            case '*':
            case '+':
                if (auto why = repeat(i, 1)) return why;
                break;
            case '?':
                if (quantified && lazy_allowed) {
                    lazy_allowed = false;  // `a+?`: lazy
                } else if (auto why = repeat(i, 1)) {
                    return why;
                }
                break;
            case '{': {
                const std::size_t end = quantifier_end(p, i);
                if (end == std::string_view::npos) {
                    return "'{' starts a quantifier in ECMAScript ({2}, {2,}, {2,5}): write \\{ "
                           "for the character";
                }
                if (auto why = repeat(i, end + 1 - i)) return why;
                i = end;
                break;
            }
            case '^':
            case '$':
                quantified = false;
                nothing_before = true;
                break;
            default:
                quantified = false;
                nothing_before = false;
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
            if (p[i] == L'[' && !in_class && i + 1 < p.size() && p[i + 1] == L']') {
                out += L"[^\\x{0}-\\x{10FFFF}]";  // `[]`: no character
                ++i;
                continue;
            }
            if (p[i] == L'[' && !in_class && i + 2 < p.size() && p[i + 1] == L'^' &&
                p[i + 2] == L']') {
                out += L"[\\x{0}-\\x{10FFFF}]";  // `[^]`: any character
                i += 2;
                continue;
            }
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
        } else if (!in_class && ((e >= L'1' && e <= L'9') ||
                                 (e == L'k' && i + 2 < p.size() && p[i + 2] == L'<'))) {
            // A backreference to a group that took no part in the match (`^(a)?\1b$` on
            // "b") matches the empty string in ECMAScript and nothing in Boost: only when
            // the group took part is it matched, by Boost's conditional (found from outside).
            std::size_t end = i + 2;
            if (e == L'k') {
                end = p.find(L'>', i + 3);
                end = end == std::wstring_view::npos ? p.size() : end + 1;
            } else {
                while (end < p.size() && p[end] >= L'0' && p[end] <= L'9') ++end;
            }
            const std::wstring_view ref = p.substr(i, end - i);
            const std::wstring_view group =
                e == L'k' ? ref.substr(2) : ref.substr(1);  // "<name>" or the number
            out += L"(?:(?(";
            out += group;
            out += L")";
            out += ref;
            out += L"))";
            i = end - 1;
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
