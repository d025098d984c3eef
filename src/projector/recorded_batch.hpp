// A projector batch evaluated before its write transaction (docs/projectors.md, "Handlers
// run before the write lock"): the handlers run against this transaction, which reads
// documents from the store (and the batch's own changes) and records every write and emit;
// the projector then opens its write transaction, checks its cursor and replays the record.
// On SQLite one connection writes the log and every projector, so a write transaction held
// while user code runs (a Lua handler may take up to its time limit per event) held up
// every publish on the server for that long.
//
// A projector's documents have one writer, its own batches, one at a time (its lease, and
// the batch mutex its siblings share), and the cursor check at commit refuses a batch whose
// events another consumer applied meanwhile. Erasure writes them too: so the replay first
// checks that every stored document the batch read from a collection it writes is still as
// it was read (its ETag, or still absent), and otherwise fails with errc::conflict, which
// the projector retries (evaluating again); an erased document is never written back.
//
// The replay writes each changed document once, as the batch left it (a whole-document
// replacement carrying its own _key and _ts, or a deletion), not operation by operation.
#pragma once

#include <map>
#include <set>

#include "prom/store.hpp"
#include "storage/working_set.hpp"

namespace prom {

class recorded_batch final : public transaction {
  public:
    explicit recorded_batch(store& s) : store_(s) {}

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override;
    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert) override;
    status update(std::string_view collection, std::string_view key, json::object update,
                  bool upsert) override;
    result<bool> delete_one(std::string_view collection, std::string_view key) override;
    // Recorded: the events get their seqs when replayed, so the results carry none.
    result<std::vector<append_result>> append(std::vector<event_input> batch) override;
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override;
    status set_cursor(std::string_view, std::string_view, seq_t) override;
    status commit() override;

    // Writes what was recorded into `txn` (the projector's write transaction), after
    // checking the documents read (above). Once.
    status replay(transaction& txn);

  private:
    result<std::optional<document>> find_stored(std::string_view collection, std::string_view key);
    status check_reads(transaction& txn);
    void note_written(std::string_view collection);

    store& store_;
    storage::working_set docs_;                    // the documents as the batch left them
    std::vector<std::vector<event_input>> emits_;  // in the order the handlers appended
    std::set<std::string, std::less<>> written_;   // the collections the batch changed
    // The ETag of each stored document as the batch first read it (nullopt: there was none).
    std::map<std::pair<std::string, std::string>, std::optional<std::string>, std::less<>> read_;
};

}  // namespace prom
