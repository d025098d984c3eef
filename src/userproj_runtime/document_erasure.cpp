#include "userproj_runtime/document_erasure.hpp"

#include <algorithm>

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

result<bool> erase_document(store& s, std::string_view logical, std::string_view key) {
    auto entries = load_registry(s);
    if (!entries) return std::unexpected(entries.error());
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    bool any = false;
    for (const auto& physical : physical_collections_of(*entries, logical)) {
        auto gone = (*txn)->erase_one(physical, key);
        if (!gone) return std::unexpected(gone.error());
        any = any || *gone;
    }
    if (!any) return false;  // nothing to commit
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
    return true;
}

}  // namespace prom::userproj
