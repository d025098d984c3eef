#include "storage/change_log.hpp"

namespace prom::storage {

std::vector<collection_changes> changes_to_log(const changed_documents& working_set) {
    std::vector<collection_changes> out;
    // The map is ordered by (collection, key): each collection's documents are adjacent.
    for (const auto& [k, d] : working_set) {
        if (out.empty() || out.back().collection != k.first) {
            out.push_back({k.first, {}});
        }
        out.back().docs.push_back(&d);
    }
    return out;
}

document deleted_document(std::string_view collection, std::string_view key) {
    document d;
    d.collection = collection;
    d.key = key;
    d.ts = now_ms();
    d.deleted = true;
    return d;
}

}  // namespace prom::storage
