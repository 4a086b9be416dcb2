// Secondary indexes on the key-value API (sql/README.md, "Tables on the
// key-value API"): the entries a row version has, keeping them in the
// transaction that writes the row, unique claims, and reading rows through
// an index.
//
// An index `i` on `t` is the mvdb table IndexTableName(i) (catalog.h) with
//   - one entry per row: key = the indexed columns (AppendCompositeKey,
//     ascending) followed by the row's stored key in `t`; value kEntryValue;
//   - for a unique index, one claim per distinct non-NULL tuple of indexed
//     values: key = the indexed columns alone; value = the stored key of the
//     row that holds them. The key codec is self-delimiting, so a claim key
//     is a strict prefix of its entries' keys and never equal to one.
//
// MVCC. Entries are versioned like rows: when a row's indexed columns change
// (or it is deleted) the writing transaction deletes the old entry and puts
// the new one. A snapshot from before that commit still sees the old entry
// and the old row version; a later one sees only the new entry. A reader
// that reaches a row through an entry still re-reads the row at its own
// snapshot and keeps it only if the row's entry key is the one it came
// through: a cheap check that makes a stray entry (say, of a damaged or
// half-repaired index) yield nothing rather than a wrong row.
//
// Unique indexes. A writer that gives a row a new tuple of values locks the
// claim key with GetForUpdate, which waits for a concurrent claimant; a
// claim present once the lock is held is a 23505. NULLs never conflict (SQL
// semantics): a tuple with a NULL has no claim. Claims are exact: the writer
// that moves a row away from a tuple deletes its claim in the same
// transaction.
//
// Threading: free functions; the transaction they are given belongs to the
// calling thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mvdb/db.h"
#include "sql/catalog.h"
#include "sql/executor.h"
#include "sql/expression.h"

namespace mvdb::sql {

// The value of every entry (the API has no empty values).
inline constexpr char kEntryValue[] = "\x01";

// The encoded indexed columns of `row` (the claim key of a unique index).
std::string IndexValuesKey(const IndexSchema& index, const std::vector<Value>& row);
// True when one of the row's indexed columns is NULL (no claim then).
bool HasNullIndexValue(const IndexSchema& index, const std::vector<Value>& row);

// Keeps every index of `schema` for one row change in `txn`: an insert
// (old_row null), a delete (new_row null) or an update (both; the stored
// key may change). Fails with 23505 naming the index when a unique index
// already holds the new values for another row.
SqlStatus MaintainIndexes(Database* db, Transaction& txn, const TableSchema& schema,
                          const std::vector<Value>* old_row, const std::string& old_key,
                          const std::vector<Value>* new_row, const std::string& new_key);

// The rows of `schema` whose entries of index `path.index` lie in
// [path.lower, path.upper), re-read from the table and filtered by the
// index columns and `where`, each row once, in index order.
// *reader receives the table's iterator the rows were read through.
SqlResult<std::vector<Candidate>> ScanIndex(Transaction& txn, const TableSchema& schema,
                                            const AccessPath& path, const Expr* where,
                                            const EvalContext& context,
                                            std::unique_ptr<Iterator>* reader);

// Writes the entries (and claims) of `index` for every row of `schema`
// (which already lists the index), and the schema's catalog row, in `txn`
// (CREATE INDEX's own, at read committed). REQUIRES: txn holds the table
// in kShare mode, so no transaction has uncommitted writes to it and none
// can start one. 23505 "could not create unique index" when two rows hold
// the same values.
SqlStatus BuildIndex(Transaction& txn, const TableSchema& schema, const IndexSchema& index);

}  // namespace mvdb::sql
