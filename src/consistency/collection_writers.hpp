// Which projectors write a collection, and from which topics: what a read with `after`
// waits for (docs/http-api.md, "Read-your-writes").
//
// `prom serve` answers it from the built-in process projectors it runs and from the
// user-defined projectors' registry as its supervisor last read it (src/server/node.cpp).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "consistency/after_query.hpp"
#include "consistency/cursor_waiters.hpp"

namespace prom::consistency {

struct collection_writer {
    std::string projector;      // its name, for messages
    std::string topic_pattern;  // one topic, or a prefix ending in '*'
    std::string group;          // its consumer group: its cursor is cursor(topic, group)
};

// Thread-safe; the writers of one logical collection name.
using collection_writers_fn = std::function<std::vector<collection_writer>(std::string_view)>;

// The conditions of a read of a collection written by `writers` after `positions`: one per
// (position, writer consuming its topic). A position whose topic no writer consumes is
// errc::not_found naming it (the HTTP layer answers 422).
result<std::vector<cursor_condition>> conditions_for(const std::vector<collection_writer>& writers,
                                                     std::string_view collection,
                                                     const std::vector<after_position>& positions);

}  // namespace prom::consistency
