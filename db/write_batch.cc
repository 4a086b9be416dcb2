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
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/coding.h"
#include "db/db_impl.h"

namespace mvdb {

namespace {

constexpr char kOpPut = 1;
constexpr char kOpDelete = 2;
constexpr size_t kOpHeader = 1 + 3 * 4;

void Append(std::string* rep, char kind, std::string_view table, std::string_view key,
            std::string_view value) {
  const size_t at = rep->size();
  rep->resize(at + kOpHeader + table.size() + key.size() + value.size());
  char* p = rep->data() + at;
  *p = kind;
  auto* bytes = reinterpret_cast<std::byte*>(p);
  EncodeFixed32(bytes + 1, static_cast<uint32_t>(table.size()));
  EncodeFixed32(bytes + 5, static_cast<uint32_t>(key.size()));
  EncodeFixed32(bytes + 9, static_cast<uint32_t>(value.size()));
  p += kOpHeader;
  // memcpy of an empty view's null data is undefined: copy only bytes.
  for (std::string_view part : {table, key, value}) {
    if (!part.empty()) std::memcpy(p, part.data(), part.size());
    p += part.size();
  }
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
  Append(&rep_, kOpPut, table, key, value);
  ++count_;
}

void WriteBatch::Delete(std::string_view table, std::string_view key) {
  Append(&rep_, kOpDelete, table, key, {});
  ++count_;
}

void WriteBatch::Clear() {
  rep_.clear();
  count_ = 0;
}

// ---- Database::Write ----

// The work of Write, Put and Delete: `ops` in one read-committed
// transaction, `tables` the distinct table names they name.
Status Database::Impl::WriteOps(std::span<BatchOpRef> ops, std::span<const std::string_view> tables,
                                const CommitOptions& options) {
  TransactionOptions txn_options;
  txn_options.isolation = IsolationLevel::kReadCommitted;
  // Rolls back on every early return: nothing of the batch is applied.
  std::unique_ptr<Txn> txn = txns->Begin(txn_options, /*blind=*/true);
  std::vector<TableRef> refs;
  refs.reserve(tables.size());
  for (std::string_view name : tables) {
    MVDB_ASSIGN_OR_RETURN(const Table* table,
                          LockAndFind(txn.get(), name, TableLockMode::kRowExclusive));
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
  std::vector<std::string_view> tables;
  const std::string_view rep = batch.rep_;
  const auto* bytes = reinterpret_cast<const std::byte*>(rep.data());
  // The bytes were written by Put and Delete alone, so their lengths hold.
  for (size_t pos = 0; pos < rep.size();) {
    BatchOpRef op;
    op.is_delete = rep[pos] == kOpDelete;
    const size_t table_size = DecodeFixed32(bytes + pos + 1);
    const size_t key_size = DecodeFixed32(bytes + pos + 5);
    const size_t value_size = DecodeFixed32(bytes + pos + 9);
    pos += kOpHeader;
    const std::string_view table = rep.substr(pos, table_size);
    op.key = rep.substr(pos + table_size, key_size);
    op.value = rep.substr(pos + table_size + key_size, value_size);
    pos += table_size + key_size + value_size;
    MVDB_RETURN_IF_ERROR(CheckOp(op, ops.size()));
    // Batches name few tables: a linear search, the last one first.
    size_t index = tables.size();
    if (!tables.empty() && tables.back() == table) {
      index = tables.size() - 1;
    } else {
      index = static_cast<size_t>(std::find(tables.begin(), tables.end(), table) - tables.begin());
      if (index == tables.size()) tables.push_back(table);
    }
    op.table_index = index;
    ops.push_back(op);
  }
  return impl.WriteOps(ops, tables, options);
}

Status Database::Put(std::string_view table, std::string_view key, std::string_view value,
                     const CommitOptions& options) {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  BatchOpRef op{false, key, value, 0};
  MVDB_RETURN_IF_ERROR(CheckOp(op, std::string::npos));
  const std::string_view tables[] = {table};
  return impl.WriteOps(std::span(&op, 1), tables, options);
}

Status Database::Delete(std::string_view table, std::string_view key,
                        const CommitOptions& options) {
  Impl& impl = *impl_;
  if (impl.closed) return ClosedError(impl.dir);
  BatchOpRef op{true, key, {}, 0};
  MVDB_RETURN_IF_ERROR(CheckOp(op, std::string::npos));
  const std::string_view tables[] = {table};
  return impl.WriteOps(std::span(&op, 1), tables, options);
}

}  // namespace mvdb
