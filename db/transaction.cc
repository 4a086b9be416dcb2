// The public Transaction and Iterator: name a table, lock it (which keeps
// it from being dropped until the transaction ends: Database::Impl's
// catalog comment), and hand over to the transaction manager
// (txn/transaction.h).
#include <shared_mutex>

#include "db/db_impl.h"

namespace mvdb {

Result<Table*> Database::Impl::Resolve(Txn* txn, const TableArg& table, TableLockMode mode) {
  MVDB_RETURN_IF_ERROR(Check(table));
  bool newly = false;
  MVDB_RETURN_IF_ERROR(txn->LockTable(table.name, mode, &newly));
  Table* found = table.table;
  if (!table.by_handle) {
    std::shared_lock catalog(catalog_mu);
    found = Find(table.name);
  } else if (found->dropped.load(std::memory_order_acquire)) {
    // Read after the lock, which the drop held while setting it: a table
    // this sees not dropped stays so until txn ends.
    found = nullptr;
  }
  if (found == nullptr) {
    if (newly)
      txn->UnlockTable(table.name, mode);  // PostgreSQL keeps no lock on a missing relation
    return table.by_handle ? Dropped(table.name) : NoTable(table.name);
  }
  return found;
}

// ---- lifetimes (db_impl.h, Database::Impl::live_mu) ----

void Transaction::Impl::EndIterators(const Status& why) {
  iterators.Drain([&](Iterator::Impl* it) {
    it->End(why);
    it->owner = nullptr;
  });
}

void Transaction::Impl::AfterEnd() {
  const TransactionState state = txn->state();
  if (state == TransactionState::kActive || state == TransactionState::kFailed) return;
  EndIterators(Status::Aborted("the iterator's transaction has ended"));
  final_state = state;
  ended = Status::InvalidArgument("transaction " + std::to_string(id) + " has ended");
  txn.reset();
  std::lock_guard live(db->live_mu);
  db->open.Erase(this);
}

void Iterator::Impl::End(const Status& why) {
  if (it == nullptr) return;
  it.reset();
  table->iterators.fetch_sub(1);
  table = nullptr;
  missing = why;
}

Transaction::Transaction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Transaction::~Transaction() {
  if (impl_->txn == nullptr) return;  // ended, or detached from its database
  impl_->EndIterators(Status::Aborted("the iterator's transaction was destroyed"));
  impl_->txn.reset();  // rolls back if still open; touches no table
  std::lock_guard live(impl_->db->live_mu);
  impl_->db->open.Erase(impl_.get());
}

uint64_t Transaction::id() const { return impl_->id; }
IsolationLevel Transaction::isolation() const { return impl_->isolation; }
TransactionState Transaction::state() const {
  return impl_->txn == nullptr ? impl_->final_state : impl_->txn->state();
}
bool Transaction::read_only() const { return impl_->read_only; }

// Every call's entry: once the transaction has ended (or was never begun,
// or its database went), what it answers instead (db.h, Lifetimes).
#define MVDB_RETURN_IF_ENDED()                      \
  do {                                              \
    if (impl_->txn == nullptr) return impl_->ended; \
  } while (0)

// The calls that take a table: one path for a name and a handle (TableArg,
// Database::Impl::Resolve); each public overload is one line below.

Status Transaction::Impl::Get(const TableArg& table, std::string_view key, std::string* value) {
  MVDB_ASSIGN_OR_RETURN(const Table* use,
                        db->Resolve(txn.get(), table, TableLockMode::kAccessShare));
  return txn->Get(use->ref(), key, value);
}

Status Transaction::Impl::GetForUpdate(const TableArg& table, std::string_view key,
                                       std::string* value, const Iterator* read_by) {
  if (read_by != nullptr && read_by->impl_->it == nullptr) {
    return read_by->impl_->missing;  // it never opened
  }
  MVDB_ASSIGN_OR_RETURN(const Table* use, db->Resolve(txn.get(), table, TableLockMode::kRowShare));
  if (read_by == nullptr) return txn->GetForUpdate(use->ref(), key, value);
  return txn->GetForUpdate(use->ref(), key, value, *read_by->impl_->it);
}

Status Transaction::Impl::Write(const TableArg& table, std::string_view key,
                                const std::string_view* value) {
  MVDB_ASSIGN_OR_RETURN(const Table* use,
                        db->Resolve(txn.get(), table, TableLockMode::kRowExclusive));
  return value == nullptr ? txn->Delete(use->ref(), key) : txn->Put(use->ref(), key, *value);
}

Status Transaction::Impl::DropTable(const TableArg& table) {
  MVDB_ASSIGN_OR_RETURN(Table * use,
                        db->Resolve(txn.get(), table, TableLockMode::kAccessExclusive));
  return db->DropLocked(use);
}

Status Transaction::Get(std::string_view table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ENDED();
  return impl_->Get(TableArg(table), key, value);
}
Status Transaction::Get(const TableHandle& table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ENDED();
  return impl_->Get(TableArg(table), key, value);
}

Status Transaction::GetForUpdate(std::string_view table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ENDED();
  return impl_->GetForUpdate(TableArg(table), key, value, nullptr);
}
Status Transaction::GetForUpdate(const TableHandle& table, std::string_view key,
                                 std::string* value) {
  MVDB_RETURN_IF_ENDED();
  return impl_->GetForUpdate(TableArg(table), key, value, nullptr);
}

Status Transaction::GetForUpdate(std::string_view table, std::string_view key, std::string* value,
                                 const Iterator& read_by) {
  MVDB_RETURN_IF_ENDED();
  return impl_->GetForUpdate(TableArg(table), key, value, &read_by);
}
Status Transaction::GetForUpdate(const TableHandle& table, std::string_view key, std::string* value,
                                 const Iterator& read_by) {
  MVDB_RETURN_IF_ENDED();
  return impl_->GetForUpdate(TableArg(table), key, value, &read_by);
}

Status Transaction::Put(std::string_view table, std::string_view key, std::string_view value) {
  MVDB_RETURN_IF_ENDED();
  return impl_->Write(TableArg(table), key, &value);
}
Status Transaction::Put(const TableHandle& table, std::string_view key, std::string_view value) {
  MVDB_RETURN_IF_ENDED();
  return impl_->Write(TableArg(table), key, &value);
}

Status Transaction::Delete(std::string_view table, std::string_view key) {
  MVDB_RETURN_IF_ENDED();
  return impl_->Write(TableArg(table), key, nullptr);
}
Status Transaction::Delete(const TableHandle& table, std::string_view key) {
  MVDB_RETURN_IF_ENDED();
  return impl_->Write(TableArg(table), key, nullptr);
}

Status Transaction::LockTable(std::string_view table, TableLockMode mode) {
  MVDB_RETURN_IF_ENDED();
  return impl_->db->Resolve(impl_->txn.get(), TableArg(table), mode).status();
}
Status Transaction::LockTable(const TableHandle& table, TableLockMode mode) {
  MVDB_RETURN_IF_ENDED();
  return impl_->db->Resolve(impl_->txn.get(), TableArg(table), mode).status();
}

Status Transaction::DropTable(std::string_view table) {
  MVDB_RETURN_IF_ENDED();
  return impl_->DropTable(TableArg(table));
}
Status Transaction::DropTable(const TableHandle& table) {
  MVDB_RETURN_IF_ENDED();
  return impl_->DropTable(TableArg(table));
}

// Commit and Rollback end the iterators before the Txn releases its table
// locks: a DropTable granted the lock then finds none counted (Busy is for
// the dropping transaction's own iterators only).
Status Transaction::Commit(const CommitOptions& options) {
  MVDB_RETURN_IF_ENDED();
  impl_->EndIterators(Status::Aborted("the iterator's transaction has ended"));
  const Status committed = impl_->txn->Commit(options);
  impl_->AfterEnd();
  return committed;
}

Status Transaction::Rollback() {
  MVDB_RETURN_IF_ENDED();
  impl_->EndIterators(Status::Aborted("the iterator's transaction has ended"));
  const Status rolled_back = impl_->txn->Rollback();
  impl_->AfterEnd();
  return rolled_back;
}

#undef MVDB_RETURN_IF_ENDED

std::unique_ptr<Iterator> Transaction::Impl::NewIterator(const TableArg& table,
                                                         const IteratorOptions& options) {
  auto impl = std::make_unique<Iterator::Impl>();
  impl->db = db;
  if (txn == nullptr) {
    impl->missing = ended;
    return std::unique_ptr<Iterator>(new Iterator(std::move(impl)));
  }
  Result<Table*> found = db->Resolve(txn.get(), table, TableLockMode::kAccessShare);
  if (!found.ok()) {
    impl->missing = found.status();
  } else {
    Table* t = found.value();
    impl->table = t;
    t->iterators.fetch_add(1);
    impl->it = std::make_unique<TxnIterator>(txn.get(), t->ref(), options);
    impl->owner = this;
    iterators.Insert(impl.get());
  }
  return std::unique_ptr<Iterator>(new Iterator(std::move(impl)));
}

std::unique_ptr<Iterator> Transaction::NewIterator(std::string_view table,
                                                   const IteratorOptions& options) {
  return impl_->NewIterator(TableArg(table), options);
}
std::unique_ptr<Iterator> Transaction::NewIterator(const TableHandle& table,
                                                   const IteratorOptions& options) {
  return impl_->NewIterator(TableArg(table), options);
}

// ---- Iterator ----

Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Iterator::~Iterator() {
  if (impl_->snapshot != nullptr) {
    // Other threads open and close the snapshot's iterators meanwhile. The
    // snapshot itself may go with impl_, after the lock is released.
    std::lock_guard lock(impl_->snapshot->mu);
    impl_->snapshot->iterators.Erase(impl_.get());
    impl_->End(Status::OK());
    return;
  }
  if (impl_->owner != nullptr) impl_->owner->iterators.Erase(impl_.get());
  impl_->End(Status::OK());
}

bool Iterator::Valid() const { return impl_->it != nullptr && impl_->it->Valid(); }

// A move takes no catalog lock: the table cannot be dropped while the
// iterator is open (Table::iterators makes DropTable Busy), and the
// transaction's table lock (a snapshot's iterator: the catalog or the
// table's use_mu, held while it was counted) kept drops out until then.
#define MVDB_ITERATOR_MOVE(call)      \
  do {                                \
    if (impl_->it == nullptr) return; \
    impl_->it->call;                  \
  } while (0)

void Iterator::SeekToFirst() { MVDB_ITERATOR_MOVE(SeekToFirst()); }
void Iterator::SeekToLast() { MVDB_ITERATOR_MOVE(SeekToLast()); }
void Iterator::Seek(std::string_view target) { MVDB_ITERATOR_MOVE(Seek(target)); }
void Iterator::SeekForPrev(std::string_view target) { MVDB_ITERATOR_MOVE(SeekForPrev(target)); }
void Iterator::Next() { MVDB_ITERATOR_MOVE(Next()); }
void Iterator::Prev() { MVDB_ITERATOR_MOVE(Prev()); }

#undef MVDB_ITERATOR_MOVE

// Not Valid (REQUIRES broken): empty, never a stale or freed view.
std::string_view Iterator::key() const { return Valid() ? impl_->it->key() : std::string_view(); }
std::string_view Iterator::value() const {
  return Valid() ? impl_->it->value() : std::string_view();
}
Status Iterator::status() const {
  return impl_->it == nullptr ? impl_->missing : impl_->it->status();
}

}  // namespace mvdb
