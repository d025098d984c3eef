// The transaction a user-defined handler sees: the projector's own transaction, minus what
// user code must never do. It may read and write only its own collections' physical names
// or collections outside prom's reserved "_prom." space (so a definition cannot reach the
// registry or another rebuild's shadows), and also read the collection another projector's
// swapped-in rebuild now serves under a logical name (its reads resolve aliases as a
// client's do), and it may not move the cursor or commit (the
// transactional projector does both, once per batch, which is what makes it exactly-once).
// What it writes and emits counts against the transaction's write_budget.
#pragma once

#include "docs/reserved.hpp"
#include "prom/store.hpp"
#include "userproj_runtime/collection_aliases.hpp"
#include "userproj_runtime/registry.hpp"
#include "userproj_runtime/write_budget.hpp"

namespace prom::userproj {

class guarded_transaction final : public transaction {
  public:
    // `own` (logical -> physical), `aliases` and `budget` must outlive this object.
    guarded_transaction(transaction& inner, const collection_map& own,
                        const collection_aliases& aliases, write_budget& budget)
        : inner_(inner), own_(own), aliases_(aliases), budget_(budget) {}

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        if (auto no = refused(collection); !no && !aliases_.is_target(collection))
            return std::unexpected(no.error());
        return inner_.find_one(collection, key);
    }
    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert) override {
        if (auto no = refused(collection); !no) return std::unexpected(no.error());
        if (auto no = budget_.charge(update); !no) return std::unexpected(no.error());
        return inner_.update_one(collection, key, update, upsert);
    }
    status update(std::string_view collection, std::string_view key, json::object update,
                  bool upsert) override {
        if (auto no = refused(collection); !no) return std::unexpected(no.error());
        if (auto no = budget_.charge(update); !no) return no;
        return inner_.update(collection, key, std::move(update), upsert);
    }
    result<bool> delete_one(std::string_view collection, std::string_view key) override {
        if (auto no = refused(collection); !no) return std::unexpected(no.error());
        return inner_.delete_one(collection, key);
    }
    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        for (const auto& e : batch) {
            if (auto no = budget_.charge(e); !no) return std::unexpected(no.error());
        }
        return inner_.append(std::move(batch));
    }
    status set_cursor(std::string_view, std::string_view, seq_t) override {
        return fail(errc::invalid_argument, "a projector handler may not move cursors");
    }
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        return inner_.cursor(topic, group);
    }
    status commit() override {
        return fail(errc::invalid_argument, "a projector handler may not commit");
    }

  private:
    status refused(std::string_view collection) const {
        if (!docs::reserved_collection(collection)) return {};
        for (const auto& [logical, physical] : own_) {
            if (physical == collection) return {};
        }
        return fail(errc::invalid_argument,
                    "collection '" + std::string(collection) + "' is reserved for prom");
    }

    transaction& inner_;
    const collection_map& own_;
    const collection_aliases& aliases_;
    write_budget& budget_;
};

}  // namespace prom::userproj
