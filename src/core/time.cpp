// Time parsing for the CLI and HTTP queries: epoch milliseconds or ISO-8601 with a zone.
#include <cctype>
#include <charconv>

#include "core/civil_time.hpp"
#include "core/event_times.hpp"
#include "prom/event.hpp"

namespace prom {

namespace {

bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    pos += n;
    out = v;
    return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos < s.size() && s[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

// True when `utc_second` (seconds since the epoch) is 23:59:59 UTC on June 30 or
// December 31, the only seconds a leap second can follow.
bool is_leap_second_slot(std::int64_t utc_second) {
    std::int64_t days = utc_second >= 0 ? utc_second / 86400 : (utc_second - 86399) / 86400;
    if (utc_second - days * 86400 != 86399) return false;
    civil_date next = civil_from_days(days + 1);
    return next.day == 1 && (next.month == 7 || next.month == 1);
}

}  // namespace

namespace {

result<ts_ms> parse_any_time(std::string_view s) {
    auto bad = [&] {
        return fail(errc::invalid_argument,
                    "bad time '" + std::string(s) +
                        "': use epoch milliseconds or ISO-8601 with a zone, e.g. "
                        "2026-11-26T14:03:00Z");
    };
    if (s.empty()) return bad();
    bool all_digits = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!(std::isdigit(static_cast<unsigned char>(s[i])) || (i == 0 && s[i] == '-'))) {
            all_digits = false;
        }
    }
    if (all_digits) {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || p != s.data() + s.size()) return bad();
        return ts_ms{v};
    }
    std::size_t pos = 0;
    int year, month, day, hour, minute, second = 0, millis = 0;
    if (!read_digits(s, pos, 4, year) || !expect(s, pos, '-') || !read_digits(s, pos, 2, month) ||
        !expect(s, pos, '-') || !read_digits(s, pos, 2, day)) {
        return bad();
    }
    if (!(expect(s, pos, 'T') || expect(s, pos, 't') || expect(s, pos, ' '))) return bad();
    if (!read_digits(s, pos, 2, hour) || !expect(s, pos, ':') || !read_digits(s, pos, 2, minute)) {
        return bad();
    }
    if (expect(s, pos, ':')) {
        if (!read_digits(s, pos, 2, second)) return bad();
        if (expect(s, pos, '.') || expect(s, pos, ',')) {
            // Up to millisecond precision counts; further digits are accepted and truncated.
            int scale = 100, digits = 0;
            while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
                if (scale > 0) millis += (s[pos] - '0') * scale;
                scale /= 10;
                ++pos;
                ++digits;
            }
            if (digits == 0) return bad();
        }
    }
    int offset_min = 0;
    if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        int oh, om = 0;
        if (!read_digits(s, pos, 2, oh)) return bad();
        // "+01:30" or "+0130"; "+01" alone has no minutes.
        const bool minutes = expect(s, pos, ':') || pos < s.size();
        if (minutes && !read_digits(s, pos, 2, om)) return bad();
        if (oh > 23 || om > 59) return bad();
        offset_min = sign * (oh * 60 + om);
    } else {
        return fail(errc::invalid_argument,
                    "time '" + std::string(s) + "' has no timezone: add Z or +HH:MM");
    }
    if (pos != s.size()) return bad();
    if (month < 1 || month > 12 || day < 1 ||
        static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(month)) ||
        hour > 23 || minute > 59 || second > 60) {
        return bad();
    }
    std::int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    if (second == 60) {
        // A leap second exists only as 23:59:60 UTC on the last day of June or December
        // (in any zone: the offset is applied first). It maps to the last millisecond of
        // 23:59:59, so times stay in order and on the day they name (docs/time-travel.md).
        std::int64_t utc = days * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 +
                           59 - std::int64_t{offset_min} * 60;
        if (!is_leap_second_slot(utc)) {
            return fail(errc::invalid_argument,
                        "bad time '" + std::string(s) +
                            "': second 60 exists only at 23:59:60 UTC on June 30 or December 31");
        }
        return ts_ms{utc * 1000 + 999};
    }
    std::int64_t secs = days * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 +
                        second - std::int64_t{offset_min} * 60;
    return ts_ms{secs * 1000 + millis};
}

}  // namespace

// Only instants an event can have (docs/events.md): before 1970 or after 9999 nothing can
// be found, and a query for one is a mistake better said than answered with "nothing".
result<ts_ms> parse_time(std::string_view s) {
    auto t = parse_any_time(s);
    if (!t) return t;
    if (t->value < 0 || t->value > last_event_ms) {
        return fail(errc::invalid_argument,
                    "time '" + std::string(s) +
                        "' is outside the times events can have (1970-01-01T00:00:00Z to "
                        "9999-12-31T23:59:59.999Z, 0 to 253402300799999 ms)");
    }
    return t;
}

}  // namespace prom
