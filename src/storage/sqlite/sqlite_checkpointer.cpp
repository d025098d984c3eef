#include "storage/sqlite/sqlite_checkpointer.hpp"

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"
#include "storage/sqlite/sqlite_db.hpp"

namespace prom::storage::sqlite {

wal_checkpointer::wal_checkpointer(std::string path, int busy_timeout_ms, bool durable)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), durable_(durable) {}

wal_checkpointer::~wal_checkpointer() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void wal_checkpointer::checkpoint(sqlite3* db, const char* name) {
    int copied = 0;
    // PASSIVE: copies what no reader still needs, waits for nobody. A checkpoint already
    // running on the other connection makes this one return SQLITE_BUSY: it is doing the work.
    int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
    if (rc == SQLITE_OK) copied_.store(copied, std::memory_order_relaxed);
}

void wal_checkpointer::after_commit(sqlite3* db, const char* name, int frames) {
    int copied = copied_.load(std::memory_order_relaxed);
    if (frames < copied) copied = 0;  // the WAL was written again from its start
    const int pending = frames - copied;
    if (frames >= inline_frames) {
        // The thread has not let the WAL start again (the writer outran it): copy the rest
        // here, after any copy under way, whatever it costs this commit.
        auto after_the_thread = hold();
        checkpoint(db, name);
        return;
    }
    const bool long_wal = frames >= restart_frames;
    bool copy_here = false;
    {
        std::lock_guard lock(mu_);
        const bool busy = wanted_ || running_;
        if (stopping_) {
            copy_here = pending >= background_frames;  // closing: SQLite's own rule
        } else if (pending >= (long_wal ? restart_pending_frames : background_frames)) {
            if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
            if (!busy) {
                wanted_ = true;
                wake_.notify_one();
            }
        } else {
            // A long WAL with little left to copy and the thread idle: copy the rest here, so
            // that the next write transaction begins with every frame copied and writes the
            // WAL from its start again.
            copy_here = long_wal && !busy;
        }
    }
    if (copy_here) checkpoint(db, name);
}

void wal_checkpointer::run() {
    name_this_thread("prom-checkpoint");
    std::unique_ptr<connection> conn;
    while (true) {
        {
            std::unique_lock lock(mu_);
            wake_.wait(lock, [this] { return wanted_ || stopping_; });
            if (stopping_) return;
            wanted_ = false;
            running_ = true;
        }
        if (!conn) {
            auto c = connection::open(path_, false, busy_timeout_ms_);
            if (c) {
                conn = std::move(*c);
                // The copy syncs as the writer's commits do: FULL when appends are durable.
                (void)conn->exec(durable_ ? "PRAGMA synchronous=FULL"
                                          : "PRAGMA synchronous=NORMAL");
            } else {
                // The writer's inline rule still bounds the WAL (inline_frames).
                spdlog::warn("WAL checkpoints: cannot open '{}': {}", path_, c.error().message);
            }
        }
        if (conn) {
            std::lock_guard copying(copying_);
            checkpoint(conn->raw(), "main");
        }
        std::lock_guard lock(mu_);
        running_ = false;
    }
}

}  // namespace prom::storage::sqlite
