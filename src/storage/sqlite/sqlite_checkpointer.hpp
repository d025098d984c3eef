// Copies the WAL into the database file on a thread of its own, so that no commit waits for
// the copy (docs/storage-schema.md, "Checkpoints").
//
// SQLite's own rule checkpoints inside the commit that leaves 1000 frames in the WAL: that
// commit copies ~4 MB and fsyncs the database file before its appends are acknowledged. Under
// steady publishing that was the tail of every latency measured (docs/benchmarks.md,
// "Checkpoints off the commit path"). Here the writer's commit only asks; a PASSIVE
// checkpoint on this thread's own connection copies the frames while the writer goes on.
//
// A WAL is only written again from its start when a write transaction begins with every
// frame copied, which a checkpoint running beside a busy writer rarely leaves behind. So the
// writer still checkpoints itself, at the end of a commit, once the WAL is long and what is
// left to copy is short: a few frames, not a thousand. And if the WAL grows long all the same
// (the writer outran this thread), the writer checkpoints inline, so the WAL stays bounded.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace prom::storage::sqlite {

class connection;

class wal_checkpointer {
  public:
    // Frames the commit path leaves for this thread: SQLite's default autocheckpoint.
    static constexpr int background_frames = 1000;
    // A WAL this long is brought back to its start: the thread copies as soon as this many
    // frames wait, and the writer copies the few left once the thread is idle.
    static constexpr int restart_frames = 4 * background_frames;
    static constexpr int restart_pending_frames = background_frames / 8;
    // A WAL this long makes the writer copy what is left inline, after any copy under way:
    // the bound on the WAL when the writer outruns the thread (or a disk is slow).
    static constexpr int inline_frames = 8 * background_frames;

    wal_checkpointer(std::string path, int busy_timeout_ms, bool durable);
    ~wal_checkpointer();  // stops the thread (an unfinished copy finishes first)
    wal_checkpointer(const wal_checkpointer&) = delete;
    wal_checkpointer& operator=(const wal_checkpointer&) = delete;

    // The writer's wal_hook after a commit that leaves `frames` in the WAL of `db`.
    void after_commit(sqlite3* db, const char* name, int frames);

    // While held, this thread copies nothing: a checkpoint that must finish (reclaim_space's
    // TRUNCATE) would otherwise find this one running and give up at once (SQLITE_BUSY).
    std::unique_lock<std::mutex> hold() { return std::unique_lock(copying_); }

  private:
    void run();
    void checkpoint(sqlite3* db, const char* name);

    const std::string path_;
    const int busy_timeout_ms_;
    const bool durable_;

    // Frames the last checkpoint found copied. A WAL shorter than that was written again
    // from its start since, and nothing of it is copied yet.
    std::atomic<int> copied_{0};

    std::mutex copying_;  // held by the thread while it checkpoints
    std::mutex mu_;
    std::condition_variable wake_;
    bool wanted_ = false;   // a copy was asked for and has not started
    bool running_ = false;  // a copy is under way
    bool stopping_ = false;
    std::thread thread_;  // started by the first request: a short CLI run never needs it
};

}  // namespace prom::storage::sqlite
