// Retention on postgres (docs/retention.md): NOT IMPLEMENTED YET (a temporary commit).
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

namespace {
std::unexpected<error> not_yet() { return fail(errc::internal, "not implemented yet"); }
}  // namespace

result<ts_ms> pg_store::raise_horizon(std::string_view, ts_ms) { return not_yet(); }
result<std::optional<key_horizon>> pg_store::find_key_horizon(std::string_view, std::string_view) {
    return not_yet();
}
result<std::vector<key_horizon>> pg_store::key_horizons(std::string_view) { return not_yet(); }
result<std::vector<topic_size>> pg_store::topic_sizes() { return not_yet(); }
status pg_store::reclaim_space() { return not_yet(); }

}  // namespace prom::storage::postgres
