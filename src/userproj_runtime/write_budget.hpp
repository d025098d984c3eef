// How much a user-defined projector's code hands to one transaction, roughly in bytes
// (core/json_size.hpp): the updates it writes and the events it emits. The Lua sandbox bounds
// what a handler holds, not what it hands over: one 30 MB string written into a hundred
// documents costs a few instructions and 30 MB of Lua memory, and 3 GB in the transaction;
// 500 events of a batch each writing a large document add up the same way. Past the limit
// the write is refused: the batch fails, the projector applies its events one transaction
// each, and an event that alone exceeds the limit is dead-lettered (docs/projectors.md,
// "The sandbox").
#pragma once

#include <cstddef>

#include "prom/error.hpp"
#include "prom/event.hpp"
#include "prom/json.hpp"

namespace prom::userproj {

struct write_budget {
    static constexpr std::size_t default_limit = std::size_t{256} << 20;

    std::size_t limit = default_limit;
    std::size_t used = 0;  // since the transaction began (the projector's on_batch resets it)

    // Counts an update object or an emitted event; an error once the total passes the limit.
    status charge(const json::object& update);
    status charge(const event_input& emitted);

  private:
    status add(std::size_t bytes);
};

}  // namespace prom::userproj
