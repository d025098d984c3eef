// Retention on sqlite (docs/retention.md): NOT IMPLEMENTED YET (a temporary commit).
#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

namespace {
std::unexpected<error> not_yet() { return fail(errc::internal, "not implemented yet"); }
}  // namespace

result<ts_ms> sqlite_store::raise_horizon(std::string_view, ts_ms) { return not_yet(); }
result<std::optional<key_horizon>> sqlite_store::find_key_horizon(std::string_view, std::string_view) {
    return not_yet();
}
result<std::vector<key_horizon>> sqlite_store::key_horizons(std::string_view) { return not_yet(); }
result<std::vector<topic_size>> sqlite_store::topic_sizes() { return not_yet(); }
status sqlite_store::reclaim_space() { return not_yet(); }

}  // namespace prom::storage::sqlite
