// A small RAII layer over libpq: connections with a prepared-statement cache, results as
// rows of text, SQLSTATEs mapped to prom::errc.
//
// A connection is used by one thread at a time (its owner, or whoever holds it from the
// pool). All values travel in text format, so the stored bytes are exactly the canonical
// JSON the other backends store.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "prom/error.hpp"
#include "prom/seq_and_time.hpp"
#include "storage/row_codec.hpp"

namespace prom::storage::postgres {

// One query parameter in text form, or SQL NULL.
class param {
  public:
    param(std::string_view v) : text_(v) {}
    param(const std::string& v) : text_(v) {}
    param(const char* v) : text_(v) {}
    param(std::int64_t v) : text_(std::to_string(v)) {}
    param(seq_t v) : text_(to_string(v)) {}
    param(ts_ms v) : text_(to_string(v)) {}
    param(std::nullopt_t) {}

    const char* c_str() const { return text_ ? text_->c_str() : nullptr; }
    int size() const { return text_ ? static_cast<int>(text_->size()) : 0; }

  private:
    std::optional<std::string> text_;
};

class row_view;

// The result of one statement that succeeded. Columns are read as text.
class rows {
  public:
    explicit rows(PGresult* r) : r_(r) {}

    int size() const { return PQntuples(r_.get()); }
    bool empty() const { return size() == 0; }
    bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
    std::string_view text(int row, int col) const {
        return {PQgetvalue(r_.get(), row, col),
                static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
    }
    std::int64_t int64(int row, int col) const;
    std::int64_t affected() const;  // rows inserted/updated/deleted
    std::string_view command() const { return PQcmdStatus(r_.get()); }  // "COMMIT", …
    row_view row(int i) const;  // for the shared decoders (storage/row_codec.hpp)

  private:
    struct clear {
        void operator()(PGresult* r) const { PQclear(r); }
    };
    std::unique_ptr<PGresult, clear> r_;
};

// Row `i` of a result, as a row_reader. Lives no longer than the rows it views.
class row_view final : public row_reader {
  public:
    row_view(const rows& r, int i) : r_(r), i_(i) {}
    std::string_view text(int col) const override { return r_.text(i_, col); }
    std::int64_t int64(int col) const override { return r_.int64(i_, col); }
    bool is_null(int col) const override { return r_.is_null(i_, col); }

  private:
    const rows& r_;
    int i_;
};

inline row_view rows::row(int i) const { return row_view(*this, i); }

class connection {
  public:
    // Connects with a libpq conninfo (URI form) and runs `setup` (session settings such
    // as search_path). unavailable when the server cannot be reached.
    static result<std::unique_ptr<connection>> open(const std::string& conninfo,
                                                    const std::vector<std::string>& setup);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // A simple query: no parameters, may hold several statements; the last one's rows.
    // Errors name `context`, or the start of the SQL.
    result<rows> exec(std::string_view sql, std::string_view context = {});
    // Prepared once per connection (the SQL text is the cache key), then executed.
    result<rows> query(std::string_view sql, std::initializer_list<param> params = {});
    result<rows> query(std::string_view sql, std::span<const param> params);
    // Planned for these values each time: for SQL built at run time (find, DDL).
    result<rows> query_once(std::string_view sql, std::span<const param> params);

    // The server went away or the connection broke: throw this connection away.
    bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
    // Inside a transaction block (or a failed one).
    bool in_transaction() const;
    // Inside a transaction block that a failed statement aborted: it can only roll back.
    bool transaction_failed() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }
    // The first statement that failed since forget_failures(): what aborted a transaction.
    const std::optional<error>& first_failure() const { return first_failure_; }
    void forget_failures() { first_failure_.reset(); }
    PGconn* raw() const { return conn_; }

  private:
    explicit connection(PGconn* c) : conn_(c) {}
    result<rows> check(PGresult* r, std::string_view context);

    PGconn* conn_;
    std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
    std::optional<error> first_failure_;
};

// A LIMIT/OFFSET count: bigint, so SIZE_MAX ("no limit") is clamped instead of wrapping
// to a negative number that PostgreSQL refuses.
inline std::int64_t count_param(std::size_t n) {
    return n > static_cast<std::size_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(n);
}

// SQL array literals ('{"a","b"}', '{1,2}') for unnest(), so a batch is one round trip.
std::string text_array(std::span<const std::string_view> items);
std::string int_array(std::span<const std::int64_t> items);

// A double-quoted SQL identifier.
std::string quote_ident(std::string_view name);

}  // namespace prom::storage::postgres
