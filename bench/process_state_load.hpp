// The process.state events the projector benchmarks project: n events over 4 hosts and 500
// processes, appended in batches of 1000. One loader, so both benchmarks project the same log.
#pragma once

#include <string>
#include <vector>

#include "prom/store.hpp"

namespace prom::bench {

inline status load_process_states(store& s, int n) {
    const char* hosts[] = {"alpha", "beta", "gamma", "delta"};
    for (int done = 0; done < n;) {
        std::vector<event_input> b;
        for (int i = 0; i < 1000 && done < n; ++i, ++done) {
            std::string pid = std::to_string(done % 500);
            std::string host = hosts[done % 4];
            event_input e;
            e.topic = "process.state";
            e.key = host + ":svc:" + pid;
            e.payload = json::object{{"processId", e.key}, {"pid", done % 500},     {"name", "svc"},
                                     {"host", host},       {"cpu_pct", done % 100}, {"mem_mb", 64},
                                     {"status", "alive"},  {"last_seen", done}};
            b.push_back(std::move(e));
        }
        if (auto r = s.append(std::move(b)); !r) return std::unexpected(r.error());
    }
    return {};
}

}  // namespace prom::bench
