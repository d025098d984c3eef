// RFC 7396 merge patch (src/timetravel/reducers.cpp) and the document update operators
// (src/docs/update.*). The input is two JSON texts separated by a NUL byte: a target and a
// patch/update. Properties: merge_patch is idempotent (RFC 7396 §1: applying a patch twice
// gives the same result as once); an update that succeeds gives a document whose stored form
// parses again.
#include <string_view>

#include "docs/update.hpp"
#include "fuzz_support.hpp"
#include "prom/timetravel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace prom;
    std::string_view text = fuzz::as_text(data, size);
    auto nul = text.find('\0');
    if (nul == std::string_view::npos) return 0;
    auto target = parse_json(text.substr(0, nul));
    auto patch = parse_json(text.substr(nul + 1));
    if (!target || !patch) return 0;

    json::value once = merge_patch(*target, *patch);
    json::value twice = merge_patch(once, *patch);
    fuzz::require(once == twice);

    if (!patch->is_object()) return 0;
    const json::object* current = target->is_object() ? &target->get_object() : nullptr;
    auto updated = docs::apply_update(current, patch->get_object(), "k", ts_ms{1700000000000});
    if (!updated) return 0;
    auto stored = docs::make_document("fuzz", "k", *updated);
    fuzz::require(parse_json(stored.body).has_value());
    return 0;
}
