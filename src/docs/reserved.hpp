// Collections that belong to prom itself (the registry of user-defined projectors, the
// shadow collections of rebuilds): names starting with "_prom.". The document routes do
// not serve them, and user-defined projectors may not write them, so that only the admin
// routes (docs/projectors.md) can read or change what they hold.
#pragma once

#include <string_view>

namespace prom::docs {

inline constexpr std::string_view reserved_collection_prefix = "_prom.";

inline bool reserved_collection(std::string_view name) {
    return name.starts_with(reserved_collection_prefix);
}

}  // namespace prom::docs
