// The change log of a collection (store.hpp, document_change; docs/watches.md): what every
// backend writes at commit, in the committing transaction, from the transaction's working
// set of documents. The rule lives here once:
//   - one change per document the transaction wrote or deleted, with what it committed;
//   - grouped by collection, collections in byte order and keys in byte order within one,
//     so that concurrent PostgreSQL commits lock the collections' head rows in one order;
//   - a collection's changes take the next seqs of its head row (change_heads), which the
//     commit holds locked until it ends, so seqs follow commit order without gaps.
#pragma once

#include <string_view>
#include <vector>

#include "storage/common.hpp"

namespace prom::storage {

struct collection_changes {
    std::string_view collection;
    std::vector<const document*> docs;  // in key order
};

// The changes a commit of `working_set` logs, by collection. Views into `working_set`.
std::vector<collection_changes> changes_to_log(const changed_documents& working_set);

// What a transaction's working set holds for a document it deleted.
document deleted_document(std::string_view collection, std::string_view key);

// The head row's upsert: adds the number of changes (parameter 2) to the collection's
// (parameter 1) head and returns the new head; the first change takes head - n + 1.
// The same statement for SQLite and PostgreSQL (both read $1, $2 by position).
inline constexpr const char* reserve_change_seqs_sql =
    "INSERT INTO change_heads(coll, seq) VALUES($1, $2) ON CONFLICT (coll) "
    "DO UPDATE SET seq = change_heads.seq + excluded.seq RETURNING seq";
// One change row: (coll, seq, key, ts, body, etag); body and etag NULL for a deletion.
inline constexpr const char* insert_change_sql =
    "INSERT INTO changes(coll, seq, key, ts, body, etag) VALUES($1, $2, $3, $4, $5, $6)";
#define PROM_CHANGE_COLUMNS "coll, seq, key, ts, body, etag"
inline constexpr const char* read_changes_sql =
    "SELECT " PROM_CHANGE_COLUMNS
    " FROM changes WHERE coll = $1 AND seq > $2 ORDER BY seq LIMIT $3";
inline constexpr const char* last_change_sql = "SELECT seq FROM change_heads WHERE coll = $1";
// store::logged_collections: substr, not LIKE, since a name may hold '_'.
inline constexpr const char* logged_collections_sql =
    "SELECT coll FROM change_heads WHERE substr(coll, 1, length($1)) = $1 ORDER BY coll";
// transaction::erase_one: the key's logged bodies go; the rows stay (seqs stay gapless) and
// read as deletions.
inline constexpr const char* forget_change_bodies_sql =
    "UPDATE changes SET body = NULL, etag = NULL WHERE coll = $1 AND key = $2 AND "
    "body IS NOT NULL";

}  // namespace prom::storage
