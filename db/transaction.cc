// The public Transaction and Iterator: name a table, lock it (which keeps
// it from being dropped until the transaction ends: Database::Impl's
// catalog comment), and hand over to the transaction manager
// (txn/transaction.h).
#include <shared_mutex>

#include "db/db_impl.h"

namespace mvdb {

Result<Table*> Database::Impl::LockAndFind(Txn* txn, std::string_view name, TableLockMode mode) {
  bool newly = false;
  MVDB_RETURN_IF_ERROR(txn->LockTable(name, mode, &newly));
  Table* table = nullptr;
  {
    std::shared_lock catalog(catalog_mu);
    table = Find(name);
  }
  if (table == nullptr) {
    if (newly) txn->UnlockTable(name, mode);  // PostgreSQL keeps no lock on a missing relation
    return NoTable(name);
  }
  return table;
}

Transaction::Transaction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Transaction::~Transaction() {
  if (impl_ == nullptr || impl_->txn == nullptr) return;
  const TransactionState state = impl_->txn->state();
  if (state == TransactionState::kActive || state == TransactionState::kFailed) {
    impl_->txn.reset();  // rolls back; touches no table
  }
}

uint64_t Transaction::id() const { return impl_->txn->id(); }
IsolationLevel Transaction::isolation() const { return impl_->txn->isolation(); }
TransactionState Transaction::state() const { return impl_->txn->state(); }
bool Transaction::read_only() const { return impl_->txn->read_only(); }

Status Transaction::Get(std::string_view table, std::string_view key, std::string* value) {
  MVDB_ASSIGN_OR_RETURN(const Table* use, impl_->db->LockAndFind(impl_->txn.get(), table,
                                                                 TableLockMode::kAccessShare));
  return impl_->txn->Get(use->ref(), key, value);
}

Status Transaction::GetForUpdate(std::string_view table, std::string_view key, std::string* value) {
  MVDB_ASSIGN_OR_RETURN(const Table* use,
                        impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kRowShare));
  return impl_->txn->GetForUpdate(use->ref(), key, value);
}

Status Transaction::GetForUpdate(std::string_view table, std::string_view key, std::string* value,
                                 const Iterator& read_by) {
  if (read_by.impl_->it == nullptr) return read_by.impl_->missing;  // it never opened
  MVDB_ASSIGN_OR_RETURN(const Table* use,
                        impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kRowShare));
  return impl_->txn->GetForUpdate(use->ref(), key, value, *read_by.impl_->it);
}

Status Transaction::Put(std::string_view table, std::string_view key, std::string_view value) {
  MVDB_ASSIGN_OR_RETURN(const Table* use, impl_->db->LockAndFind(impl_->txn.get(), table,
                                                                 TableLockMode::kRowExclusive));
  return impl_->txn->Put(use->ref(), key, value);
}

Status Transaction::Delete(std::string_view table, std::string_view key) {
  MVDB_ASSIGN_OR_RETURN(const Table* use, impl_->db->LockAndFind(impl_->txn.get(), table,
                                                                 TableLockMode::kRowExclusive));
  return impl_->txn->Delete(use->ref(), key);
}

Status Transaction::LockTable(std::string_view table, TableLockMode mode) {
  return impl_->db->LockAndFind(impl_->txn.get(), table, mode).status();
}

Status Transaction::DropTable(std::string_view table) {
  MVDB_RETURN_IF_ERROR(
      impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kAccessExclusive).status());
  return impl_->db->DropLocked(table);
}

Status Transaction::Commit(const CommitOptions& options) { return impl_->txn->Commit(options); }

Status Transaction::Rollback() { return impl_->txn->Rollback(); }

std::unique_ptr<Iterator> Transaction::NewIterator(std::string_view table,
                                                   const IteratorOptions& options) {
  auto impl = std::make_unique<Iterator::Impl>();
  impl->db = impl_->db;
  Result<Table*> found =
      impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kAccessShare);
  if (!found.ok()) {
    impl->missing = found.status();
  } else {
    Table* t = found.value();
    impl->table = t;
    t->iterators.fetch_add(1);
    impl->it = std::make_unique<TxnIterator>(impl_->txn.get(), t->ref(), options);
  }
  return std::unique_ptr<Iterator>(new Iterator(std::move(impl)));
}

// ---- Iterator ----

Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Iterator::~Iterator() {
  if (impl_->it == nullptr) return;
  impl_->it.reset();
  impl_->table->iterators.fetch_sub(1);
}

bool Iterator::Valid() const { return impl_->it != nullptr && impl_->it->Valid(); }

// A move takes no catalog lock: the table cannot be dropped while the
// iterator is open (Table::iterators makes DropTable Busy), and the
// transaction's table lock kept other transactions' drops out until then.
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

std::string_view Iterator::key() const { return impl_->it->key(); }
std::string_view Iterator::value() const { return impl_->it->value(); }
Status Iterator::status() const {
  return impl_->it == nullptr ? impl_->missing : impl_->it->status();
}

}  // namespace mvdb
