// The replays `prom serve` runs for POST /replays and reports in GET /replays
// (docs/operations.md): each on a thread of its own, with its last progress kept in memory
// (this node's replays only; a replay's durable state is its cursor, ops/replayer.hpp).
//
// Thread-safe. stop() (or destruction) cancels the running replays after their current
// batch and joins them; the store must outlive the manager.
#pragma once

#include <list>
#include <mutex>
#include <thread>

#include "ops/replayer.hpp"

namespace prom::ops {

class replay_manager {
  public:
    explicit replay_manager(store& s) : store_(s) {}
    ~replay_manager();

    // Checks the spec (compile_replay), refuses a second running replay into the same DST
    // (conflict), and starts it. Returns its status object (state "running").
    result<json::object> start(const replay_spec& spec);
    // Every replay this node started, oldest first: id, src, dst, state (running, done,
    // failed, cancelled), progress, error.
    json::array list() const;
    void stop();

  private:
    struct job {
        std::string id;
        replay_spec spec;
        std::string state = "running";
        std::string error;
        replay_progress progress;
        std::thread thread;
    };
    json::object to_json_locked(const job& j) const;

    store& store_;
    mutable std::mutex mu_;
    std::list<job> jobs_;  // list: a job's address is stable for its thread
    bool stopping_ = false;
};

}  // namespace prom::ops
