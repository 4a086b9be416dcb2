// Secondary index entries, unique claims, index scans and index builds
// (index.h has the layout and the MVCC argument).
#include "sql/index.h"

#include <set>

#include "sql/key_codec.h"

namespace mvdb::sql {
namespace {

std::vector<KeyColumn> IndexKeyColumns(const TableSchema& schema, const IndexSchema& index) {
  std::vector<KeyColumn> columns;
  for (int column : index.columns) columns.push_back(KeyColumn{schema.columns[column].type, false});
  return columns;
}

SqlError UniqueViolation(const IndexSchema& index) {
  return MakeSqlError("23505",
                      "duplicate key value violates unique constraint \"" + index.name + "\"");
}

// Takes the claim of `claim_key` for the row at `row_key`: locks it (waiting
// for a concurrent claimant) and fails with 23505 when another row holds it.
SqlStatus Claim(Database* db, Transaction& txn, const TableSchema& schema, const IndexSchema& index,
                const std::string& claim_key, const std::string& row_key) {
  const std::string table = IndexTableName(index.name);
  std::string owner;
  const Status status = txn.GetForUpdate(table, claim_key, &owner);
  if (status.ok()) return UniqueViolation(index);
  if (status.IsConflict()) {
    // REPEATABLE READ and the claim changed after the snapshot. PostgreSQL
    // reports 23505 when the other row now holds the values, so look at the
    // newest committed state: a claim there is a duplicate, its absence (a
    // row that moved away) a serialization failure.
    TransactionOptions options;
    options.isolation = ::mvdb::IsolationLevel::kReadCommitted;
    options.read_only = true;
    auto peek = db->Begin(options);
    if (peek->Get(table, claim_key, &owner).ok()) return UniqueViolation(index);
    return StatusToSqlError(status, schema.name);
  }
  if (!status.IsNotFound()) return StatusToSqlError(status, schema.name);
  const Status put = txn.Put(table, claim_key, row_key);
  if (!put.ok()) return StatusToSqlError(put, schema.name);
  return {};
}

SqlStatus MaintainIndex(Database* db, Transaction& txn, const TableSchema& schema,
                        const IndexSchema& index, const std::vector<Value>* old_row,
                        const std::string& old_key, const std::vector<Value>* new_row,
                        const std::string& new_key) {
  const std::string table = IndexTableName(index.name);
  std::optional<std::string> old_values;
  std::optional<std::string> new_values;
  if (old_row != nullptr) old_values = IndexValuesKey(index, *old_row);
  if (new_row != nullptr) new_values = IndexValuesKey(index, *new_row);
  if (old_values == new_values && old_key == new_key) return {};  // nothing indexed changed

  if (index.unique) {
    std::optional<std::string> old_claim;
    std::optional<std::string> new_claim;
    if (old_row != nullptr && !HasNullIndexValue(index, *old_row)) old_claim = old_values;
    if (new_row != nullptr && !HasNullIndexValue(index, *new_row)) new_claim = new_values;
    if (new_claim.has_value() && new_claim == old_claim) {
      // Same values, the row moved to a new key: the claim follows it.
      const Status status = txn.Put(table, *new_claim, new_key);
      if (!status.ok()) return StatusToSqlError(status, schema.name);
    } else {
      if (new_claim.has_value()) {
        MVDB_SQL_RETURN_IF_ERROR(Claim(db, txn, schema, index, *new_claim, new_key));
      }
      if (old_claim.has_value()) {
        const Status status = txn.Delete(table, *old_claim);
        if (!status.ok()) return StatusToSqlError(status, schema.name);
      }
    }
  }
  // The old version's entry becomes a tombstone: snapshots older than this
  // commit still see it, newer ones do not.
  if (old_values.has_value()) {
    const Status status = txn.Delete(table, *old_values + old_key);
    if (!status.ok()) return StatusToSqlError(status, schema.name);
  }
  if (new_values.has_value()) {
    const Status status = txn.Put(table, *new_values + new_key, kEntryValue);
    if (!status.ok()) return StatusToSqlError(status, schema.name);
  }
  return {};
}

}  // namespace

std::string IndexValuesKey(const IndexSchema& index, const std::vector<Value>& row) {
  std::string key;
  for (int column : index.columns) AppendKey(row[column], false, &key);
  return key;
}

bool HasNullIndexValue(const IndexSchema& index, const std::vector<Value>& row) {
  for (int column : index.columns) {
    if (row[column].is_null()) return true;
  }
  return false;
}

SqlStatus MaintainIndexes(Database* db, Transaction& txn, const TableSchema& schema,
                          const std::vector<Value>* old_row, const std::string& old_key,
                          const std::vector<Value>* new_row, const std::string& new_key) {
  for (const IndexSchema& index : schema.indexes) {
    MVDB_SQL_RETURN_IF_ERROR(
        MaintainIndex(db, txn, schema, index, old_row, old_key, new_row, new_key));
  }
  return {};
}

SqlResult<std::vector<Candidate>> ScanIndex(Transaction& txn, const TableSchema& schema,
                                            const AccessPath& path, const Expr* where,
                                            const EvalContext& context,
                                            std::unique_ptr<Iterator>* reader) {
  std::vector<Candidate> candidates;
  const IndexSchema* index = schema.FindIndex(path.index);
  if (index == nullptr) return MakeSqlError("XX000", "index \"" + path.index + "\" vanished");
  if (path.lower.has_value() && path.upper.has_value() && *path.lower >= *path.upper) {
    return candidates;
  }
  IteratorOptions options;
  options.lower_bound = path.lower;
  options.upper_bound = path.upper;
  // The table's iterator first: at read committed each iterator takes its
  // own snapshot, and the index's is then the newer one.
  std::unique_ptr<Iterator> rows = txn.NewIterator(schema.name);
  std::unique_ptr<Iterator> entries = txn.NewIterator(IndexTableName(index->name), options);
  const std::vector<KeyColumn> columns = IndexKeyColumns(schema, *index);
  std::set<std::string, std::less<>> seen;
  for (entries->SeekToFirst(); entries->Valid(); entries->Next()) {
    std::string_view row_key = entries->key();
    Result<std::vector<Value>> values = DecodeCompositeKey(&row_key, columns);
    if (!values.ok()) {
      return MakeSqlError("XX001", "data corrupted: entry of index \"" + index->name +
                                       "\": " + std::string(values.status().message()));
    }
    if (row_key.empty()) continue;  // a unique claim, not an entry
    if (seen.contains(row_key)) continue;
    rows->Seek(row_key);
    if (!rows->Valid() || rows->key() != row_key) continue;  // not in this snapshot
    MVDB_SQL_ASSIGN_OR_RETURN(std::vector<Value> row, DecodeStoredRow(schema, rows->value()));
    if (IndexValuesKey(*index, row) + std::string(row_key) != entries->key()) continue;
    seen.emplace(row_key);
    if (where != nullptr) {
      EvalContext row_context = context;
      row_context.row = &row;
      MVDB_SQL_ASSIGN_OR_RETURN(const bool keep, EvaluateCondition(*where, row_context));
      if (!keep) continue;
    }
    candidates.push_back(Candidate{std::string(row_key), std::move(row)});
  }
  for (const Iterator* it : {entries.get(), rows.get()}) {
    const Status status = it->status();
    if (!status.ok()) return StatusToSqlError(status, schema.name);
  }
  *reader = std::move(rows);
  return candidates;
}

SqlStatus BuildIndex(Transaction& txn, const TableSchema& schema, const IndexSchema& index) {
  const std::string table = IndexTableName(index.name);
  {
    // The table lock keeps writers out, so the iterator's snapshot holds
    // every row, and none changes until the commit.
    std::unique_ptr<Iterator> it = txn.NewIterator(schema.name);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string row_key(it->key());
      MVDB_SQL_ASSIGN_OR_RETURN(const std::vector<Value> row, DecodeStoredRow(schema, it->value()));
      const std::string values = IndexValuesKey(index, row);
      if (index.unique && !HasNullIndexValue(index, row)) {
        std::string owner;
        const Status claim = txn.Get(table, values, &owner);
        if (claim.ok() && owner != row_key) {
          return MakeSqlError("23505", "could not create unique index \"" + index.name + "\"");
        }
        if (!claim.ok() && !claim.IsNotFound()) return StatusToSqlError(claim, schema.name);
        const Status claimed = txn.Put(table, values, row_key);
        if (!claimed.ok()) return StatusToSqlError(claimed, schema.name);
      }
      const Status put = txn.Put(table, values + row_key, kEntryValue);
      if (!put.ok()) return StatusToSqlError(put, schema.name);
    }
    const Status status = it->status();
    if (!status.ok()) return StatusToSqlError(status, schema.name);
  }
  const Status stored = Catalog::StoreIn(txn, schema);
  if (!stored.ok()) return StatusToSqlError(stored, schema.name);
  return {};
}

}  // namespace mvdb::sql
