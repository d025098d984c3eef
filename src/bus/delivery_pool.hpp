// Many consumers, a few threads: the WebSocket gateway's subscriptions are driven from a
// fixed pool instead of a thread each (consumer_loop). A consumer costs threads only while
// it reads a batch or settles one; between batches it is a record, filed under its topic,
// that the store's append listener wakes when a commit grows that topic past its position
// (only the subscribers of the topics a commit touched: the cost of a commit does not grow
// with idle subscribers). The watcher thread wakes consumers whose lease needs renewing
// (standbys retry the lease every idle_wait(), not on commits), and re-reads the parked
// topics when the store reports a change of unknown extent (another process's commit, lost
// PostgreSQL notifications) and once every full_check_interval in any case, so that a lost
// notification delays a delivery, never loses it.
//
// The behaviour is consumer_loop's (consumer_state.hpp is shared): one lease per group,
// take-over from the durable cursor, `from`, seq order, a batch at a time, back-off on
// errors. What differs is delivery: `deliver` hands the batch over and returns at once;
// the consumer calls `done` later, from any thread (for WebSocket: once the frame is
// written). `settle` then runs on a pool thread (acks belong there: they commit), and only
// while the consumer still holds its lease. A delivery that waits long (a slow client's
// socket) keeps the lease: a worker renews it every third of its time meanwhile.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bus/consumer_state.hpp"
#include "core/thread_annotations.hpp"

namespace prom::bus_internal {

class delivery_pool {
  public:
    // true: the batch reached the consumer; false: it did not (redelivered after a back-off).
    using done_fn = std::function<void(bool delivered)>;
    using deliver_fn = std::function<void(std::vector<event> batch, done_fn done)>;
    // On a pool thread after done(true): the seq up to which the batch counts as processed
    // (e.g. after an automatic ack), or nullopt to redeliver it.
    using settle_fn = std::function<std::optional<seq_t>(seq_t batch_last)>;

    class consumer {
      public:
        virtual ~consumer() = default;
        // Any thread, never blocks. The lease is given back on a pool thread; `stopped` runs
        // there afterwards (at once when already stopped). A batch in flight is settled first,
        // once its `done` comes (delivered: `settle` runs, as without a stop; not delivered:
        // it goes to the group's next consumer), so `done` must come for every batch.
        virtual void stop(std::function<void()> stopped = {}) = 0;
        virtual bool active() const = 0;  // holds the group's lease (or is ephemeral and started)
        // Any thread; may write the lease: whether this consumer still holds the group's
        // lease, renewed if a third of its time has passed (consumer_state::confirm_lease).
        // An ack made outside the pool asks first, so that a consumer whose lease passed on
        // never moves the cursor under the group's new holder.
        virtual result<bool> confirm_lease() = 0;
    };

    delivery_pool(store& s, unsigned threads);
    ~delivery_pool();  // close()
    // Stops every consumer and joins the pool's threads (once; later calls do nothing). Not
    // from a pool thread. Afterwards no `deliver` or `settle` runs, nor holds what it
    // captured: the WebSocket gateway calls it before its server's io_context goes, since
    // a session a worker held last would otherwise be destroyed after it (a use after free).
    void close();

    std::shared_ptr<consumer> add(consumer_config config, deliver_fn deliver, settle_fn settle);

    // Threads of the pool (workers and the watcher), whatever the number of consumers.
    std::size_t thread_count() const { return workers_.size() + 1; }

    struct pump;

    // The safety net's period: parked topics are re-read at least this often.
    static constexpr std::chrono::milliseconds full_check_interval{1000};

  private:
    // The consumers of one topic: how many, the greatest last seq an append reported, and
    // those parked until it grows.
    struct topic_watch {
        std::size_t consumers = 0;
        seq_t last_reported{0};
        std::unordered_set<pump*> parked;
    };
    // Lets the store's append listener (which outlives the pool) reach the pool until close().
    struct listener_link {
        prom::mutex mu;
        delivery_pool* pool PROM_GUARDED_BY(mu) = nullptr;
    };

    void on_appended(const appended_topics& a) PROM_EXCLUDES(mu_);
    void full_check() PROM_EXCLUDES(mu_);
    void work() PROM_EXCLUDES(mu_);
    void watch() PROM_EXCLUDES(mu_);
    void step(const std::shared_ptr<pump>& p) PROM_EXCLUDES(mu_);
    void park(const std::shared_ptr<pump>& p, const consumer_step& s) PROM_EXCLUDES(mu_);
    void finish(const std::shared_ptr<pump>& p) PROM_EXCLUDES(mu_);
    void ready(const std::shared_ptr<pump>& p) PROM_REQUIRES(mu_);
    void unpark(pump& p) PROM_REQUIRES(mu_);
    void delivered(const std::shared_ptr<pump>& p, std::uint64_t generation, bool ok)
        PROM_EXCLUDES(mu_);
    // A worker's turn for a pump whose delivery has waited a third of its lease's time.
    void renew_while_delivering(const std::shared_ptr<pump>& p) PROM_EXCLUDES(mu_);
    // The watcher: wakes the pumps whose deadline passed (waiting: a step; delivering: a
    // renewal) and finds the next deadline.
    void wake_due(std::chrono::steady_clock::time_point now) PROM_REQUIRES(mu_);

    store& store_;
    // Guards the members below and every pump's scheduling fields (pump::phase_ and the
    // others marked there; the analysis cannot name another object's mutex, so those are
    // checked by the tsan preset only).
    prom::mutex mu_;
    std::condition_variable work_cv_;
    std::condition_variable watcher_cv_;  // the watcher, idle without consumers, waits here
    std::deque<std::shared_ptr<pump>> ready_ PROM_GUARDED_BY(mu_);
    std::deque<std::shared_ptr<pump>> renewals_ PROM_GUARDED_BY(mu_);  // taken before ready_
    std::map<std::uint64_t, std::shared_ptr<pump>> all_ PROM_GUARDED_BY(mu_);
    std::uint64_t next_id_ PROM_GUARDED_BY(mu_) = 0;
    std::unordered_map<std::string, topic_watch> watched_ PROM_GUARDED_BY(mu_);  // by topic
    // A parked pump that read before this change_version() reads again: the last full check
    // (which would have woken it) ran before it parked.
    std::uint64_t checked_version_ PROM_GUARDED_BY(mu_) = 0;
    bool full_check_due_ PROM_GUARDED_BY(mu_) = false;  // a change of unknown extent was reported
    std::chrono::steady_clock::time_point next_full_check_ PROM_GUARDED_BY(mu_){};
    // No parked deadline comes before it.
    std::chrono::steady_clock::time_point next_deadline_ PROM_GUARDED_BY(mu_){};
    bool closing_ PROM_GUARDED_BY(mu_) = false;
    std::shared_ptr<listener_link> link_;
    std::vector<std::thread> workers_;
    std::thread watcher_;
};

}  // namespace prom::bus_internal
