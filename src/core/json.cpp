#include "prom/json.hpp"

#include <xxhash.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <charconv>
#include <cmath>
#include <vector>

namespace prom {

namespace {

// Boost.JSON reads a number beyond a double's range (1e400, a 5000-digit integer) as ±inf,
// which has no JSON text: stored, it could never be read back (found by fuzz/event_input).
// Depth is bounded by parse_limits::max_depth, so recursion is fine.
bool numbers_are_finite(const json::value& v) {
    switch (v.kind()) {
        case json::kind::double_: return std::isfinite(v.get_double());
        case json::kind::array:
            return std::ranges::all_of(v.get_array(),
                                       [](const json::value& e) { return numbers_are_finite(e); });
        case json::kind::object:
            return std::ranges::all_of(v.get_object(), [](const json::key_value_pair& kv) {
                return numbers_are_finite(kv.value());
            });
        default: return true;
    }
}

}  // namespace

result<json::value> parse_json(std::string_view text, parse_limits limits) {
    if (text.size() > limits.max_bytes) {
        return fail(errc::too_large, "JSON text is larger than " +
                                         std::to_string(limits.max_bytes) + " bytes");
    }
    json::parse_options opts;
    opts.max_depth = limits.max_depth;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec, {}, opts);
    if (ec) return fail(errc::invalid_argument, "malformed JSON: " + ec.message());
    if (!numbers_are_finite(v)) {
        return fail(errc::invalid_argument,
                    "a number is out of range (beyond ±1.7976931348623157e308)");
    }
    return v;
}

namespace {

void append_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[u >> 4]);
                    out.push_back(hex[u & 0xf]);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

template <class T>
void append_number(std::string& out, T n) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

}  // namespace

void append_canonical_json(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::null: out += "null"; return;
        case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
        case json::kind::int64: append_number(out, v.get_int64()); return;
        case json::kind::uint64: append_number(out, v.get_uint64()); return;
        case json::kind::double_: {
            // Shortest round-trip form; an integral double prints like an integer, so 7.0
            // and 7 hash alike, as they are the same JSON number.
            append_number(out, v.get_double());
            return;
        }
        case json::kind::string: append_string(out, v.get_string()); return;
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
        case json::kind::object: {
            const auto& obj = v.get_object();
            std::vector<const json::key_value_pair*> members;
            members.reserve(obj.size());
            for (const auto& kv : obj) members.push_back(&kv);
            std::sort(members.begin(), members.end(),
                      [](auto* a, auto* b) { return a->key() < b->key(); });
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
            return;
        }
    }
}

std::string canonical_json(const json::value& v) {
    std::string out;
    append_canonical_json(out, v);
    return out;
}

std::string etag_of(std::string_view canonical_bytes) {
    XXH128_hash_t h = XXH3_128bits(canonical_bytes.data(), canonical_bytes.size());
    char buf[40];
    std::snprintf(buf, sizeof buf, "\"%016llx%016llx\"", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return buf;
}

}  // namespace prom
