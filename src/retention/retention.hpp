// Retention, compaction with a horizon, erasure (docs/retention.md): the passes that keep a
// log from growing forever without making time travel wrong.
//
// A pass over one topic, in order:
//   1. plans what to drop: `retain` cuts the oldest whole prefix (by max_age of the events'
//      ts and/or max_events); `compact` drops the events of a key older than the horizon
//      (now - horizon) that a newer event of the key supersedes — of each key it keeps the
//      last event before the horizon and its latest event, always;
//   2. raises the topic's horizon (store::raise_horizon) to the greatest ts it will drop, so
//      no late event can land among the dropped ones while it works;
//   3. deletes in small, paced transactions (delete_events + put_key_horizon together), so
//      the writer is never held for long and a kill -9 leaves whole keys: the next pass
//      resumes. The transaction that deletes a key's first events also stores time-travel
//      snapshots of both built-in reducers at the key's base position (the greatest
//      dropped position; store.hpp, key_horizon), so they are durable with the deletion.
// Groups whose cursor is behind a dropped event: `behind` says whether the pass drops anyway
// (skip: counted per group in the report, logged) or keeps what a known group has not
// acknowledged (wait).
//
// A pass takes the lease `prom.retention/<topic>`: a second pass of the same topic (another
// thread, process or node) is refused with errc::conflict while the first runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom::retention {

// ---- policies ---------------------------------------------------------------------------

struct retain_rule {
    std::optional<std::chrono::milliseconds> max_age;  // events with ts < now - max_age go
    std::optional<std::int64_t> max_events;            // at most this many stay (> 0)
};

struct compact_rule {
    std::chrono::milliseconds horizon{0};  // superseded events with ts < now - horizon go
};

enum class behind_policy {
    skip,  // drop anyway; the groups that had not seen them are reported (metric + log)
    wait,  // never drop an event that a group with a cursor on the topic has not acknowledged
};

// One policy: `pattern` is a topic name or a prefix pattern ("order.*"). A prefix pattern
// never matches a dead-letter topic (NAME.dlq): those keep everything unless a policy names
// one exactly ("order.created.dlq").
struct policy {
    std::string pattern;
    std::optional<retain_rule> retain;
    std::optional<compact_rule> compact;
    behind_policy behind = behind_policy::skip;
};

// Durations: "7d", "12h", "30m", "45s", "250ms" or a whole number of milliseconds; > 0.
result<std::chrono::milliseconds> parse_duration(const json::value& v);

// {"retain":{"max_age","max_events"},"compact":{"horizon"},"behind":"skip"|"wait"}: every
// level strict (unknown keys are invalid_argument), at least one of retain and compact, a
// max_events of 0 or a negative or unparsable duration refused. `pattern` is checked too.
result<policy> parse_policy(std::string_view pattern, const json::value& body);
// invalid_argument unless `pattern` is a topic name or a prefix pattern ("order.*").
status check_policy_pattern(std::string_view pattern);

// Refuses the topic of SLO alarms (ops/alerts_topic.hpp) as a policy's pattern or a pass's
// topic: the alarm monitor reads each rule's state back from its latest event there, so a
// pass that dropped an open alarm's event announced it again under a reused id (found from
// outside). Patterns never take it in either (matches).
status check_retention_applies(std::string_view pattern_or_topic);
json::object to_json(const policy& p);  // {"behind","compact"?,"retain"?,"topic"}

bool matches(std::string_view pattern, std::string_view topic);
// The policy of `topic`: an exact pattern first, else the longest matching prefix pattern;
// for a pattern itself (`order.p*`) only its own.
std::optional<policy> policy_for(const std::vector<policy>& policies, std::string_view topic);

// Stored in the collection `_prom.topic_policies` (key = pattern), so every node and the CLI
// see the same policies. put replaces the pattern's policy.
inline constexpr std::string_view policy_collection = "_prom.topic_policies";
result<std::vector<policy>> load_policies(store& s);
// What a conditional write asks of the pattern's stored policy (HTTP If-Match: * and
// If-None-Match: *), checked in the write's own transaction, so that two writes at once
// cannot both pass (found from outside: of eight create-only PUTs at once, several passed
// and the last one won). Failing it is errc::precondition_failed.
struct policy_condition {
    bool must_exist = false;
    bool must_be_absent = false;
    bool names_a_tag = false;  // If-Match with an entity tag: a policy has none, never holds
};
status put_policy(store& s, const policy& p, policy_condition c = {});
// False when the pattern has no policy (whatever `c` asks).
result<bool> delete_policy(store& s, std::string_view pattern, policy_condition c = {});

// ---- passes -----------------------------------------------------------------------------

struct pass_progress {
    std::int64_t examined = 0;  // events of the topic looked at so far
    std::int64_t total = 0;     // events of the topic when the pass began
    std::int64_t dropped = 0;
};

struct pass_options {
    ts_ms now{};           // the clock the policy's ages are measured on
    bool dry_run = false;  // plan and report; change nothing
    // Events deleted (and keys given their base snapshots) per transaction. On SQLite one
    // of 25 holds the writer for well under a millisecond plus its commit (docs/benchmarks.md,
    // "Retention"); more is a faster pass and longer waits for the appends beside it.
    std::size_t batch_events = 25;
    std::string owner;                                      // lease owner (node id or "cli:<pid>")
    std::function<void(const pass_progress&)> on_progress;  // after each batch; may be empty
    // Pacing (docs/retention.md, "Pacing"): after each transaction the pass leaves the
    // writer alone at least this long, so that appends queued behind it commit first.
    std::chrono::microseconds pause{2000};
    // A transaction that stores records (per key) stops taking more keys after working this
    // long: a key costs from tens to hundreds of microseconds, depending on its events.
    std::chrono::microseconds txn_time{1000};
    // Checked between two transactions: once stop is requested the pass returns
    // errc::cancelled; what it deleted stays deleted and whole (the next pass goes on).
    std::stop_token stop;
};

// How a pass paces itself unless configured (docs/retention.md, "Pacing"), by backend, from
// the database URL: SQLite (and memory) share one writer with the publishers, so a pass works
// in small transactions with a pause after each (pass_options' defaults); PostgreSQL shares
// only the disk, and each transaction costs round trips and a commit, so there a pass takes
// 100 events per transaction and pauses 1 ms (3-6x faster than SQLite's pacing there,
// publish p99 still within 2x; 500 and no pause was slower and past 2x: docs/benchmarks.md,
// "Retention").
struct pacing {
    std::size_t batch_events = pass_options{}.batch_events;
    std::chrono::microseconds pause = pass_options{}.pause;
};
pacing default_pacing(std::string_view db_url);

struct group_behind {
    std::string group;
    std::int64_t unseen_dropped = 0;  // dropped events with seq > the group's cursor
};

struct pass_report {
    std::string topic;
    bool dry_run = false;
    std::int64_t examined = 0;
    std::int64_t retained_out = 0;  // dropped by `retain`
    std::int64_t compacted = 0;     // dropped by `compact`
    std::int64_t keys = 0;          // keys that lost events
    ts_ms horizon{};                // the topic's horizon after the pass (0: none)
    std::vector<group_behind> groups_behind;
    std::chrono::milliseconds took{0};
};
json::object to_json(const pass_report& r);

// One pass over `topic` with `p`. not_found for an unknown topic; conflict while another
// pass of the topic runs.
result<pass_report> run_pass(store& s, std::string_view topic, const policy& p,
                             const pass_options& o);

// ---- erasure ----------------------------------------------------------------------------

struct erase_report {
    std::string topic;
    std::string key;
    std::int64_t events = 0;        // events of the key deleted from the topic
    std::int64_t dead_letters = 0;  // and from its dead-letter topic
    seq_t marker_seq{};             // the erasure marker appended to the topic
};
json::object to_json(const erase_report& r);

// Deletes every event of (topic, key), its snapshots, latest row and key_horizon, and its
// entries in TOPIC.dlq, and appends the marker (payload null, header `prom-erased`; no
// payload of the key) in the same transaction. not_found, changing nothing, when the key has
// no event. An empty key is invalid_argument.
result<erase_report> erase(store& s, std::string_view topic, std::string_view key);

}  // namespace prom::retention
