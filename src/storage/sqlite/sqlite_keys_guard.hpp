// Lets the key indexer write the keys file without fsyncs (synchronous=OFF), safely.
//
// The indexer's fsyncs (its WAL and the keys file at each of its checkpoints) queued at the
// disk with the writer's commits and slowed them (docs/benchmarks.md, "The keys file without
// fsyncs"). Without them a process crash still loses nothing (the kernel has every write), but
// a power cut or a kernel crash can leave the keys file torn: rows missing below the progress
// it records, or pages half old, half new. The keys file is derived from the log
// (sqlite_db.hpp, keys_path), so the cure is to start it again, and this guard says when:
//
// a state file beside it, `<database>-keys-state`, reads `unsynced <boot id>` from before a
// store's first write without fsyncs until the last store of the database has closed and
// fsynced the keys file, then `clean` (stores that wrote nothing to the keys file, such as
// most CLI commands, neither write the state nor sync anything). A store that opens and finds
// `unsynced` with another boot's id knows the machine stopped without that close: it deletes
// the keys file before anything attaches it, and the indexer fills it again from the log
// (reads walk the log meanwhile). The boot id (/proc/sys/kernel/random/boot_id) changes with
// every boot, so a process killed in this boot (its writes are safe in the kernel) does not
// cost a rebuild.
//
// Stores of one database, in one process or several, agree through flock on the state file:
// each open store holds it shared; a store that can take it exclusively is the only one, so
// it alone may judge a state left by another boot (at open) or write `clean` (at close).
// Documented in docs/storage-schema.md, "The key indexer".
#pragma once

#include <memory>
#include <string>

#include "prom/error.hpp"

namespace prom::storage::sqlite {

class keys_guard {
  public:
    // Before the store's first connection attaches the keys file. Null, with a warning, where
    // the state file cannot be used (a read-only directory, no boot id): the indexer then
    // writes with fsyncs, as it did before the guard. An error where a keys file to start
    // again cannot be deleted (the store must not read it).
    static result<std::unique_ptr<keys_guard>> acquire(const std::string& db_path);

    // Before the store's first write to the keys file without fsyncs: records `unsynced <boot
    // id>` durably (once). False, with a warning, where it cannot: the writer keeps its fsyncs.
    // Called from one thread (the key indexer's).
    bool mark_unsynced();

    // After every connection of the store is closed: the last store of the database, if the
    // state is `unsynced`, fsyncs the keys file (and its WAL, if one is left) and writes
    // `clean`.
    ~keys_guard();
    keys_guard(const keys_guard&) = delete;
    keys_guard& operator=(const keys_guard&) = delete;

    static std::string state_path(const std::string& db_path) { return db_path + "-keys-state"; }

  private:
    keys_guard(std::string db_path, std::string unsynced, int fd)
        : db_path_(std::move(db_path)), unsynced_(std::move(unsynced)), fd_(fd) {}

    std::string db_path_;
    std::string unsynced_;  // this boot's state: "unsynced <boot id>\n"
    int fd_;                // the state file, flocked shared while the store is open
    bool marked_ = false;   // mark_unsynced has written (or found) this boot's state
};

}  // namespace prom::storage::sqlite
