#include "storage/postgres/pg_url.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace prom::storage::postgres {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

result<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        int hi = i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) return fail(errc::invalid_argument, "bad %-escape in database URL");
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

bool valid_schema(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    for (char c : s) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

// What is wrong with the URL or connection string itself, which no wait can heal (found
// from outside: `?bogus=1` and port 99999 were "unavailable", retried for db_wait): libpq's
// parser, and each port (libpq checks their range only when it connects).
std::optional<std::string> conninfo_problem(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
    if (!options) {
        std::string why = err ? libpq_one_line(err) : "cannot parse it";
        PQfreemem(err);
        return why;
    }
    std::optional<std::string> problem;
    for (PQconninfoOption* o = options; o->keyword != nullptr && !problem; ++o) {
        if (std::string_view(o->keyword) != "port" || o->val == nullptr) continue;
        std::string_view ports = o->val;  // one per host: "5432,5433"
        while (!problem) {
            auto comma = ports.find(',');
            std::string_view one = ports.substr(0, comma);
            int n = 0;
            auto [end, ec] = std::from_chars(one.data(), one.data() + one.size(), n);
            if (!one.empty() &&
                (ec != std::errc{} || end != one.data() + one.size() || n < 1 || n > 65535)) {
                problem = "invalid port number: \"" + std::string(one) + "\" (1 to 65535)";
            }
            if (comma == std::string_view::npos) break;
            ports.remove_prefix(comma + 1);
        }
    }
    PQconninfoFree(options);
    return problem;
}

}  // namespace

std::string libpq_one_line(const char* text) {
    std::string m;
    for (const char* p = text ? text : ""; *p != '\0'; ++p) {
        if (*p == '\n' || *p == '\t') {
            if (!m.empty() && m.back() != ' ') m.push_back(' ');
        } else {
            m.push_back(*p);
        }
    }
    while (!m.empty() && m.back() == ' ') m.pop_back();
    return m;
}

result<pg_target> parse_pg_url(std::string_view url) {
    if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
        return fail(errc::invalid_argument, "not a PostgreSQL URL");
    }
    pg_target t{std::string(url.substr(0, url.find('?'))), "public"};
    std::vector<std::string_view> kept;
    // Defaults for what the URL leaves out: fail instead of hanging on an unreachable host,
    // and notice a peer that died without a reset within ~30 s.
    std::vector<std::pair<std::string_view, std::string_view>> defaults{
        {"connect_timeout", "connect_timeout=5"},
        {"keepalives_idle", "keepalives_idle=15"},
        {"keepalives_interval", "keepalives_interval=5"},
        {"keepalives_count", "keepalives_count=3"},
    };
    if (auto q = url.find('?'); q != std::string_view::npos) {
        std::string_view rest = url.substr(q + 1);
        while (!rest.empty()) {
            auto amp = rest.find('&');
            std::string_view item = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
            if (item.empty()) continue;
            std::string_view name = item.substr(0, item.find('='));
            if (name == "schema") {
                auto v = percent_decode(item.substr(std::min(item.size(), name.size() + 1)));
                if (!v) return std::unexpected(v.error());
                if (!valid_schema(*v)) {
                    return fail(errc::invalid_argument, "bad schema '" + *v +
                                                            "' in database URL: use [A-Za-z0-9_], "
                                                            "at most 63 characters");
                }
                t.schema = *v;
                continue;
            }
            std::erase_if(defaults, [&](auto& d) { return d.first == name; });
            kept.push_back(item);
        }
    }
    for (auto& d : defaults) kept.push_back(d.second);
    for (std::size_t i = 0; i < kept.size(); ++i) {
        t.conninfo += i == 0 ? '?' : '&';
        t.conninfo += kept[i];
    }
    if (auto problem = conninfo_problem(t.conninfo)) {
        return fail(errc::invalid_argument, "bad PostgreSQL URL: " + *problem);
    }
    return t;
}

}  // namespace prom::storage::postgres
