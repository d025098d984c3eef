// The library's forwarding store (src/storage/forwarding_store.hpp) for tests that override
// append() to stall, fail or observe it: async appends go through append() here too (the
// store's default append_async), so such a test sees every append whichever way it comes.
#pragma once

#include "storage/forwarding_store.hpp"

namespace prom::test {

class forwarding_store : public storage::forwarding_store {
  public:
    using storage::forwarding_store::forwarding_store;

    void append_async(std::vector<event_input> batch, append_callback done) override {
        store::append_async(std::move(batch), std::move(done));
    }
};

}  // namespace prom::test
