// The read path's view of collection aliases: the logical collection a client names ->
// the physical collection holding its documents (a rebuild's swap moves `orders` to
// `_prom.<token>.orders` in one registry transaction; docs/projectors-admin.md).
//
// The supervisor replaces the whole table after every registry read; readers (the snapshot
// and list routes, on network threads) take an immutable snapshot without locking for long.
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "userproj_runtime/registry.hpp"

namespace prom::userproj {

class collection_aliases {
public:
    collection_aliases() : table_(std::make_shared<const collection_map>()) {}

    // The physical name of `logical`; `logical` itself when no swap moved it. The view is
    // valid while `hold` (filled by the call) is alive.
    std::string_view resolve(std::string_view logical,
                             std::shared_ptr<const collection_map>& hold) const {
        hold = table_.load(std::memory_order_acquire);
        if (hold->empty()) return logical;
        auto it = hold->find(logical);
        return it == hold->end() ? logical : std::string_view(it->second);
    }

    void replace(collection_map table) {
        auto next = std::make_shared<const collection_map>(std::move(table));
        auto current = table_.load(std::memory_order_acquire);
        if (*current == *next) return;
        table_.store(std::move(next), std::memory_order_release);
    }

private:
    std::atomic<std::shared_ptr<const collection_map>> table_;
};

}  // namespace prom::userproj
