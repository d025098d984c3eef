// Fills the keys file's `key_events` from the log on a thread of its own (sqlite_key_index.hpp
// says what the table is), so that the writer's transactions do none of it: in them it was a
// third of the writer's instructions for batches of 1000 events (docs/benchmarks.md, "The key
// index off the writer's thread"). The keys file has its own write lock, so the writer and
// this thread write at the same time, on the machine's two cores.
//
// The store tells it what each commit appended (appended); once a topic's log is
// key_index_lag events past what the indexer last saw indexed, the thread wakes, and brings
// every topic that far behind up to its log, a bounded step per transaction. Once a topic
// has had no commit for quiet_after, it indexes the tail left behind too, whatever its
// length, so that reads of a topic at rest walk no tail (for other processes' commits, whose
// topics it is not told, once none has come for as long). At start it does one pass for what
// an earlier process left behind, and indexes every tail once quiet_after has passed.
// Nothing depends on it being current: readers walk the tail, however long. A failed step
// (the keys file busy longer than the busy timeout, say) is tried again a little later.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "storage/common.hpp"
#include "storage/sqlite/sqlite_db.hpp"
#include "storage/sqlite/sqlite_keys_guard.hpp"

namespace prom::storage::sqlite {

class key_indexer {
  public:
    // `guard`: the store's keys_guard (sqlite_keys_guard.hpp), which must outlive the indexer;
    // once it has recorded the state, the keys file is written with synchronous=OFF. Null:
    // synchronous=NORMAL throughout.
    // `progress_every`: a topic whose catch-up lasts longer logs how far it is that often,
    // and once when it is done (a keys file filled again for a long log takes minutes).
    key_indexer(std::string path, int busy_timeout_ms, keys_guard* guard,
                std::chrono::milliseconds progress_every);
    ~key_indexer();  // finishes the step under way, then stops
    key_indexer(const key_indexer&) = delete;
    key_indexer& operator=(const key_indexer&) = delete;

    // After a commit: the topics it appended to and their last seqs.
    void appended(const appended_topics& tips);

    // Events per transaction: bounds how long a step holds the keys file's write lock.
    static constexpr std::int64_t step_events = 16384;

    // The keys file's WAL frames between checkpoints (SQLite's default: 1000). A step writes
    // about one page per key it touches, and the next step writes most of the same pages
    // again; a checkpoint copies each page once, however often it was written since, and
    // under synchronous=NORMAL fsyncs the WAL and the keys file. At 1000 frames that was a
    // checkpoint, two fsyncs, per step of 4096 events (the lag then) to 1000 keys, queued at the
    // disk with the writer's commits (docs/benchmarks.md, "Fewer checkpoints of the keys file").
    static constexpr int checkpoint_frames = 10000;

    // How long without a commit to a topic before its tail, shorter than key_index_lag, is
    // indexed (give or take a quarter of a second, to take topics going quiet together in
    // one round): long enough that a topic written steadily (even slowly) is indexed in full
    // steps only.
    static constexpr auto quiet_after = std::chrono::seconds(2);

  private:
    // What one round of the thread does: by default a pass over the topics key_index_lag
    // behind; or the tails of the topics of this process gone quiet; or every topic's tail
    // (other processes' commits gone quiet, or the start).
    struct round {
        std::vector<std::pair<std::string, seq_t>> quiet;  // topic, its tip when chosen
        bool every_tail = false;
        std::uint64_t others_seen = 0;  // others_commits_ when chosen
    };
    void run();
    // Waits for the next round and says what it is; false once the indexer stops.
    bool next_round(round& r, bool failed);
    // Indexes the quiet topics' tails; false on an error.
    bool index_quiet(connection& c, const round& r);
    // Brings every topic `min_lag` or more behind up to its log; false on an error.
    bool index_behind(connection& c, std::int64_t min_lag);
    // Indexes one topic, logging a failure (the round is tried again later); false on one.
    bool index_or_warn(connection& c, const std::string& topic, std::int64_t min_lag);
    status index_topic(connection& c, const std::string& topic, std::int64_t min_lag);
    // Before the first write: synchronous=OFF for the keys file once the guard allows it.
    void drop_fsyncs_if_guarded(connection& c);

    const std::string path_;
    const int busy_timeout_ms_;
    keys_guard* const guard_;
    const std::chrono::milliseconds progress_every_;
    bool without_fsyncs_ = false;  // the thread's: the guard has recorded the state
    std::mutex mu_;
    std::condition_variable wake_;
    bool wanted_ = true;  // the pass at start
    bool stopping_ = false;
    bool waiting_untimed_ = false;  // the thread sleeps with no quiet to time
    // What this process appended to each topic, against the progress last seen.
    struct topic_seen {
        seq_t indexed;  // progress last seen
        seq_t tip;      // last seq appended
        std::chrono::steady_clock::time_point last_commit;
    };
    std::map<std::string, topic_seen, std::less<>> topics_;
    // Other processes' commits (their topics unknown) and what an earlier process left: a
    // pass over every topic once none has come for quiet_after.
    bool others_left_tail_ = true;
    std::chrono::steady_clock::time_point others_at_ = std::chrono::steady_clock::now();
    std::uint64_t others_commits_ = 0;
    std::thread thread_;
};

}  // namespace prom::storage::sqlite
