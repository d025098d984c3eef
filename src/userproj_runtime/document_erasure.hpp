// Erasing one document of a collection (docs/retention.md, "Erasure"), wherever the registry
// says that collection's documents are: the collection under its own name, the shadow a
// swap serves it from, a pending rebuild's shadow, and what deleted definitions last
// mapped it to. `DELETE /collections/{c}/docs/{key}` and `prom doc rm` both use it (the CLI
// deleted from the unswapped name while clients read the shadow, and the HTTP route left the
// copy under the old name).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "prom/store.hpp"
#include "userproj_runtime/registry.hpp"

namespace prom::userproj {

// The physical collections holding `logical`'s documents per the registry, `logical` first.
std::vector<std::string> physical_collections_of(const std::vector<registry_entry>& entries,
                                                 std::string_view logical);

// Erases `key` from each of them in one transaction; true when any held it.
result<bool> erase_document(store& s, std::string_view logical, std::string_view key);

}  // namespace prom::userproj
