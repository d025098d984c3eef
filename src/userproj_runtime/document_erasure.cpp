#include "userproj_runtime/document_erasure.hpp"

#include <algorithm>
#include <cctype>

#include "docs/reserved.hpp"

namespace prom::userproj {

std::vector<std::string> physical_collections_of(const std::vector<registry_entry>& entries,
                                                 std::string_view logical) {
    std::vector<std::string> out{std::string(logical)};
    auto add = [&](const collection_map& m) {
        auto it = m.find(logical);
        if (it != m.end() && std::ranges::find(out, it->second) == out.end()) {
            out.push_back(it->second);
        }
    };
    for (const auto& e : entries) {
        add(e.collections);
        if (e.rebuild) add(e.rebuild->collections);
    }
    return out;
}

bool is_shadow_of(std::string_view physical, std::string_view logical) {
    constexpr std::string_view prefix = docs::reserved_collection_prefix;
    if (!physical.starts_with(prefix)) return false;
    physical.remove_prefix(prefix.size());
    const auto dot = physical.find('.');
    if (dot == 0 || dot == std::string_view::npos) return false;
    // A token is hex digits (fresh_token in registry.cpp): prom's other collections
    // ("_prom.schemas", …) are never taken for a shadow.
    const auto token = physical.substr(0, dot);
    return std::ranges::all_of(
               token, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }) &&
           physical.substr(dot + 1) == logical;
}

result<bool> erase_document(store& s, std::string_view logical, std::string_view key,
                            const document_precondition* precondition) {
    auto entries = load_registry(s);
    if (!entries) return std::unexpected(entries.error());
    auto copies = physical_collections_of(*entries, logical);
    auto logged = s.logged_collections(docs::reserved_collection_prefix);
    if (!logged) return std::unexpected(logged.error());
    for (auto& c : *logged) {
        if (is_shadow_of(c, logical) && std::ranges::find(copies, c) == copies.end()) {
            copies.push_back(std::move(c));
        }
    }
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    if (precondition) {
        auto served = (*txn)->find_one(precondition->served, key);
        if (!served) return std::unexpected(served.error());
        if (*served && !precondition->holds(**served)) {
            return fail(errc::precondition_failed,
                        "the document is not as the request's If-Match, If-Unmodified-Since or "
                        "If-None-Match requires: nothing was deleted");
        }
    }
    bool any = false;
    for (const auto& physical : copies) {
        auto gone = (*txn)->erase_one(physical, key);
        if (!gone) return std::unexpected(gone.error());
        any = any || *gone;
    }
    if (!any) return false;  // nothing to commit
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
    return true;
}

}  // namespace prom::userproj
