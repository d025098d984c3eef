// Time parsing (prom::parse_time): epoch milliseconds or ISO-8601 with a zone. Any text
// either fails cleanly or gives a time; an ISO time that parsed must parse again to the same
// value after a round trip through its epoch-milliseconds form.
#include <string>

#include "fuzz_support.hpp"
#include "prom/event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
    auto t = parse_time(fuzz::as_text(data, size));
    if (!t) return 0;
    auto again = parse_time(to_string(*t));
    fuzz::require(again.has_value() && *again == *t);
    return 0;
}
