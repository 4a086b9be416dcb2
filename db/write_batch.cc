// Writes without a read: the public WriteBatch, Database::Write and the
// one-operation Database::Put and Delete (include/mvdb/db.h).
//
// A batch commits as a read-committed transaction of its own (txn/), so it
// follows every rule a writer follows (txn/transaction.cc's essay, "Writes
// without a read"): it locks its tables, then its keys, and installs new
// versions stamped with its commit timestamp, which is what a concurrent
// snapshot-isolation writer's first-updater check and a read-committed
// waiter's fresh read look at. What it leaves out is the application's
// read: nothing is read but the tree entry each install replaces (read
// once, right after the key's lock is taken, as for any write).
//
// Order. The operations are applied in (table, key) order, each key's in
// batch order (so the last one wins): two batches lock shared keys in the
// same order and never deadlock with each other, and the tree is walked in
// key order.
//
// Handles. An operation through a TableHandle records the handle's index
// in the batch's list of distinct handles where an operation by name
// records the name's bytes; Write resolves each distinct handle and name
// once (Database::Impl::Resolve, as a transaction's call would), so a
// batch holding a dropped table's handle fails as that handle's calls do,
// whatever table has its name now. A name and a handle of one table
// resolve to the same table id, which is what the key order and the
// last-one-wins rule compare.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/coding.h"
#include "db/db_impl.h"

namespace mvdb {

namespace {

// An operation's kind byte: put or delete, plus kByHandle when its table
// is a handle (WriteBatch::rep_, db.h).
constexpr char kOpPut = 1;
constexpr char kOpDelete = 2;
constexpr char kByHandle = 4;
constexpr char kOpPutByHandle = kOpPut | kByHandle;
constexpr char kOpDeleteByHandle = kOpDelete | kByHandle;
constexpr size_t kOpHeader = 1 + 3 * 4;

// Appends one operation: `table_field` is the table's length (its bytes
// are `table`) or, for a handle, its index (and `table` empty).
void Append(std::string* rep, char kind, uint32_t table_field, std::string_view table,
            std::string_view key, std::string_view value) {
  const size_t at = rep->size();
  rep->resize(at + kOpHeader + table.size() + key.size() + value.size());
  char* p = rep->data() + at;
  *p = kind;
  auto* bytes = reinterpret_cast<std::byte*>(p);
  EncodeFixed32(bytes + 1, table_field);
  EncodeFixed32(bytes + 5, static_cast<uint32_t>(key.size()));
  EncodeFixed32(bytes + 9, static_cast<uint32_t>(value.size()));
  p += kOpHeader;
  // memcpy of an empty view's null data is undefined: copy only bytes.
  for (std::string_view part : {table, key, value}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
}

// The index of `table` in `handles` (the same table state: copies of one
// handle are one), added at the end if it is not there. Batches name few
// tables: a linear search, the last one first.
uint32_t HandleIndex(std::vector<TableHandle>* handles, const TableHandle& table) {
  const Table* state = TableHandleAccess::Get(table);
  const auto same = [&](const TableHandle& held) { return TableHandleAccess::Get(held) == state; };
  if (!handles->empty() && same(handles->back())) {
    return static_cast<uint32_t>(handles->size() - 1);
  }
  const auto found = std::find_if(handles->begin(), handles->end(), same);
  if (found != handles->end()) return static_cast<uint32_t>(found - handles->begin());
  handles->push_back(table);
  return static_cast<uint32_t>(handles->size() - 1);
}

Status ClosedError(const std::string& dir) {
  return Status::InvalidArgument("database " + dir + " is closed");
}

// InvalidArgument (naming operation `i` of a batch, unless it is npos: a
// Put or Delete of its own) if the key or value is out of bounds.
Status CheckOp(const BatchOpRef& op, size_t i) {
  Status checked = CheckKeyAndValueSize(op.key, op.value.size());
  if (checked.ok() || i == std::string::npos) return checked;
  return Status::InvalidArgument("write batch operation " + std::to_string(i) + ": " +
                                 std::string(checked.message()));
}

}  // namespace

// ---- WriteBatch ----

void WriteBatch::Put(std::string_view table, std::string_view key, std::string_view value) {
  Append(&rep_, kOpPut, static_cast<uint32_t>(table.size()), table, key, value);
  ++count_;
}

void WriteBatch::Put(const TableHandle& table, std::string_view key, std::string_view value) {
  Append(&rep_, kOpPutByHandle, HandleIndex(&handles_, table), {}, key, value);
  ++count_;
}

void WriteBatch::Delete(std::string_view table, std::string_view key) {
  Append(&rep_, kOpDelete, static_cast<uint32_t>(table.size()), table, key, {});
  ++count_;
}

void WriteBatch::Delete(const TableHandle& table, std::string_view key) {
  Append(&rep_, kOpDeleteByHandle, HandleIndex(&handles_, table), {}, key, {});
  ++count_;
}

void WriteBatch::Clear() {
  rep_.clear();
  handles_.clear();
  count_ = 0;
}

// ---- Database::Write ----

// The work of Write, Put and Delete: `ops` in one read-committed
// transaction, `tables` the distinct tables (names and handles) they name.
Status Database::Impl::WriteOps(std::span<BatchOpRef> ops, std::span<const TableArg> tables,
                                const CommitOptions& options) {
  TransactionOptions txn_options;
  txn_options.isolation = IsolationLevel::kReadCommitted;
  // Rolls back on every early return: nothing of the batch is applied.
  std::unique_ptr<Txn> txn = txns->Begin(txn_options, /*blind=*/true);
  std::vector<TableRef> refs;
  refs.reserve(tables.size());
  for (const TableArg& arg : tables) {
    MVDB_ASSIGN_OR_RETURN(const Table* table,
                          Resolve(txn.get(), arg, TableLockMode::kRowExclusive));
    refs.push_back(table->ref());
  }
  // Key order (tables by id), batch order within a key. A batch built in
  // that order already (a load in key order) is only checked.
  const auto before = [&](const BatchOpRef& a, const BatchOpRef& b) {
    const TableId ta = refs[a.table_index].id;
    const TableId tb = refs[b.table_index].id;
    if (ta != tb) return ta < tb;
    return a.key < b.key;
  };
  if (!std::is_sorted(ops.begin(), ops.end(), before)) {
    std::stable_sort(ops.begin(), ops.end(), before);
  }
  std::vector<Txn::BlindWrite> writes;
  writes.reserve(ops.size());
  for (const BatchOpRef& op : ops) {
    writes.push_back({&refs[op.table_index], op.key, op.is_delete, op.value});
  }
  return txn->WriteBlind(writes, options);
}

Status Database::Write(const WriteBatch& batch, const CommitOptions& options) {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  if (batch.count_ == 0) return Status::OK();
  std::vector<BatchOpRef> ops;
  ops.reserve(batch.count_);
  // The batch's handles first (an operation through one holds its index),
  // then the distinct names, in the order of first use.
  const size_t handles = batch.handles_.size();
  std::vector<TableArg> tables;
  tables.reserve(handles + 1);
  for (const TableHandle& handle : batch.handles_) tables.emplace_back(handle);
  const std::string_view rep = batch.rep_;
  const auto* bytes = reinterpret_cast<const std::byte*>(rep.data());
  // The bytes were written by Put and Delete alone, so their lengths and
  // handle indexes hold.
  for (size_t pos = 0; pos < rep.size();) {
    BatchOpRef op;
    const char kind = rep[pos];
    op.is_delete = (kind & kOpDelete) != 0;
    const size_t table_field = DecodeFixed32(bytes + pos + 1);
    const size_t table_size = (kind & kByHandle) != 0 ? 0 : table_field;
    const size_t key_size = DecodeFixed32(bytes + pos + 5);
    const size_t value_size = DecodeFixed32(bytes + pos + 9);
    pos += kOpHeader;
    const std::string_view table = rep.substr(pos, table_size);
    op.key = rep.substr(pos + table_size, key_size);
    op.value = rep.substr(pos + table_size + key_size, value_size);
    pos += table_size + key_size + value_size;
    MVDB_RETURN_IF_ERROR(CheckOp(op, ops.size()));
    if ((kind & kByHandle) != 0) {
      op.table_index = table_field;
      ops.push_back(op);
      continue;
    }
    // Batches name few tables: a linear search among the names (never a
    // handle's: it may name a dropped table), the last one first.
    size_t index = tables.size();
    if (tables.size() > handles && tables.back().name == table) {
      index = tables.size() - 1;
    } else {
      index = handles;
      while (index < tables.size() && tables[index].name != table) ++index;
      if (index == tables.size()) tables.emplace_back(table);
    }
    op.table_index = index;
    ops.push_back(op);
  }
  return impl.WriteOps(ops, tables, options);
}

Status Database::Impl::WriteOne(const TableArg& table, std::string_view key,
                                const std::string_view* value, const CommitOptions& options) {
  if (closed) return ClosedError(dir);
  BatchOpRef op{value == nullptr, key, value == nullptr ? std::string_view() : *value, 0};
  MVDB_RETURN_IF_ERROR(CheckOp(op, std::string::npos));
  return WriteOps(std::span(&op, 1), std::span(&table, 1), options);
}

Status Database::Put(std::string_view table, std::string_view key, std::string_view value,
                     const CommitOptions& options) {
  return impl_->WriteOne(TableArg(table), key, &value, options);
}

Status Database::Put(const TableHandle& table, std::string_view key, std::string_view value,
                     const CommitOptions& options) {
  return impl_->WriteOne(TableArg(table), key, &value, options);
}

Status Database::Delete(std::string_view table, std::string_view key,
                        const CommitOptions& options) {
  return impl_->WriteOne(TableArg(table), key, nullptr, options);
}

Status Database::Delete(const TableHandle& table, std::string_view key,
                        const CommitOptions& options) {
  return impl_->WriteOne(TableArg(table), key, nullptr, options);
}

}  // namespace mvdb
