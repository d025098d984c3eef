// The read path's view of collection aliases: the logical collection a client names ->
// the physical collection holding its documents (a rebuild's swap moves `orders` to
// `_prom.<token>.orders` in one registry transaction; docs/projectors.md).
//
// The supervisor replaces the whole table after every registry read; readers (the snapshot
// and list routes, on network threads) take an immutable snapshot without locking for long.
// Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
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
        // Most deployments never rebuild: one relaxed flag instead of the shared_ptr's lock.
        if (empty_.load(std::memory_order_acquire)) return logical;
        hold = table_.load(std::memory_order_acquire);
        auto it = hold->find(logical);
        return it == hold->end() ? logical : std::string_view(it->second);
    }

    // True when some logical collection resolves to `physical` (a rebuild swapped it in).
    bool is_target(std::string_view physical) const {
        if (empty_.load(std::memory_order_acquire)) return false;
        auto table = table_.load(std::memory_order_acquire);
        return std::ranges::any_of(*table, [&](const auto& kv) { return kv.second == physical; });
    }

    void replace(collection_map table) {
        auto next = std::make_shared<const collection_map>(std::move(table));
        auto current = table_.load(std::memory_order_acquire);
        if (*current == *next) return;
        bool empty = next->empty();
        table_.store(std::move(next), std::memory_order_release);
        empty_.store(empty, std::memory_order_release);
        if (moved_) moved_();
    }

    // Called after each change of the table, on the thread that made it: held reads wait on
    // the physical collection they resolved, and must read again. Set before any replace.
    void on_change(std::function<void()> moved) { moved_ = std::move(moved); }

  private:
    std::atomic<std::shared_ptr<const collection_map>> table_;
    std::atomic<bool> empty_{true};
    std::function<void()> moved_;
};

}  // namespace prom::userproj
