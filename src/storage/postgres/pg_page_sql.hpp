// A page's byte bound on PostgreSQL (page_bytes.hpp): libpq holds a whole result in memory
// before a row is read, so the bound must cut the page in the server. The page's query is
// wrapped so that a row is sent only while the rows two before it and earlier stay within
// `max_bytes`: every row up to the first that passes the bound (and the second, when the
// first row alone passes it) reaches the client, whose count then fails the read as on the
// other backends, and at most one row more.
#pragma once

#include <string>

namespace prom::storage::postgres {

// `page`: the page's SELECT (with its LIMIT); `row_bytes`: the SQL of a row's counted bytes;
// `order`: the page's ORDER BY list; `max_param`: the parameter number of max_bytes. The
// running sum is a window over the page's own rows, so an OFFSET does not count.
inline std::string bounded_page_sql(const std::string& page, const char* row_bytes,
                                    const char* order, std::size_t max_param) {
    return std::string("SELECT * FROM (SELECT *, coalesce(sum(") + row_bytes + ") OVER (ORDER BY " +
           order +
           " ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING), 0) AS prom_bytes_before FROM (" +
           page + ") page) bounded WHERE prom_bytes_before <= $" + std::to_string(max_param) +
           " ORDER BY " + order;
}

}  // namespace prom::storage::postgres
