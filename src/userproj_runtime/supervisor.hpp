// Runs the registry's definitions on this node (docs/projectors.md).
//
// One thread re-reads the registry whenever the store's change_version moves (any commit,
// this node's or another's: the PostgreSQL listener and SQLite's data_version make other
// processes' commits move it too), at most every `min_interval` and at least every
// `max_interval`. For every live definition it keeps one transactional projector per topic
// its pattern covers (topics that appear later are picked up by the next read), in the
// consumer group the registry names; the projector's lease makes one node of a shared
// database the active consumer of each (topic, group). When an entry's generation moves
// (applied again, replaced, deleted, failed, swapped) its projectors are stopped and started
// anew from their durable cursors.
//
// It also keeps `aliases` (the read path's collection aliases) equal to the registry's, and
// completes rebuilds: once a rebuild's cursors have reached every covered topic's last seq,
// one transaction swaps it in (registry.hpp, complete_rebuild).
//
// Thread-safe. Must not outlive the store or the aliases; stop() (or the destructor) stops
// every projector it started.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "consistency/collection_writers.hpp"
#include "consistency/cursor_waiters.hpp"
#include "core/thread_annotations.hpp"
#include "prom/latency_histogram.hpp"
#include "prom/projector.hpp"
#include "userproj_runtime/collection_aliases.hpp"
#include "userproj_runtime/registry.hpp"
#include "userproj_runtime/write_budget.hpp"

namespace prom::userproj {

struct supervisor_options {
    std::chrono::milliseconds min_interval{100};
    std::chrono::milliseconds max_interval{500};
    // A definition is `failed` after this many consecutive dead-lettered events on one of
    // its topics with no event applied in between (docs/projectors.md, "States").
    std::size_t fail_after_dead_letters = 5;
    int retries = 3;
    std::chrono::milliseconds backoff{50};
    std::size_t batch_size = 500;
    std::chrono::milliseconds lease_ttl{5000};
    // What a projector's code may write and emit in one transaction (write_budget.hpp).
    std::size_t write_budget_bytes = write_budget::default_limit;
};

// This node's projectors of one topic.
struct topic_runtime {
    std::string topic;
    std::int64_t cursor = 0;  // as this node's projector last saw it (status pages read the store)
    std::uint64_t applied = 0, errors = 0, dead_lettered = 0;
    std::string last_error;
};

// What this node runs of one definition.
struct definition_runtime {
    std::int64_t generation = 0;
    bool running = false;  // false: a projector of its serving version stopped by itself, or the
                           // node is stopping
    std::string error;     // why this node cannot run it (the definition does not parse here)
    std::vector<topic_runtime> serving;
    std::vector<topic_runtime> rebuild;
};

class supervisor {
  public:
    supervisor(store& s, collection_aliases& aliases, supervisor_options options = {});
    ~supervisor();
    supervisor(const supervisor&) = delete;
    supervisor& operator=(const supervisor&) = delete;

    void start();
    void stop();

    std::optional<definition_runtime> runtime(std::string_view name) const;

    // Prometheus lines for /metrics: this node's counters per (projector, topic) of the
    // serving versions (docs/http-api.md, "Metrics").
    void append_metrics(std::string& out) const;

    // This node's cumulative (applied, errors) of the projector that consumes `topic` as
    // `group` (serving or rebuilding); none when no projector of this node does. What the SLO
    // monitor's max_error_rate reads (docs/operations.md).
    struct attempt_counts {
        std::uint64_t applied = 0;
        std::uint64_t errors = 0;
    };
    std::optional<attempt_counts> counts(std::string_view topic, std::string_view group) const;

    // Blocks until a registry read that began after this call has finished (tests, and the
    // admin routes, so that a PUT's answer already reflects the new running set).
    bool wait_synced(std::chrono::milliseconds timeout);

    // The serving versions that write `logical` (a collection as definitions name it), as
    // this node last read the registry: what a read with `after` waits for
    // (consistency/collection_writers.hpp). Rebuilds in progress are not readers' concern.
    std::vector<consistency::collection_writer> writers_of(std::string_view logical) const;

    // cursor_waiters' group resolver: the groups whose cursors decide whether projector
    // `c.projector` has applied c.topic up to c.seq. The group serving now, whichever group
    // the condition was made with; while a rebuild's swap commits, that and the rebuild's;
    // once it committed, the rebuild's. A wait answered by the old group before the swap
    // began is applied in the new collection too (the swap needs the rebuild caught up
    // with the log), and after it only the new group answers (found from outside: stale
    // reads right after a swap). Left empty for a projector this supervisor does not run.
    void groups_deciding(const consistency::cursor_condition& c,
                         std::vector<std::string>& groups) const;

  private:
    struct runner;
    struct managed {
        std::int64_t generation = -1;
        std::unique_ptr<runner> serving;
        std::unique_ptr<runner> rebuild;
        std::string error;
        bool reported = false;  // a failure was written to the registry
        // The serving version as the registry last said, whether or not a runner holds it: a
        // failed definition's (it still wrote its collections up to its cursor), and while a
        // new generation's runners replace the old ones (a rebuild begins or swaps in), so
        // that reads with `after` and `wait_for` wait for its group instead of being told
        // that nothing writes the collection (found from outside: 422 for seconds around
        // every rebuild).
        std::shared_ptr<const projector_definition> known_def;
        std::string known_group;
        // The rebuild's group from just before its swap's transaction until the next
        // registry read replaces the runners; swap_committed once that transaction has
        // committed (groups_deciding).
        std::string swap_group;
        bool swap_committed = false;
    };

    void run();
    void tick();
    std::unique_ptr<runner> make_runner(const json::object& source, const std::string& group,
                                        const collection_map& collections, std::string& error);
    void cover_topics(runner& r, const std::vector<topic_info>& topics);
    void check_failures(const registry_entry& e, managed& m);
    void try_swap(const registry_entry& e, managed& m, const std::vector<topic_info>& topics);
    // Stops a serving runner being replaced or removed (or a rebuild swapped in, which the
    // new serving runner continues) and adds its counters to carried_.
    void retire_serving(const std::string& name, std::unique_ptr<runner> r);
    // Deletes the cursors of groups a live definition no longer uses: the serving group
    // before a swap, an abandoned rebuild's. Their lag grew for good and tripped SLO rules.
    void forget_retired_groups(const std::vector<registry_entry>& entries);
    std::chrono::steady_clock::time_point last_retired_check_{};  // the supervisor thread's

    // The counters of serving projectors this node has stopped (a new version, a removal), per
    // (name, topic): /metrics adds them, so counters only grow while the process runs; and
    // the last error they met, which the status shows until a newer one (found from outside:
    // applying the definition again cleared it while its error counts went on).
    struct carried_counts {
        std::uint64_t applied = 0, errors = 0, dead_lettered = 0;
        latency_histogram apply_latency;
        std::string last_error;
    };

    store& store_;
    collection_aliases& aliases_;
    supervisor_options options_;
    // Guards managed_ and the projectors' presence in it. Only the supervisor's thread adds,
    // erases or changes entries; it may read them without the lock.
    mutable prom::mutex mu_;
    std::map<std::string, managed, std::less<>> managed_ PROM_GUARDED_BY(mu_);
    std::map<std::pair<std::string, std::string>, carried_counts> carried_ PROM_GUARDED_BY(mu_);
    std::set<std::string, std::less<>> failed_ PROM_GUARDED_BY(mu_);  // failed in the registry
    mutable prom::mutex sync_mu_;
    std::condition_variable sync_cv_;
    std::uint64_t started_ PROM_GUARDED_BY(sync_mu_) = 0;   // registry reads begun
    std::uint64_t finished_ PROM_GUARDED_BY(sync_mu_) = 0;  // registry reads done
    bool stopping_ PROM_GUARDED_BY(sync_mu_) = false;
    std::thread thread_;
};

}  // namespace prom::userproj
