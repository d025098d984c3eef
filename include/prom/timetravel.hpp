// Time travel (docs/time-travel.md): the state of a key at any past instant.
//
// The state of (topic, key) at T is the fold, in (ts, seq) order, of the key's events with
// ts <= T, through a reducer. `replace` takes each payload as the whole state; `merge`
// applies each payload as an RFC 7396 JSON merge patch; any std::function can be one too.
//
// Speed comes from snapshots the store keeps (store.hpp, "time-travel snapshots"): an
// answer costs one index seek for the nearest snapshot at or before T plus the key's events
// after it, never a scan of the topic. Late events (a publisher ts older than a snapshot)
// drop the snapshots they invalidate in the append transaction, so answers are exact.
// docs/time-travel.md explains the design.
//
// A time_machine holds only a reference to its store (which must outlive it) and options;
// it is safe to use from many threads at once. Errors come back as values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "prom/event.hpp"
#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom {

// RFC 7396: applies `patch` to `target` and returns the result. A non-object patch replaces
// the target; an object patch merges member by member, a null member removing the name.
json::value merge_patch(json::value target, const json::value& patch);

// Folds one event into the state. `state` is null before the key's first event. A reducer
// must be a pure function of (state, event): snapshots store its results.
using reduce_fn = std::function<result<json::value>(json::value state, const event& e)>;

struct reducer {
    // Names the reducer's snapshots in the store. Change the name whenever the function's
    // results change (e.g. "totals/v2"), or old snapshots will be used. Empty: the reducer
    // is never snapshotted, so every answer folds from the key's first event.
    std::string name;
    reduce_fn apply;
};

reducer replace_reducer();  // "replace": state = the payload
reducer merge_reducer();    // "merge": state = merge_patch(state, payload)

// "replace" or "merge"; invalid_argument otherwise.
result<reducer> builtin_reducer(std::string_view name);

// A key's state at T and the position (ts, seq) of the last event folded into it.
struct state_at {
    json::value state;
    ts_ms ts{};
    seq_t seq{};
};

struct keyed_state {
    std::string key;
    json::value state;
    ts_ms ts{};
    seq_t seq{};
};

json::object to_json(const state_at& s);     // {"state","ts","seq"}
json::object to_json(const keyed_state& s);  // {"key","state","ts","seq"}

struct time_travel_options {
    bool use_snapshots = true;         // false: always fold from the key's first event
    std::int64_t snapshot_every = 64;  // store a snapshot every N events of a key; 0: never
    std::size_t page_size = 1000;      // events read per store call (bounds memory)
};

class time_machine {
  public:
    explicit time_machine(store& s, time_travel_options options = {})
        : store_(s), options_(options) {}

    // The state of (topic, key) at `t`; none when the key has no event with ts <= t (an
    // unknown topic or key included). Snapshots crossed while folding (every
    // `snapshot_every` events of the key) are stored on the way, best effort: a failure to
    // store one does not fail the answer. An empty key is invalid_argument: events without
    // a key (absent or "") belong to no key.
    //
    // After retention dropped events of the key (store.hpp, key_horizon; docs/time-travel.md,
    // "The horizon rule"): exact for t < gone_from; errc::gone with error::horizon = base_ts
    // (the first instant answered again) for gone_from <= t < base_ts; for t >= base_ts exact
    // from a snapshot at or after the base position, and errc::gone (no error::horizon) when
    // there is none (a reducer without a name or with snapshots off, a snapshot deleted).
    result<std::optional<state_at>> at(std::string_view topic, std::string_view key, ts_ms t,
                                       const reducer& r);

    // The state at `t` of every key of `topic` that has one (keyless events are no key's),
    // in key order, one callback per key; the callback returns false to stop. Memory holds
    // one key's state at a time (plus the topic's key list). The keys are those of `latest`
    // and those retention left a key_horizon (a key whose every event was dropped still has
    // a state after its base). errc::gone, before the first callback, when any key is gone
    // at t; error::horizon is then the first instant >= t at which no key is.
    using key_state_callback = std::function<bool(const keyed_state&)>;
    status at_all(std::string_view topic, ts_ms t, const reducer& r,
                  const key_state_callback& callback);

    // Brings the snapshots of every key of `topic` up to date (folds each key from its last
    // snapshot to its last event). Returns how many keys it visited.
    result<std::size_t> build_snapshots(std::string_view topic, const reducer& r);

    // For retention passes (docs/retention.md): the snapshot of (topic, key, r) at `through`,
    // the position of one of the key's events: the fold of every event of the key up to and
    // including it, its `count` continuing the key's whole history. The fold starts from the
    // latest stored snapshot at or before `through`, which must be at or after `valid_from`
    // when given (a key_horizon's base: events before it may be gone), else from the key's
    // first event. A stored snapshot at the same ts as `through` but a higher seq is answered
    // as it is (at or after `through` for every t >= its ts, which is what a base needs).
    // errc::gone when there is no such start (or `r` has no name); errc::not_found when the
    // key has no event at `through`. Stores nothing.
    result<state_snapshot> snapshot_through(std::string_view topic, std::string_view key,
                                            const reducer& r, std::pair<ts_ms, seq_t> through,
                                            std::optional<std::pair<ts_ms, seq_t>> valid_from);

  private:
    store& store_;
    time_travel_options options_;
};

// For the HTTP route GET /at/{topic}/{key}?t=&reducer=: {"state","ts","seq"} with a built-in
// reducer; invalid_argument for an unknown reducer, not_found when there is no state at t.
result<json::value> at_as_json(store& s, std::string_view topic, std::string_view key, ts_ms t,
                               std::string_view reducer_name);

// For the HTTP route GET /at/{topic}?t=&reducer=&limit=: every key's state at t, in key
// order, as `{"count","items":[{"key","seq","state","ts"}…],"t","truncated"}` (the items are
// the lines `prom at TOPIC --all T` prints). At most `limit` items; `truncated` says whether
// keys with a state were left out. An unknown topic or a t before its history: no items.
// invalid_argument for an unknown reducer.
result<json::value> at_all_as_json(store& s, std::string_view topic, ts_ms t,
                                   std::string_view reducer_name, std::size_t limit);

}  // namespace prom
