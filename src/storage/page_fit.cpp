// scan_fitting, scan_key_by_time_fitting, find_fitting and changes_fitting (prom/store.hpp): a
// page read again with half the limit while it passes its byte bound.
#include "prom/store.hpp"

namespace prom {

namespace {

// Reads q; while its page passes the byte bound and holds more than one row, halves `limit`
// (a field of q) and reads again.
template <class Query, class Read>
auto read_fitting(Query& q, std::size_t& limit, Read read) {
    for (;;) {
        auto page = read(q);
        if (page || page.error().code != errc::too_large || limit <= 1) return page;
        limit /= 2;
    }
}

// The event reads, whose limit is optional: one without a limit that does not fit starts again
// from 1024 rows.
template <class Query, class Read>
result<std::vector<event>> read_events_fitting(Query& q, Read read) {
    if (!q.limit) {
        auto page = read(q);
        if (page || page.error().code != errc::too_large) return page;
        q.limit = 1024;
    }
    return read_fitting(q, *q.limit, read);
}

}  // namespace

result<std::vector<event>> scan_fitting(store& s, scan_query& q) {
    return read_events_fitting(q, [&s](const scan_query& sq) { return s.scan(sq); });
}

result<std::vector<event>> scan_key_by_time_fitting(store& s, key_time_query& q) {
    return read_events_fitting(q,
                               [&s](const key_time_query& kq) { return s.scan_key_by_time(kq); });
}

result<std::vector<document>> find_fitting(store& s, find_query& q) {
    return read_fitting(q, q.limit, [&s](const find_query& fq) { return s.find(fq); });
}

result<std::vector<document_change>> changes_fitting(store& s, change_query& q) {
    return read_fitting(q, q.limit, [&s](const change_query& cq) { return s.changes(cq); });
}

}  // namespace prom
