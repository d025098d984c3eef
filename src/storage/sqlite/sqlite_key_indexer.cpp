#include "storage/sqlite/sqlite_key_indexer.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "storage/sqlite/sqlite_key_index.hpp"

namespace prom::storage::sqlite {

namespace {

// After a failed step: how long until the next try.
constexpr auto retry_after = std::chrono::milliseconds(200);

}  // namespace

key_indexer::key_indexer(std::string path, int busy_timeout_ms)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), thread_([this] { run(); }) {}

key_indexer::~key_indexer() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void key_indexer::appended(const appended_topics& a) {
    bool wake = !a.complete;  // another process's commit: any topic may have grown
    std::lock_guard lock(mu_);
    ++commits_;
    last_commit_ = std::chrono::steady_clock::now();
    // The first commit after a quiet pass: the thread, asleep without a deadline, starts
    // timing the quiet (a notify alone, no pass).
    const bool first_tail = !tail_left_;
    tail_left_ = true;
    for (const auto& t : a.tips) {
        auto it = indexed_.find(t.topic);
        // A topic not seen yet is looked at once (the pass then records its progress).
        if (it == indexed_.end()) {
            indexed_.emplace(t.topic, t.last_seq);
            wake = true;
        } else if (t.last_seq.value - it->second.value >= key_index_lag) {
            wake = true;
        }
    }
    if (wake && !wanted_) {
        wanted_ = true;
        wake_.notify_one();
    } else if (first_tail) {
        wake_.notify_one();
    }
}

void key_indexer::run() {
    std::unique_ptr<connection> conn;
    bool failed = false;
    while (true) {
        std::int64_t min_lag = key_index_lag;
        std::uint64_t commits_seen = 0;
        {
            std::unique_lock lock(mu_);
            if (failed) {
                wake_.wait_for(lock, retry_after, [this] { return stopping_; });
            }
            while (!failed && !wanted_ && !stopping_) {
                const auto quiet = last_commit_ + quiet_after;
                if (!tail_left_) {
                    wake_.wait(lock);
                } else if (std::chrono::steady_clock::now() < quiet) {
                    wake_.wait_until(lock, quiet);
                } else {
                    min_lag = 1;  // the log is quiet: its tails too
                    break;
                }
            }
            if (stopping_) return;
            wanted_ = false;
            commits_seen = commits_;
        }
        if (!conn) {
            auto c = connection::open(path_, false, busy_timeout_ms_);
            if (!c) {
                spdlog::warn("key index: cannot open '{}': {}", path_, c.error().message);
                failed = true;
                continue;
            }
            conn = std::move(*c);
            // Erasure leaves no copy of a key in free space (as the writer, sqlite_store.cpp).
            // NORMAL: the file is derived, and a step lost to a power cut is done again (the
            // progress is lost with its rows); the writer's commits stay FULL.
            (void)conn->exec("PRAGMA secure_delete=ON");
            (void)conn->exec("PRAGMA keys.synchronous=NORMAL");
            sqlite3_wal_autocheckpoint(conn->raw(), checkpoint_frames);
        }
        failed = !index_behind(*conn, min_lag);
        if (!failed && min_lag == 1) {
            std::lock_guard lock(mu_);
            // A commit during the pass may have left a tail the pass did not see.
            if (commits_ == commits_seen) tail_left_ = false;
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
            indexed_[topic] = indexed;
            if (last.value - indexed.value >= min_lag) behind.emplace_back(topic, last);
        }
        if (rc != SQLITE_DONE) {
            spdlog::warn("key index: {}", c.last_error(rc, "read topics").message);
            return false;
        }
    }
    for (const auto& [topic, last] : behind) {
        if (auto ok = index_topic(c, topic, min_lag); !ok) {
            spdlog::warn("key index of topic '{}': {} (tried again later)", topic,
                         ok.error().message);
            return false;
        }
        std::lock_guard lock(mu_);
        if (stopping_) return true;
    }
    return true;
}

status key_indexer::index_topic(connection& c, const std::string& topic, std::int64_t min_lag) {
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
            const std::int64_t last = st->int64(1);
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
        {
            std::lock_guard lock(mu_);
            if (more) indexed_[topic] = to;
            if (!more || stopping_) return {};
        }
    }
}

}  // namespace prom::storage::sqlite
