// The /list query parser (src/http/list_query.*): any query either fails cleanly or gives
// limits inside the documented bounds and filters with valid field names.
#include "docs/update.hpp"
#include "fuzz_support.hpp"
#include "http/list_query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
    find_query q;
    if (!http::parse_list_query(fuzz::as_text(data, size), q)) return 0;
    fuzz::require(q.limit >= 1 && q.limit <= http::max_list_limit);
    for (const auto& [name, value] : q.equals) fuzz::require(docs::valid_field_name(name));
    return 0;
}
