// The bulk replayer (docs/operations.md): copies the events of SRC that match a filter to
// DST, optionally mapped by a value template or a Lua function, exactly once.
//
// FILTER, TEMPLATE and Lua are those of user-defined projectors (docs/projectors.md): the
// replay is compiled into a projector definition that emits into DST, so each copy's id is
// derived from its source event's id (`proj:replay:0:<source id>`) and a second copy can
// never be appended. The replay's own cursor (topic SRC, group `replay:DST`) commits in the
// transaction of each batch, so a replay killed at any instant and run again continues
// where the last batch committed; it ends at SRC's last seq when it started. One replay into
// a DST at a time: a second one is refused (conflict) while the first holds the lease
// `replay/DST` (renewed with each batch, it lapses 5 s after a crash).
//
// run_replay blocks; progress comes on the calling thread, between batches and between the
// events of a batch (the cursor moves by batches): false from it cancels the run there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom::ops {

struct replay_spec {
    std::string src;
    std::string dst;
    std::optional<json::value> where;  // a `where` filter
    std::optional<json::value> map;    // a value template for the payload (default "$payload")
    std::optional<std::string> lua;    // Lua source defining `function map(event)`
    std::optional<ts_ms> from_ts;      // inclusive
    std::optional<ts_ms> to_ts;        // inclusive
    std::size_t batch_size = 1000;
    // Whom errors address: `prom replay`'s flags (--from-ts, DST) or POST /replays's body
    // fields (from_ts, dst), which parse_replay_request sets.
    enum class names { flags, fields } named_by = names::flags;
};

// A replay spec from a JSON body (POST /replays): {"src", "dst", "where", "map", "lua",
// "from_ts", "to_ts", "batch_size"}; unknown fields and wrong types are invalid_argument.
result<replay_spec> parse_replay_request(const json::value& body);

// The group whose cursor on SRC a replay into `dst` keeps, and back: the DST of a replay's
// group, nothing for any other group.
std::string replay_group(std::string_view dst);
std::optional<std::string_view> replay_destination(std::string_view group);
// The lease a replay into `dst` holds while it runs.
std::string replay_lease(std::string_view dst);

// Where a replay stands. done/total count SRC's seqs, not its events: a seq without an event
// (erased, or dropped by retention) is passed like the others, so a stretch of them passes at
// once. What the run read is `read` (events) and its rate is in events.
struct replay_progress {
    seq_t start{};                // the cursor when this run began
    seq_t end{};                  // SRC's last seq when it began: the replay stops there
    seq_t cursor{};               // seqs up to here are done (committed)
    std::int64_t read = 0;        // events of SRC read by this run (committed batches)
    std::int64_t copied = 0;      // copies appended by this run
    std::int64_t duplicates = 0;  // copies that existed already (from an earlier run)
    std::int64_t markers = 0;     // erasure markers passed over: never copied
    double seconds = 0;           // since this run began
    std::int64_t done() const { return cursor - start; }
    std::int64_t total() const { return end - start; }
    // Events read per second (found from outside: seqs per second said millions of events a
    // second over an erased stretch).
    double rate() const { return seconds > 0 ? static_cast<double>(read) / seconds : 0; }
    // Seconds left at the current pace through the seqs; nullopt before any progress.
    std::optional<double> eta() const;
};
json::object to_json(const replay_progress& p);

// Checks everything a replay needs before it changes anything: SRC exists, DST is a valid
// topic other than SRC, the filter, template or Lua compile (invalid_argument naming the
// option: --where, --map, --lua), the ts range is ordered.
class compiled_replay;
result<std::shared_ptr<const compiled_replay>> compile_replay(store& s, const replay_spec& spec);

// Runs (or continues) the replay. `on_progress` is called once before the first batch (where
// the run starts), after each committed batch and once at the end; returning false stops the
// replay after that batch (cancelled).
result<replay_progress> run_replay(store& s, const compiled_replay& r,
                                   const std::function<bool(const replay_progress&)>& on_progress);

}  // namespace prom::ops
