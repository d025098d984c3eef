// The registry of user-defined projectors: one document per definition name in the reserved
// collection `_prom.projectors` (docs/projectors.md, "Where definitions are stored").
//
// Documents, not a table per backend: memory, SQLite and PostgreSQL store them the same way,
// a transaction covers a definition and its rebuild swap, and every node of a shared database
// sees the same set (the supervisor re-reads it when the store's change_version moves).
// A deleted definition stays as a tombstone (`"deleted": true`) that keeps its consumer
// group and collection map: documents stay, and a definition created again under the same
// name continues where the deleted one stopped.
//
// Free functions over a store; thread-safe as the store is.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/store.hpp"
#include "prom/user_projector.hpp"

namespace prom::userproj {

inline constexpr std::string_view registry_collection = "_prom.projectors";

// Collection named in a definition -> collection actually written and read.
using collection_map = std::map<std::string, std::string, std::less<>>;

// A replacement with "rebuild": true, projecting from earliest into shadow collections
// while the serving definition keeps running.
struct rebuild_plan {
    json::object definition;
    std::int64_t version = 0;
    std::string group;
    collection_map collections;  // logical -> shadow ("_prom.<token>.<logical>")
};

struct failure_note {
    std::string error;
    ts_ms at{};
};

struct registry_entry {
    std::string name;
    bool deleted = false;
    std::int64_t generation = 0;  // moves on every change; runners restart when it moves
    json::object definition;      // the serving definition as given (empty when deleted)
    std::int64_t version = 0;
    std::string group;                   // the serving consumer group
    collection_map collections;          // where the serving definition writes
    std::optional<failure_note> failed;  // set: no node runs it until it is applied again
    std::optional<rebuild_plan> rebuild;
    std::optional<failure_note> rebuild_failed;  // the last rebuild, abandoned because it failed
};

json::object to_json(const registry_entry& e);
// corrupt when a stored registry document does not have the registry's shape.
result<registry_entry> entry_from_json(const json::object& o);

// Every entry, tombstones included, in name order.
result<std::vector<registry_entry>> load_registry(store& s);
// The live (not deleted) entry of `name`, or nullopt.
result<std::optional<registry_entry>> load_entry(store& s, std::string_view name);
// The refusal of a definition whose version is below the stored one (conflict).
error lower_version(std::int64_t given, std::int64_t stored);

// logical -> physical for every collection that a swap moved (entries whose map is the
// identity add nothing). Live entries win over tombstones.
collection_map read_aliases(const std::vector<registry_entry>& entries);

// A definition's first group, `projector.<name>`, from any of its groups (a rebuild's is
// `projector.<name>@<token>`): what its rebuilds are named after, its dead letters filed
// under, and what its retired groups are recognised by.
inline std::string base_group(std::string_view group) {
    return std::string(group.substr(0, group.find('@')));
}

enum class apply_kind { created, replaced, unchanged };

struct applied {
    apply_kind kind;
    registry_entry entry;
};

struct apply_error {
    error err;  // invalid_argument (bad definition or name), conflict, or the store's error
    std::optional<std::string> pointer;  // set when the definition is invalid: JSON Pointer
    bool forbidden = false;  // refused by the caller's rights (`may_apply`): 403 over HTTP
};

// Validates `body` (parse_projector_definition) and stores it under its name. A name in the
// path (`name_from_path`, may be empty) must equal the body's "name" or fills it when the
// body has none. Rules (docs/projectors.md, "Versions and rebuilds"):
//   - a lower version than the stored one: conflict;
//   - the same source as stored: unchanged (and a `failed` state is cleared);
//   - "rebuild": true with a higher version: a rebuild_plan beside the serving definition;
//     conflict when another live definition writes one of its collections;
//   - otherwise the serving definition is replaced (a pending rebuild is dropped) and
//     continues from the same cursor.
// `may_apply`, when given, sees the parsed definition before anything is read or stored and
// may refuse it (the HTTP route checks the token's rights over what the definition reads,
// writes and emits). Nothing is stored on any error.
using definition_check = std::function<std::optional<apply_error>(const projector_definition&)>;
std::expected<applied, apply_error> apply_definition(store& s, const json::value& body,
                                                     std::string_view name_from_path = {},
                                                     const definition_check& may_apply = {});

// Tombstones `name`; not_found when there is no live definition of that name.
status remove_definition(store& s, std::string_view name);

// Records that the definition failed (docs/projectors.md, "States"), if it is still
// at `generation` and not failed already. Every node then stops running it.
status mark_failed(store& s, std::string_view name, std::int64_t generation,
                   std::string_view message);

// A rebuild that failed (as mark_failed defines it) is abandoned: the plan is dropped, the
// serving definition keeps running, and `rebuild_failed` says why.
status abandon_rebuild(store& s, std::string_view name, std::int64_t generation,
                       std::string_view message);

// After a key of `topic` was erased (retention::erase): the failure notes of definitions
// that say they are about `topic` ("topic T: …", which may quote a handler's message about
// the key's events) keep their time but lose their text, in the registry and in the
// change log of its documents (docs/retention.md). The generation stays: nothing restarts.
status withhold_failure_texts(store& s, std::string_view topic);

// In one transaction: when `name` is still at `generation` with a rebuild pending and
// `caught_up(txn)` says yes, the rebuild becomes the serving definition (its group and its
// shadow collections with it). True when it swapped.
result<bool> complete_rebuild(store& s, std::string_view name, std::int64_t generation,
                              const std::function<result<bool>(transaction&)>& caught_up);

// Topics a definition's pattern covers: topic_matches, but never a dead-letter topic
// ("….dlq") unless the pattern names it exactly, so that a projector never consumes its own
// dead letters.
bool covers_topic(std::string_view pattern, std::string_view topic);

}  // namespace prom::userproj
