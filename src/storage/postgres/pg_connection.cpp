#include "storage/postgres/pg_connection.hpp"

#include <charconv>
#include <cstring>

#include "storage/common.hpp"
#include "storage/postgres/pg_url.hpp"

namespace prom::storage::postgres {

namespace {

// Maps a failed statement to prom's codes. What the caller may retry matters most:
// unavailable = the server or connection is away (retry later, on a new connection);
// conflict = a deadlock, serialization failure or lock race (retry the transaction).
errc code_of(const char* state, bool connection_bad) {
    if (connection_bad || !state || std::strlen(state) != 5) return errc::unavailable;
    std::string_view s(state);
    auto cls = s.substr(0, 2);
    if (cls == "08" || cls == "53" || cls == "57") return errc::unavailable;
    if (s == "55P03") return errc::unavailable;  // lock_timeout: busy, like SQLITE_BUSY
    // idle_in_transaction_session_timeout ended the session (store_options): a fresh
    // connection works.
    if (s == "25P03") return errc::unavailable;
    if (cls == "40" || cls == "23") return errc::conflict;
    if (cls == "22") return errc::invalid_argument;
    if (s == "XX001" || s == "XX002") return errc::corrupt;
    if (cls == "42") return errc::internal;  // our SQL is wrong: a bug
    return errc::io_error;
}

// A connection refused for a reason that waiting cannot heal: a wrong password (SQLSTATE
// 28P01), an unknown role or no pg_hba.conf entry (28000), an unknown database (3D000).
// libpq gives a failed connection no result to read the SQLSTATE from, only the server's
// message, so the message is matched (not the codes as text: "port 28000" is no error).
// These fail fast with io_error instead of `unavailable`, which callers retry (db_wait).
bool is_permanent_connect_failure(std::string_view m) {
    for (std::string_view needle :
         {"password authentication failed", "authentication failed for user", "does not exist",
          "no pg_hba.conf entry", "no password supplied", "is not permitted to log in",
          "permission denied for database"}) {
        if (m.find(needle) != std::string_view::npos) return true;
    }
    return false;
}

void ignore_notice(void*, const char*) {}  // "already exists, skipping" and the like

// prom_append's refusal of an event below its topic's horizon (pg_schema.hpp): DETAIL is
// [topic, ts, horizon], made into the error every backend reports (storage/common.hpp).
constexpr std::string_view below_horizon_sqlstate = "PR410";

std::unexpected<error> below_horizon_error(const char* detail) {
    auto v = parse_json(detail ? std::string_view(detail) : std::string_view());
    if (v && v->is_array() && v->get_array().size() == 3 && v->get_array()[0].is_string() &&
        v->get_array()[1].is_int64() && v->get_array()[2].is_int64()) {
        const auto& a = v->get_array();
        return below_horizon(a[0].get_string(), ts_ms{a[1].get_int64()}, ts_ms{a[2].get_int64()});
    }
    return fail(errc::gone, "an event is below its topic's horizon");
}

}  // namespace

std::int64_t rows::int64(int row, int col) const {
    auto t = text(row, col);
    std::int64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

std::int64_t rows::affected() const {
    const char* n = PQcmdTuples(r_.get());
    std::int64_t v = 0;
    std::from_chars(n, n + std::strlen(n), v);
    return v;
}

result<std::unique_ptr<connection>> connection::open(const std::string& conninfo,
                                                     const std::vector<std::string>& setup) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (!c) return fail(errc::unavailable, "cannot connect to PostgreSQL: out of memory");
    std::unique_ptr<connection> conn(new connection(c));
    if (PQstatus(c) != CONNECTION_OK) {
        std::string why = libpq_one_line(PQerrorMessage(c));
        // libpq checks option values (sslmode, connect_timeout, …) only when it connects:
        // "invalid sslmode value: …" is the URL's fault, bad input that no wait heals.
        if (why.starts_with("invalid ") ||
            why.find("invalid integer value") != std::string::npos) {  // connect_timeout=abc
            return fail(errc::invalid_argument, "bad PostgreSQL URL: " + why);
        }
        return fail(is_permanent_connect_failure(why) ? errc::io_error : errc::unavailable,
                    "cannot connect to PostgreSQL: " + why);
    }
    PQsetNoticeProcessor(c, ignore_notice, nullptr);
    for (const auto& sql : setup) {
        if (auto r = conn->exec(sql); !r) return std::unexpected(r.error());
    }
    return conn;
}

connection::~connection() { PQfinish(conn_); }

bool connection::in_transaction() const {
    auto s = PQtransactionStatus(conn_);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

result<rows> connection::check(PGresult* r, std::string_view context) {
    auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return rows(r);
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    if (state && std::string_view(state) == below_horizon_sqlstate) {
        auto gone = below_horizon_error(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
        PQclear(r);
        if (!first_failure_) first_failure_ = gone.error();
        return gone;
    }
    std::string msg(context);
    msg += ": ";
    msg += libpq_one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    if (msg.ends_with(": ")) msg += libpq_one_line(PQerrorMessage(conn_));
    errc code = code_of(state, PQstatus(conn_) != CONNECTION_OK);
    if (r) PQclear(r);
    if (!first_failure_) first_failure_ = error{code, msg};
    return fail(code, std::move(msg));
}

result<rows> connection::exec(std::string_view sql, std::string_view context) {
    std::string text(sql);
    return check(PQexec(conn_, text.c_str()),
                 context.empty() ? std::string_view(text).substr(0, 60) : context);
}

result<rows> connection::query(std::string_view sql, std::initializer_list<param> params) {
    return query(sql, std::span<const param>(params.begin(), params.size()));
}

namespace {
struct raw_params {
    std::vector<const char*> values;
    std::vector<int> lengths;
    bool has_nul = false;
    explicit raw_params(std::span<const param> ps) {
        for (const auto& p : ps) {
            values.push_back(p.c_str());
            lengths.push_back(p.size());
            // libpq sends text parameters as C strings: a NUL would silently cut the value.
            if (p.c_str() && std::memchr(p.c_str(), 0, static_cast<std::size_t>(p.size()))) {
                has_nul = true;
            }
        }
    }
};

std::unexpected<error> nul_error() {
    return fail(errc::invalid_argument, "PostgreSQL text cannot hold NUL characters");
}
}  // namespace

result<rows> connection::query(std::string_view sql, std::span<const param> params) {
    std::string key(sql);
    auto it = prepared_.find(key);
    if (it == prepared_.end()) {
        std::string name = "prom_" + std::to_string(prepared_.size());
        auto r = check(PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr),
                       "prepare " + key.substr(0, 60));
        if (!r) return std::unexpected(r.error());
        it = prepared_.emplace(std::move(key), std::move(name)).first;
    }
    raw_params p(params);
    if (p.has_nul) return nul_error();
    return check(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                p.values.data(), p.lengths.data(), nullptr, 0),
                 std::string_view(it->first).substr(0, 60));
}

result<rows> connection::query_once(std::string_view sql, std::span<const param> params) {
    std::string text(sql);
    raw_params p(params);
    if (p.has_nul) return nul_error();
    return check(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                              p.values.data(), p.lengths.data(), nullptr, 0),
                 text.substr(0, 60));
}

std::string text_array(std::span<const std::string_view> items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

std::string int_array(std::span<const std::int64_t> items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(items[i]);
    }
    out += '}';
    return out;
}

std::string quote_ident(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace prom::storage::postgres
