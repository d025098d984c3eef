#include "prom/json.hpp"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/json_duplicates.hpp"
#include "core/json_pointer.hpp"
#include "core/json_precise_parser.hpp"
#include "core/text.hpp"

namespace prom {

namespace {

// Finds a number that the parser turned into infinity (JSON has no infinity; Boost.JSON
// rounds an out-of-range number to it). Every parsed body is asked with `path` null, which
// builds nothing; only when one is found does a second walk fill `path` with its JSON pointer.
bool find_non_finite(const json::value& v, std::string* path) {
    // Descends into `child` with its token on the path, and keeps the token only if found.
    auto in = [&](std::string_view token, const json::value& child) {
        auto size = path->size();
        append_pointer_token(*path, token);
        if (find_non_finite(child, path)) return true;
        path->resize(size);
        return false;
    };
    switch (v.kind()) {
        case json::kind::double_:
            return !std::isfinite(v.get_double());
        case json::kind::array: {
            const auto& a = v.get_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (path ? in(std::to_string(i), a[i]) : find_non_finite(a[i], nullptr)) {
                    return true;
                }
            }
            return false;
        }
        case json::kind::object:
            for (const auto& kv : v.get_object()) {
                if (path ? in(kv.key(), kv.value()) : find_non_finite(kv.value(), nullptr)) {
                    return true;
                }
            }
            return false;
        default:
            return false;
    }
}

// This thread's parser for documents of at most `max_depth` levels. Boost.JSON's parser
// keeps its stack between documents; json::parse builds and tears one down per call, which
// for a small publish body cost about as much as the parsing itself.
precise_json_parser& reusable_parser(std::size_t max_depth) {
    struct slot {
        std::size_t max_depth;
        std::unique_ptr<precise_json_parser> parser;
    };
    thread_local std::vector<slot> slots;  // one per depth in use: two or three
    for (auto& s : slots) {
        if (s.max_depth == max_depth) return *s.parser;
    }
    json::parse_options opts;
    opts.max_depth = max_depth;
    slots.push_back({max_depth, std::make_unique<precise_json_parser>(opts)});
    return *slots.back().parser;
}

// The first `\uD800`–`\uDFFF` escape outside a valid pair (a high one followed by a low one),
// and where it is: JSON text is Unicode, which has no lone surrogates.
std::optional<std::pair<std::size_t, std::string_view>> lone_surrogate(std::string_view text) {
    auto surrogate_at = [&](std::size_t i, char first, char last) {
        if (i + 6 > text.size() || text[i] != '\\' || (text[i + 1] != 'u' && text[i + 1] != 'U'))
            return false;
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 2])));
        const char d = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 3])));
        return c == 'd' && d >= first && d <= last;
    };
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] != '\\') continue;
        if (surrogate_at(i, '8', 'b')) {
            if (surrogate_at(i + 6, 'c', 'f')) {
                i += 11;
                continue;
            }
            return std::pair(i, text.substr(i, 6));
        }
        if (surrogate_at(i, 'c', 'f')) return std::pair(i, text.substr(i, 6));
        ++i;  // an escaped character, maybe a backslash: not the start of another escape
    }
    return std::nullopt;
}

result<json::value> parse_unchecked(std::string_view text, std::size_t max_depth) {
    boost::system::error_code ec;
    std::size_t error_at = 0;
    json::value v = reusable_parser(max_depth).parse(text, ec, error_at);
    if (!ec) return v;
    // Boost.JSON says "syntax error" for text that is not UTF-8 and for a lone surrogate
    // escape (what JSON.stringify writes for half an emoji): say which, when one of them is
    // what stopped it (the earlier of the two, at or before where it stopped; found from
    // outside), and otherwise where it stopped.
    const auto bad = first_invalid_utf8(text);
    const auto lone = lone_surrogate(text);
    const bool bad_stopped = bad && *bad <= error_at;
    const bool lone_stopped = lone && lone->first <= error_at;
    if (lone_stopped && (!bad_stopped || lone->first < *bad)) {
        return fail(errc::invalid_argument,
                    "malformed JSON: an unpaired UTF-16 surrogate '" + std::string(lone->second) +
                        "' at byte " + std::to_string(lone->first) +
                        " (JSON text is Unicode: a surrogate escape comes in a high-low pair)");
    }
    if (bad_stopped) {
        return fail(errc::invalid_argument,
                    "malformed JSON: invalid UTF-8 at byte " + std::to_string(*bad));
    }
    if (error_at == 0 && text.starts_with("\xEF\xBB\xBF")) {
        return fail(errc::invalid_argument,
                    "malformed JSON: it starts with a byte order mark (U+FEFF), which JSON text "
                    "sent or stored may not hold");
    }
    return fail(errc::invalid_argument,
                "malformed JSON: " + ec.message() + " at byte " + std::to_string(error_at));
}

// Rewrites the bare words `inf`, `-inf`, `nan`, `-nan` outside strings (what earlier
// versions' canonical form wrote for non-finite doubles) as `null`.
std::string without_non_finite_words(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            out.push_back(c);
            if (c == '\\' && i + 1 < text.size())
                out.push_back(text[++i]);
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        std::string_view rest = text.substr(i);
        bool replaced = false;
        for (std::string_view word : {"-inf", "-nan", "inf", "nan"}) {
            if (rest.starts_with(word)) {
                out += "null";
                i += word.size() - 1;
                replaced = true;
                break;
            }
        }
        if (!replaced) out.push_back(c);
    }
    return out;
}

}  // namespace

result<json::value> parse_json(std::string_view text, parse_limits limits) {
    if (text.size() > limits.max_bytes) {
        return fail(errc::too_large,
                    "JSON text is larger than " + std::to_string(limits.max_bytes) + " bytes");
    }
    auto v = parse_unchecked(text, limits.max_depth);
    if (!v) return v;
    if (std::string path; find_non_finite(*v, nullptr) && find_non_finite(*v, &path)) {
        std::string where = path.empty() ? "" : " at '" + path + "'";
        return fail(
            errc::invalid_argument,
            "number out of range" + where + ": JSON numbers must fit in a double (about ±1.8e308)");
    }
    if (limits.refuse_duplicate_keys) {
        if (auto at = first_duplicate_key(text)) {
            return fail(errc::invalid_argument,
                        "duplicate key at '" + *at + "': each key may appear once in an object");
        }
    }
    return v;
}

result<json::value> parse_stored_json(std::string_view text) {
    constexpr std::size_t stored_depth = 1024;
    auto v = parse_unchecked(text, stored_depth);
    if (!v) v = parse_unchecked(without_non_finite_words(text), stored_depth);
    if (!v) return fail(errc::corrupt, "stored JSON does not parse: " + v.error().message);
    return v;
}

namespace {

// Characters that need no escape are copied in runs, not one push_back each (the payload of
// every appended event and every document body passes through here).
// The bytes a JSON string must escape: '"', '\\' and the control characters.
constexpr std::array<bool, 256> needs_escape = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    t['"'] = t['\\'] = true;
    return t;
}();

void append_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the characters not copied yet
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const auto u = static_cast<unsigned char>(c);
        if (!needs_escape[u]) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += "\\u00";
                out.push_back(hex[u >> 4]);
                out.push_back(hex[u & 0xf]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

template <class T>
void append_number(std::string& out, T n) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

}  // namespace

void append_canonical_json(std::string& out, const json::object& obj) {
    // Members in key order. Most objects are small: their order is sorted on the
    // stack, without an allocation.
    constexpr std::size_t on_stack = 16;
    std::array<const json::key_value_pair*, on_stack> few{};
    std::vector<const json::key_value_pair*> many;
    std::span<const json::key_value_pair*> members;
    if (obj.size() <= on_stack) {
        members = std::span(few.data(), obj.size());
    } else {
        many.resize(obj.size());
        members = std::span(many);
    }
    std::size_t at = 0;
    for (const auto& kv : obj) members[at++] = &kv;
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    bool first = true;
    for (auto* kv : members) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, kv->key());
        out.push_back(':');
        append_canonical_json(out, kv->value());
    }
    out.push_back('}');
}

void append_canonical_json(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            out += "null";
            return;
        case json::kind::bool_:
            out += v.get_bool() ? "true" : "false";
            return;
        case json::kind::int64:
            append_number(out, v.get_int64());
            return;
        case json::kind::uint64:
            append_number(out, v.get_uint64());
            return;
        case json::kind::double_: {
            // Shortest round-trip form; an integral double prints like an integer, so 7.0
            // and 7 hash alike, as they are the same JSON number. Infinity and NaN have no
            // JSON form: null, as JSON.stringify writes them, so stored text always parses.
            if (!std::isfinite(v.get_double())) {
                out += "null";
                return;
            }
            // Negative zero is 0: stored text read back as an integer has no sign, so every
            // backend (the memory one keeps the double) must render it alike.
            if (v.get_double() == 0.0) {
                out.push_back('0');
                return;
            }
            append_number(out, v.get_double());
            return;
        }
        case json::kind::string:
            append_string(out, v.get_string());
            return;
        case json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) out.push_back(',');
                first = false;
                append_canonical_json(out, e);
            }
            out.push_back(']');
            return;
        }
        case json::kind::object:
            append_canonical_json(out, v.get_object());
            return;
    }
}

// Room for a typical event payload or document at once: growing from empty reallocates
// four or five times on the way to a few hundred bytes (each serialized document paid it).
constexpr std::size_t first_capacity = 256;

void append_json_string(std::string& out, std::string_view s) { append_string(out, s); }

std::string canonical_json(const json::value& v) {
    std::string out;
    if (v.is_structured()) out.reserve(first_capacity);  // a scalar fits in place
    append_canonical_json(out, v);
    return out;
}

std::string canonical_json(const json::object& obj) {
    std::string out;
    out.reserve(first_capacity);
    append_canonical_json(out, obj);
    return out;
}

std::string etag_of(std::string_view canonical_bytes) {
    XXH128_hash_t h = XXH3_128bits(canonical_bytes.data(), canonical_bytes.size());
    std::string tag(34, '"');
    write_hex(tag.data() + 1, h.high64, 16);
    write_hex(tag.data() + 17, h.low64, 16);
    return tag;
}

}  // namespace prom
