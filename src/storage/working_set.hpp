// A write transaction's documents: what it changed, written at commit once per document
// however often the transaction changed it, and what its later reads of those documents are
// served from (store.hpp, transaction).
//
// A document changed through `update` stays parsed until something needs its text (a read,
// update_one's result, the commit): a projector batch that bumps one host's counters 500
// times parses, serializes and hashes that document once, not 500 times (docs/benchmarks.md,
// "Projection: the working set kept parsed").
#pragma once

#include <functional>
#include <optional>

#include "storage/common.hpp"

namespace prom::storage {

class working_set {
  public:
    // Reads the stored document (nullopt: none) for a key the set does not hold.
    using loader = std::function<result<std::optional<document>>()>;

    // The document as the transaction sees it (deleted = true: the transaction deleted it),
    // or nullptr when the set does not hold the key (then the store's copy is current).
    const document* find(std::string_view collection, std::string_view key);

    // transaction::update over the set: update_one's rules (docs/update.hpp), applied to
    // the document as the transaction sees it; `load` reads it when the set lacks it.
    // The caller has checked the collection and key (docs::check_target).
    status update(std::string_view collection, std::string_view key, json::object update,
                  bool upsert, const loader& load);

    // transaction::find_one over the set: its copy (none when it deleted the document),
    // else the stored one through `load`.
    result<std::optional<document>> find_one(std::string_view collection, std::string_view key,
                                             const loader& load);

    // transaction::update_one over the set: update_one's rules (docs/update.hpp) applied to
    // the document as the transaction sees it, kept serialized, since its caller gets it.
    // The caller has checked the collection and key (docs::check_target).
    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert, const loader& load);

    // Records a changed document as it is (update_one's result, or deleted_document).
    void put(document d);

    // Every changed document, serialized: what a commit writes, logs and reports.
    changed_documents& documents();

    // Calls `write` with every changed document, serialized, as documents() would hold them
    // (those already serialized first, then the rest in key order); stops at the first
    // error. With many documents a second thread serializes them ahead of `write`: at a
    // projector batch's commit the canonical text and ETag of each changed document were a
    // sixth of the projecting thread's work, done beside the SQL now (docs/benchmarks.md,
    // "Projection: a batch's documents serialized beside its writes"). Afterwards the set
    // holds them all serialized, as after documents(), whether or not `write` failed.
    using document_writer = std::function<status(const document&)>;
    status write_each(const document_writer& write);

    // Hands each changed document to `f` once, for replaying the set into a transaction
    // (projector/recorded_batch.hpp): one kept parsed as its object (`parsed`, which `f`
    // may take), any other (update_one's result, a deletion) as its stored form (`stored`).
    // Stops at the first error; empties the set.
    using visitor = std::function<status(std::string_view collection, std::string_view key,
                                         json::object* parsed, const document* stored)>;
    status hand_over(const visitor& f);

  private:
    using parsed_documents =
        std::map<std::pair<std::string, std::string>, json::object, collection_key_less>;

    // Serializes a parsed document into `done_`.
    document& serialize(parsed_documents::iterator it);

    // Below this many parsed documents, write_each serializes them on its own thread: a
    // second thread costs more than it saves.
    static constexpr std::size_t serialize_beside_from = 64;

    changed_documents done_;   // serialized (or deleted)
    parsed_documents parsed_;  // changed by `update`, not yet serialized; never also in done_
};

}  // namespace prom::storage
