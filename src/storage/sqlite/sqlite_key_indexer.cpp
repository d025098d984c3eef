#include "storage/sqlite/sqlite_key_indexer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "core/thread_name.hpp"
#include "storage/sqlite/sqlite_key_index.hpp"

namespace prom::storage::sqlite {

namespace {

// After a failed step: how long until the next try.
constexpr auto retry_after = std::chrono::milliseconds(200);

// How much later than the first quiet deadline the thread wakes, so that the topics going
// quiet meanwhile are taken in the same round: with many topics, a round per topic would
// look over every topic once per topic.
constexpr auto quiet_gather = std::chrono::milliseconds(250);

}  // namespace

key_indexer::key_indexer(std::string path, int busy_timeout_ms, keys_guard* guard,
                         std::chrono::milliseconds progress_every)
    : path_(std::move(path)),
      busy_timeout_ms_(busy_timeout_ms),
      guard_(guard),
      progress_every_(progress_every),
      thread_([this] { run(); }) {}

key_indexer::~key_indexer() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void key_indexer::appended(const appended_topics& a) {
    const auto now = std::chrono::steady_clock::now();
    bool wake = false;    // for a pass
    bool retime = false;  // for the thread to time a new tail's quiet (it may sleep without one)
    std::lock_guard lock(mu_);
    if (!a.complete) {  // another process's commit: any topic may have grown
        wake = true;
        ++others_commits_;
        others_at_ = now;
        retime = !others_left_tail_;
        others_left_tail_ = true;
    }
    for (const auto& t : a.tips) {
        auto [it, added] = topics_.try_emplace(t.topic, topic_seen{t.last_seq, t.last_seq, now});
        // A topic not seen yet is looked at once (the pass then records its progress).
        if (added) {
            wake = true;
            continue;
        }
        auto& seen = it->second;
        retime = retime || seen.tip.value <= seen.indexed.value;
        seen.tip = std::max(seen.tip, t.last_seq);
        seen.last_commit = now;
        if (seen.tip.value - seen.indexed.value >= key_index_lag) wake = true;
    }
    if (wake && !wanted_) {
        wanted_ = true;
        wake_.notify_one();
    } else if (retime && waiting_untimed_) {
        wake_.notify_one();  // a thread with a deadline sees the new tail when it wakes
    }
}

bool key_indexer::next_round(round& r, bool failed) {
    std::unique_lock lock(mu_);
    if (failed) wake_.wait_for(lock, retry_after, [this] { return stopping_; });
    while (!failed && !wanted_ && !stopping_) {
        const auto now = std::chrono::steady_clock::now();
        std::optional<std::chrono::steady_clock::time_point> next;
        auto consider = [&](std::chrono::steady_clock::time_point quiet_at) {
            if (!next || quiet_at < *next) next = quiet_at;
        };
        if (others_left_tail_) {
            if (others_at_ + quiet_after <= now) {
                r.every_tail = true;
                break;
            }
            consider(others_at_ + quiet_after);
        }
        for (const auto& [topic, seen] : topics_) {
            if (seen.tip.value <= seen.indexed.value) continue;
            if (seen.last_commit + quiet_after <= now) {
                r.quiet.emplace_back(topic, seen.tip);
            } else {
                consider(seen.last_commit + quiet_after);
            }
        }
        if (!r.quiet.empty()) break;
        if (next) {
            wake_.wait_until(lock, *next + quiet_gather);
        } else {
            waiting_untimed_ = true;
            wake_.wait(lock);
            waiting_untimed_ = false;
        }
    }
    if (stopping_) return false;
    if (!r.every_tail && r.quiet.empty()) wanted_ = false;
    r.others_seen = others_commits_;
    return true;
}

bool key_indexer::index_quiet(connection& c, const round& r) {
    for (const auto& [topic, tip] : r.quiet) {
        if (!index_or_warn(c, topic, 1)) return false;
        std::lock_guard lock(mu_);
        // Indexed up to its log, which holds the tip: done until its next commit, even where
        // the progress read back says otherwise (another process's indexer got there first,
        // or a restored database has a shorter log).
        auto& seen = topics_.at(topic);
        if (seen.tip == tip) seen.indexed = std::max(seen.indexed, tip);
        if (stopping_) return true;
    }
    return true;
}

void key_indexer::run() {
    name_this_thread("prom-key-index");
    std::unique_ptr<connection> conn;
    bool failed = false;
    while (true) {
        round r;
        if (!next_round(r, failed)) return;
        if (!conn) {
            auto c = connection::open(path_, false, busy_timeout_ms_);
            if (!c) {
                spdlog::warn("key index: cannot open '{}': {}", path_, c.error().message);
                failed = true;
                continue;
            }
            conn = std::move(*c);
            // Erasure leaves no copy of a key in free space (as the writer, sqlite_store.cpp).
            // The file is derived: NORMAL, where a step lost to a power cut is done again (the
            // progress is lost with its rows), until drop_fsyncs_if_guarded. The writer's
            // commits stay FULL.
            (void)conn->exec("PRAGMA secure_delete=ON");
            (void)conn->exec("PRAGMA keys.synchronous=NORMAL");
            without_fsyncs_ = false;
            sqlite3_wal_autocheckpoint(conn->raw(), checkpoint_frames);
        }
        if (r.every_tail) {
            failed = !index_behind(*conn, 1);
            std::lock_guard lock(mu_);
            // Another process's commit during the pass may have left a tail it did not see.
            if (!failed && others_commits_ == r.others_seen) others_left_tail_ = false;
        } else if (!r.quiet.empty()) {
            failed = !index_quiet(*conn, r);
        } else {
            failed = !index_behind(*conn, key_index_lag);
        }
    }
}

bool key_indexer::index_behind(connection& c, std::int64_t min_lag) {
    // Every topic's log and progress, also those this process did not append to.
    std::vector<std::pair<std::string, seq_t>> behind;
    {
        auto st = c.prepare(
            "SELECT t.name, t.last_seq, COALESCE(p.seq, 0) FROM main.topics t "
            "LEFT JOIN keys.key_progress p ON p.topic = t.name");
        if (!st) {
            spdlog::warn("key index: {}", st.error().message);
            return false;
        }
        int rc;
        std::lock_guard lock(mu_);
        while ((rc = st->step()) == SQLITE_ROW) {
            std::string topic(st->text(0));
            seq_t last{st->int64(1)};
            seq_t indexed{st->int64(2)};
            if (auto it = topics_.find(topic); it != topics_.end()) it->second.indexed = indexed;
            if (last.value - indexed.value >= min_lag) behind.emplace_back(topic, last);
        }
        if (rc != SQLITE_DONE) {
            spdlog::warn("key index: {}", c.last_error(rc, "read topics").message);
            return false;
        }
    }
    for (const auto& [topic, last] : behind) {
        if (!index_or_warn(c, topic, min_lag)) return false;
        std::lock_guard lock(mu_);
        if (stopping_) return true;
    }
    return true;
}

bool key_indexer::index_or_warn(connection& c, const std::string& topic, std::int64_t min_lag) {
    auto ok = index_topic(c, topic, min_lag);
    if (!ok) {
        spdlog::warn("key index of topic '{}': {} (tried again later)", topic, ok.error().message);
    }
    return ok.has_value();
}

void key_indexer::drop_fsyncs_if_guarded(connection& c) {
    // Only once the state file says `unsynced` (sqlite_keys_guard.hpp): a store that never
    // writes the keys file leaves it `clean`, and its close syncs nothing.
    if (without_fsyncs_ || !guard_ || !guard_->mark_unsynced()) return;
    without_fsyncs_ = c.exec("PRAGMA keys.synchronous=OFF").has_value();
}

status key_indexer::index_topic(connection& c, const std::string& topic, std::int64_t min_lag) {
    drop_fsyncs_if_guarded(c);  // outside a transaction; the callers chose a topic to write
    // A catch-up that lasts (a keys file filled from a long log: a new one, or one started
    // again after a power cut) logs how far it is: until it is done, per-key reads of the
    // topic walk the log's tail and are slow.
    const auto began = std::chrono::steady_clock::now();
    auto reported_at = began;
    bool reported = false;
    std::int64_t last = 0;
    while (true) {
        if (auto ok = c.run("BEGIN"); !ok) return ok;
        // The keys file's write lock first, then the log: a transaction that deletes rows of
        // the keys file (erasure) commits the log first, so once it lets go of this lock the
        // log read below no longer has the events whose rows it deleted.
        seq_t from{}, to{};
        auto read = [&]() -> status {
            if (auto ok = c.hold_keys(); !ok) return ok;
            auto st = c.prepare(
                "SELECT COALESCE((SELECT seq FROM keys.key_progress WHERE topic = ?1), 0), "
                "(SELECT last_seq FROM main.topics WHERE name = ?1)");
            if (!st) return std::unexpected(st.error());
            st->bind(1, topic);
            int rc = st->step();
            if (rc != SQLITE_ROW) return std::unexpected(c.last_error(rc, "read key progress"));
            from = seq_t{st->int64(0)};
            last = st->int64(1);
            // Steps as the writer's were: the tail left behind is under min_lag.
            to = last - from.value >= min_lag ? seq_t{std::min(last, from.value + step_events)}
                                              : from;
            return {};
        };
        status ok = read();
        const bool more = ok && to.value > from.value;
        if (more) ok = index_keys_in_txn(c, topic, from, to);
        if (ok) ok = c.run(more ? "COMMIT" : "ROLLBACK");
        if (!ok) {
            (void)c.run("ROLLBACK");
            return ok;
        }
        const auto now = std::chrono::steady_clock::now();
        if (more && now - reported_at >= progress_every_) {
            spdlog::info(
                "key index of topic '{}': up to seq {} of {} ({}%); per-key reads walk the rest",
                topic, to.value, last, last > 0 ? to.value * 100 / last : 100);
            reported_at = now;
            reported = true;
        } else if (!more && reported) {
            spdlog::info("key index of topic '{}': caught up to seq {} of {} in {} s", topic,
                         from.value, last,
                         std::chrono::duration_cast<std::chrono::seconds>(now - began).count());
        }
        {
            std::lock_guard lock(mu_);
            if (auto it = topics_.find(topic); more && it != topics_.end()) it->second.indexed = to;
            if (!more || stopping_) return {};
        }
    }
}

}  // namespace prom::storage::sqlite
