// Erasing a key of a topic (docs/retention.md, "Erasure") as `DELETE /topics/{t}/keys/{k}`
// and `prom erase` both do it: retention::erase (the log, its dead letters, the key's
// snapshots), then the failure notes the projector registry keeps about the topic lose their
// text, which may quote a handler's message about the key's events (found from outside:
// GET /projectors/{name} still showed an erased payload in last_error). What the running
// projectors keep in memory goes when each one is delivered the erasure marker.
#pragma once

#include <string_view>

#include "prom/store.hpp"
#include "retention/retention.hpp"

namespace prom::userproj {

result<retention::erase_report> erase_topic_key(store& s, std::string_view topic,
                                                std::string_view key);

}  // namespace prom::userproj
