// Erasing one document of a collection (docs/retention.md, "Erasure"), wherever its copies
// are: the collection under its own name, the shadow a swap serves it from, a pending
// rebuild's shadow, what deleted definitions last mapped it to, and every earlier rebuild's
// shadow (`_prom.<token>.<collection>`, found in the store's change logs: the registry
// forgets a shadow once a later swap replaces it, and an abandoned rebuild's shadow too).
// `DELETE /collections/{c}/docs/{key}` and `prom doc rm` both use it (the CLI deleted from
// the unswapped name while clients read the shadow, and the HTTP route left the copy under
// the old name).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/store.hpp"
#include "userproj_runtime/registry.hpp"

namespace prom::userproj {

// The physical collections holding `logical`'s documents per the registry, `logical` first.
std::vector<std::string> physical_collections_of(const std::vector<registry_entry>& entries,
                                                 std::string_view logical);

// Whether `physical` is a rebuild's shadow of `logical`: "_prom.<token>.<logical>".
bool is_shadow_of(std::string_view physical, std::string_view logical);

// A condition on the document as readers are served it (an HTTP If-Match): `served` is the
// physical collection reads of the logical one go to, `holds` is asked about its document.
struct document_precondition {
    std::string_view served;
    std::function<bool(const document&)> holds;
};

// Erases `key` from each of them in one transaction; true when any held it. With a
// precondition, checked in the same transaction: when the served document is there and the
// precondition does not hold, nothing is erased (errc::precondition_failed).
result<bool> erase_document(store& s, std::string_view logical, std::string_view key,
                            const document_precondition* precondition = nullptr);

}  // namespace prom::userproj
