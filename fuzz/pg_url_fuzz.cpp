// PostgreSQL URL parsing (src/storage/postgres/pg_url.*): any text either fails cleanly or
// yields a conninfo for libpq and a schema name that obeys the documented rule.
#include "fuzz_support.hpp"
#include "storage/postgres/pg_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
    auto parsed = storage::postgres::parse_pg_url(fuzz::as_text(data, size));
    if (!parsed) return 0;
    const auto& schema = parsed->schema;
    fuzz::require(!schema.empty() && schema.size() <= 63);
    for (char c : schema) {
        fuzz::require((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_');
    }
    fuzz::require(!parsed->conninfo.empty());
    return 0;
}
