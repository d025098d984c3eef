#include "core/canonical_event.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include "core/reserved_headers.hpp"
#include "core/text.hpp"

namespace prom {

namespace {

// What a byte inside a JSON string is to this reader.
enum class string_byte : unsigned char { plain, quote, refused, multibyte };

constexpr std::array<string_byte, 256> string_bytes = [] {
    std::array<string_byte, 256> t{};
    // Control characters are not JSON; an escape may decode to a different canonical text.
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = string_byte::refused;
    t['\\'] = string_byte::refused;
    t['"'] = string_byte::quote;
    for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] = string_byte::multibyte;
    return t;
}();

// Digits as canonical_json writes a whole number: no sign on zero, no leading zero.
bool integer_form(std::string_view token) {
    const bool negative = token.starts_with('-');
    std::string_view digits = negative ? token.substr(1) : token;
    return !digits.empty() && (digits[0] != '0' || (digits.size() == 1 && !negative));
}

// `token` as an int64, when it is in integer form and in range.
std::optional<std::int64_t> canonical_int64(std::string_view token) {
    std::int64_t n = 0;
    const char* end = token.data() + token.size();
    auto r = std::from_chars(token.data(), end, n);
    if (!integer_form(token) || r.ec != std::errc() || r.ptr != end) return std::nullopt;
    return n;
}

// A whole number the general path parses as an integer (int64, or uint64 past INT64_MAX)
// and writes back as the same digits.
bool canonical_integer(std::string_view token) {
    if (canonical_int64(token)) return true;
    std::uint64_t u = 0;
    const char* end = token.data() + token.size();
    auto r = std::from_chars(token.data(), end, u);
    return integer_form(token) && !token.starts_with('-') && r.ec == std::errc() && r.ptr == end;
}

// `I.F` with no exponent, I without a leading zero, F without a trailing zero, at most 15
// significant digits: canonical without converting it. Such a decimal is exactly the
// shortest text of its double (any 15-digit decimal reads back as itself), and to_chars
// writes it in this fixed form, not as `d.ddde±XX`, when that is no longer: always when I
// is not 0, and for `0.F` when F has at most one leading zero (`0.05`, not `0.005`).
bool plain_canonical_decimal(std::string_view token) {
    if (token.starts_with('-')) token.remove_prefix(1);
    const std::size_t dot = token.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == token.size()) return false;
    const std::string_view whole = token.substr(0, dot), fraction = token.substr(dot + 1);
    if (fraction.back() == '0' || fraction.find_first_of("eE") != std::string_view::npos) {
        return false;
    }
    if (whole == "0") {
        const std::size_t zeros = fraction.find_first_not_of('0');
        return zeros <= 1 && fraction.size() - zeros <= 15;
    }
    return whole[0] != '0' && whole.size() + fraction.size() <= 15;
}

// A number with a fraction or an exponent the general path keeps as a double and writes as
// this same text: the shortest form that reads back as it (std::to_chars), never zero
// (written `0`) and never a whole number in integer form (which becomes an int64).
bool canonical_double(std::string_view token) {
    if (plain_canonical_decimal(token)) return true;
    double d = 0;
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
    if (ec != std::errc() || end != token.data() + token.size()) return false;
    if (!std::isfinite(d) || d == 0.0) return false;
    char buf[32];
    auto [out_end, out_ec] = std::to_chars(buf, buf + sizeof buf, d);
    return out_ec == std::errc() && std::string_view(buf, out_end) == token;
}

}  // namespace

class canonical_event_reader {
  public:
    explicit canonical_event_reader(std::string_view body)
        : at_(body.data()),
          end_(body.data() + body.size()),
          members_(scratch_of_this_thread().members),
          sorted_(scratch_of_this_thread().sorted) {}

    // A whole publish body: one event and nothing after it.
    std::optional<event_input> body() {
        auto in = event_object();
        skip_whitespace();
        if (!in || at_ != end_) return std::nullopt;
        return in;
    }

    // A WebSocket publish frame: `op` ("publish"), an optional `id` and one `event`.
    std::optional<canonical_publish_frame> frame(std::size_t max_id_bytes) {
        canonical_publish_frame out;
        bool op = false, id = false, event = false;
        skip_whitespace();
        if (!take('{')) return std::nullopt;
        for (skip_whitespace();;) {
            std::string_view name, text;
            if (!member_name(name)) return std::nullopt;
            if (name == "op" && first_time(op) && string(text) && text == "publish") {
                // the only op read here
            } else if (name == "id" && first_time(id) && string(text) &&
                       text.size() <= max_id_bytes) {
                out.id = text;
            } else if (name == "event" && first_time(event)) {
                auto in = event_object();
                if (!in) return std::nullopt;
                out.event = std::move(*in);
            } else {
                return std::nullopt;  // `events`, another op, an unknown member, …
            }
            auto more = another('}', false);
            if (!more) return std::nullopt;
            if (!*more) break;
        }
        skip_whitespace();
        if (at_ != end_ || !op || !event) return std::nullopt;
        return out;
    }

    // A body refused halfway leaves its open objects' members behind.
    ~canonical_event_reader() { members_.clear(); }
    canonical_event_reader(const canonical_event_reader&) = delete;
    canonical_event_reader& operator=(const canonical_event_reader&) = delete;

  private:
    // For a member that may be given once: false when it was seen before.
    static bool first_time(bool& seen) { return !std::exchange(seen, true); }

    // The event object at at_, read up to its closing brace.
    std::optional<event_input> event_object() {
        event_input in;
        bool topic = false, key = false, id = false, ts = false, payload = false, headers = false;
        std::string payload_text;
        skip_whitespace();
        if (!take('{')) return std::nullopt;
        for (skip_whitespace();;) {
            std::string_view name, text;
            if (!member_name(name)) return std::nullopt;
            if (name == "topic" && first_time(topic) && string(text)) {
                in.topic = text;
            } else if (name == "key" && first_time(key) && string(text)) {
                in.key = text;
            } else if (name == "id" && first_time(id) && string(text)) {
                if (reserved_event_id(text)) return std::nullopt;  // refused by the general path
                in.id = std::string(text);
            } else if (name == "ts" && first_time(ts) && number(text)) {
                // An int64 as the general path reads it (validate_input refuses what is out
                // of range for a time).
                auto n = canonical_int64(text);
                if (!n) return std::nullopt;
                in.ts = ts_ms{*n};
            } else if (name == "payload" && first_time(payload)) {
                out_ = &payload_text;
                payload_text.reserve(static_cast<std::size_t>(end_ - at_));
                if (!value(1)) return std::nullopt;
            } else if (name == "headers" && first_time(headers)) {
                if (!header_object(in.headers)) return std::nullopt;
            } else {
                return std::nullopt;  // expect, a batch, a member given twice, …
            }
            auto more = another('}', false);
            if (!more) return std::nullopt;
            if (!*more) break;
        }
        if (!topic || !payload) return std::nullopt;
        if (auto ok = validate_input(in); !ok) return std::nullopt;
        in.payload = nullptr;
        in.payload_canonical = canonical_payload(std::move(payload_text));
        return in;
    }

    // A member of an object being read: its key, and where `"key":value` is in *out_.
    struct member {
        std::string_view name;
        std::size_t begin;
        std::size_t end;
    };

    const char* at_;
    const char* end_;
    std::string* out_ = nullptr;  // the payload's canonical text, while it is read
    // Of the objects being read, innermost last; and sort_members' scratch. Both kept by the
    // thread between bodies (scratch_of), so that reading one allocates nothing but the
    // payload's text.
    std::vector<member>& members_;
    std::string& sorted_;

    struct scratch {
        std::vector<member> members;
        std::string sorted;
    };
    static scratch& scratch_of_this_thread() {
        thread_local scratch s;
        return s;
    }

    // Puts the members from members_[first] on (the last object's, written in *out_ in the
    // order given) in key order, where they are; false when two keys are equal.
    bool sort_members(std::size_t first) {
        auto ms = std::span(members_).subspan(first);
        std::ranges::sort(ms, {}, &member::name);
        for (std::size_t i = 1; i < ms.size(); ++i) {
            if (ms[i - 1].name == ms[i].name) return false;
        }
        std::string& out = *out_;
        const std::size_t begin = std::ranges::min(ms, {}, &member::begin).begin;
        sorted_.clear();
        for (const member& m : ms) {
            if (!sorted_.empty()) sorted_.push_back(',');
            sorted_.append(out, m.begin, m.end - m.begin);
        }
        out.replace(begin, sorted_.size(), sorted_);
        return true;
    }

    bool at(char c) const { return at_ != end_ && *at_ == c; }
    bool take(char c) {
        if (!at(c)) return false;
        ++at_;
        return true;
    }
    void skip_whitespace() {
        while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
    }

    // `{"name":"value",…}`, every name and value a string without escapes. A name reserved
    // for prom, or given twice, goes the general way, which refuses the first and reads the
    // second as it reads any JSON object.
    bool header_object(headers_map& out) {
        if (!take('{')) return false;
        skip_whitespace();
        if (take('}')) return true;
        for (;;) {
            std::string_view name, text;
            if (!member_name(name) || !string(text)) return false;
            if (reserved_header_name(name)) return false;
            if (!out.emplace(name, text).second) return false;
            auto more = another('}', false);
            if (!more) return false;
            if (!*more) return true;
        }
    }

    // A member's name and its colon, whitespace around them skipped.
    bool member_name(std::string_view& name) {
        if (!string(name)) return false;
        skip_whitespace();
        if (!take(':')) return false;
        skip_whitespace();
        return true;
    }

    // After a member or an item: true when a comma says another follows (copied to the
    // payload when `copy`), false at `close`, nullopt for anything else.
    std::optional<bool> another(char close, bool copy) {
        skip_whitespace();
        if (take(',')) {
            if (copy) out_->push_back(',');
            skip_whitespace();
            return true;
        }
        if (take(close)) return false;
        return std::nullopt;
    }

    // Copies the '{' or '[' at at_ and what follows up to `close` if it closes at once
    // (`empty`); false when it would nest deeper than a payload may.
    bool open(char close, std::size_t depth, bool& empty) {
        if (depth > max_payload_depth) return false;
        out_->push_back(*at_++);
        skip_whitespace();
        empty = take(close);
        if (empty) out_->push_back(close);
        return true;
    }

    // A string without escapes, as valid UTF-8: its bytes between the quotes.
    bool string(std::string_view& text) {
        if (!take('"')) return false;
        const char* start = at_;
        while (at_ != end_) {
            switch (string_bytes[static_cast<unsigned char>(*at_)]) {
                case string_byte::plain:
                    ++at_;
                    continue;
                case string_byte::quote:
                    text = std::string_view(start, static_cast<std::size_t>(at_ - start));
                    ++at_;
                    return true;
                case string_byte::refused:
                    return false;
                case string_byte::multibyte: {
                    std::string_view rest(at_, static_cast<std::size_t>(end_ - at_));
                    auto c = utf8_char_at(rest, 0);
                    if (!c) return false;
                    at_ += c->length;
                    continue;
                }
            }
        }
        return false;
    }

    // A number token by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    bool number(std::string_view& token) {
        const char* start = at_;
        auto digits = [&] {
            const char* from = at_;
            while (at_ != end_ && *at_ >= '0' && *at_ <= '9') ++at_;
            return at_ != from;
        };
        take('-');
        if (!digits()) return false;
        if (take('.') && !digits()) return false;
        if (at('e') || at('E')) {
            ++at_;
            if (!take('+')) take('-');
            if (!digits()) return false;
        }
        token = std::string_view(start, static_cast<std::size_t>(at_ - start));
        return true;
    }

    // Copies the value at `at_` to *out_ if it is canonical already; `depth` counts the
    // objects and arrays it would open, the payload's own included (max_payload_depth).
    bool value(std::size_t depth) {
        if (at_ == end_) return false;
        std::string& out = *out_;
        switch (*at_) {
            case '{': {
                bool empty = false;
                if (!open('}', depth, empty)) return false;
                if (empty) return true;
                const std::size_t first_member = members_.size();
                bool in_order = true;
                for (;;) {
                    std::string_view name;
                    if (!member_name(name)) return false;
                    // canonical_json writes members in key order (bytes compared unsigned,
                    // as std::string_view compares); equal keys are left to the general path.
                    if (members_.size() > first_member && !(members_.back().name < name)) {
                        in_order = false;
                    }
                    const std::size_t m = members_.size();
                    members_.push_back({name, out.size(), 0});
                    out.push_back('"');
                    out.append(name);
                    out += "\":";
                    if (!value(depth + 1)) return false;
                    members_[m].end = out.size();
                    auto more = another('}', true);
                    if (!more) return false;
                    if (*more) continue;
                    if (!in_order && !sort_members(first_member)) return false;
                    members_.resize(first_member);
                    out.push_back('}');
                    return true;
                }
            }
            case '[': {
                bool empty = false;
                if (!open(']', depth, empty)) return false;
                if (empty) return true;
                for (;;) {
                    if (!value(depth + 1)) return false;
                    auto more = another(']', true);
                    if (!more) return false;
                    if (!*more) {
                        out.push_back(']');
                        return true;
                    }
                }
            }
            case '"': {
                std::string_view text;
                if (!string(text)) return false;
                out.push_back('"');
                out.append(text);
                out.push_back('"');
                return true;
            }
            case 't':
                return word("true");
            case 'f':
                return word("false");
            case 'n':
                return word("null");
            default: {
                std::string_view token;
                if (!number(token)) return false;
                const bool whole = token.find_first_of(".eE") == std::string_view::npos;
                if (!(whole ? canonical_integer(token) : canonical_double(token))) return false;
                out.append(token);
                return true;
            }
        }
    }

    bool word(std::string_view w) {
        if (static_cast<std::size_t>(end_ - at_) < w.size() ||
            std::memcmp(at_, w.data(), w.size()) != 0) {
            return false;
        }
        at_ += w.size();
        out_->append(w);
        return true;
    }
};

std::optional<event_input> read_canonical_event(std::string_view body) {
    return canonical_event_reader(body).body();
}

std::optional<canonical_publish_frame> read_canonical_publish_frame(std::string_view frame,
                                                                    std::size_t max_id_bytes) {
    return canonical_event_reader(frame).frame(max_id_bytes);
}

}  // namespace prom
