#include "http/http_date.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

#include "core/civil_time.hpp"

namespace prom::http {

namespace {

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void put2(std::string& out, int v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
}

// A tiny cursor over the header text; every reader fails softly.
struct reader {
    std::string_view s;
    bool ok = true;

    bool lit(std::string_view l) {
        if (!ok || s.substr(0, l.size()) != l) return ok = false;
        s.remove_prefix(l.size());
        return true;
    }
    int num(std::size_t min_digits, std::size_t max_digits) {
        if (!ok) return 0;
        std::size_t n = 0;
        while (n < s.size() && n < max_digits && s[n] >= '0' && s[n] <= '9') ++n;
        if (n < min_digits) {
            ok = false;
            return 0;
        }
        int v = 0;
        std::from_chars(s.data(), s.data() + n, v);
        s.remove_prefix(n);
        return v;
    }
    int month() {
        if (!ok || s.size() < 3) {
            ok = false;
            return 0;
        }
        for (std::size_t i = 0; i < month_names.size(); ++i) {
            if (s.substr(0, 3) == month_names[i]) {
                s.remove_prefix(3);
                return static_cast<int>(i) + 1;
            }
        }
        ok = false;
        return 0;
    }
    void skip_word() {  // a day name, short or long
        while (!s.empty() && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) {
            s.remove_prefix(1);
        }
    }
};

std::optional<std::int64_t> to_epoch(std::int64_t year, int mon, int day, int h, int m, int sec) {
    if (mon < 1 || mon > 12 || day < 1 ||
        static_cast<unsigned>(day) > days_in_month(year, static_cast<unsigned>(mon)) || h > 23 ||
        m > 59 || sec > 60) {
        return std::nullopt;
    }
    return days_from_civil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
           std::int64_t{h} * 3600 + std::int64_t{m} * 60 + sec;
}

}  // namespace

std::string format_http_date(std::int64_t epoch_seconds) {
    // IMF-fixdate has four year digits: a time outside 1970..9999 (a document's `_ts` may be
    // any integer) is written as the nearest one it can hold, never as broken text.
    constexpr std::int64_t last_second_of_9999 = 253402300799;
    std::time_t t =
        static_cast<std::time_t>(std::clamp<std::int64_t>(epoch_seconds, 0, last_second_of_9999));
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::string out;
    out.reserve(29);
    out += day_names[static_cast<std::size_t>(tm.tm_wday)];
    out += ", ";
    put2(out, tm.tm_mday);
    out.push_back(' ');
    out += month_names[static_cast<std::size_t>(tm.tm_mon)];
    out.push_back(' ');
    int year = tm.tm_year + 1900;
    put2(out, year / 100);
    put2(out, year % 100);
    out.push_back(' ');
    put2(out, tm.tm_hour);
    out.push_back(':');
    put2(out, tm.tm_min);
    out.push_back(':');
    put2(out, tm.tm_sec);
    out += " GMT";
    return out;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
    auto comma = text.find(',');
    reader r{text};
    if (comma != std::string_view::npos) {
        r.skip_word();
        r.lit(", ");
        if (comma == 3) {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            int day = r.num(2, 2);
            r.lit(" ");
            int mon = r.month();
            r.lit(" ");
            int year = r.num(4, 4);
            r.lit(" ");
            int h = r.num(2, 2);
            r.lit(":");
            int m = r.num(2, 2);
            r.lit(":");
            int s = r.num(2, 2);
            r.lit(" GMT");
            if (!r.ok || !r.s.empty()) return std::nullopt;
            return to_epoch(year, mon, day, h, m, s);
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: RFC 9110 5.6.7 rule)
        int day = r.num(2, 2);
        r.lit("-");
        int mon = r.month();
        r.lit("-");
        int yy = r.num(2, 2);
        r.lit(" ");
        int h = r.num(2, 2);
        r.lit(":");
        int m = r.num(2, 2);
        r.lit(":");
        int s = r.num(2, 2);
        r.lit(" GMT");
        if (!r.ok || !r.s.empty()) return std::nullopt;
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        int century = (tm.tm_year + 1900) / 100 * 100;
        int year = century + yy;
        if (year > tm.tm_year + 1900 + 50) year -= 100;
        return to_epoch(year, mon, day, h, m, s);
    }
    // asctime: Sun Nov  6 08:49:37 1994
    r.skip_word();
    r.lit(" ");
    int mon = r.month();
    r.lit(" ");
    if (!r.s.empty() && r.s[0] == ' ') r.s.remove_prefix(1);
    int day = r.num(1, 2);
    r.lit(" ");
    int h = r.num(2, 2);
    r.lit(":");
    int m = r.num(2, 2);
    r.lit(":");
    int s = r.num(2, 2);
    r.lit(" ");
    int year = r.num(4, 4);
    if (!r.ok || !r.s.empty()) return std::nullopt;
    return to_epoch(year, mon, day, h, m, s);
}

}  // namespace prom::http
