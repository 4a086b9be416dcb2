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

Status Transaction::Get(std::string_view table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ENDED();
  MVDB_ASSIGN_OR_RETURN(const Table* use, impl_->db->LockAndFind(impl_->txn.get(), table,
                                                                 TableLockMode::kAccessShare));
  return impl_->txn->Get(use->ref(), key, value);
}

Status Transaction::GetForUpdate(std::string_view table, std::string_view key, std::string* value) {
  MVDB_RETURN_IF_ENDED();
  MVDB_ASSIGN_OR_RETURN(const Table* use,
                        impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kRowShare));
  return impl_->txn->GetForUpdate(use->ref(), key, value);
}

Status Transaction::GetForUpdate(std::string_view table, std::string_view key, std::string* value,
                                 const Iterator& read_by) {
  MVDB_RETURN_IF_ENDED();
  if (read_by.impl_->it == nullptr) return read_by.impl_->missing;  // it never opened
  MVDB_ASSIGN_OR_RETURN(const Table* use,
                        impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kRowShare));
  return impl_->txn->GetForUpdate(use->ref(), key, value, *read_by.impl_->it);
}

Status Transaction::Put(std::string_view table, std::string_view key, std::string_view value) {
  MVDB_RETURN_IF_ENDED();
  MVDB_ASSIGN_OR_RETURN(const Table* use, impl_->db->LockAndFind(impl_->txn.get(), table,
                                                                 TableLockMode::kRowExclusive));
  return impl_->txn->Put(use->ref(), key, value);
}

Status Transaction::Delete(std::string_view table, std::string_view key) {
  MVDB_RETURN_IF_ENDED();
  MVDB_ASSIGN_OR_RETURN(const Table* use, impl_->db->LockAndFind(impl_->txn.get(), table,
                                                                 TableLockMode::kRowExclusive));
  return impl_->txn->Delete(use->ref(), key);
}

Status Transaction::LockTable(std::string_view table, TableLockMode mode) {
  MVDB_RETURN_IF_ENDED();
  return impl_->db->LockAndFind(impl_->txn.get(), table, mode).status();
}

Status Transaction::DropTable(std::string_view table) {
  MVDB_RETURN_IF_ENDED();
  MVDB_RETURN_IF_ERROR(
      impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kAccessExclusive).status());
  return impl_->db->DropLocked(table);
}

Status Transaction::Commit(const CommitOptions& options) {
  MVDB_RETURN_IF_ENDED();
  const Status committed = impl_->txn->Commit(options);
  impl_->AfterEnd();
  return committed;
}

Status Transaction::Rollback() {
  MVDB_RETURN_IF_ENDED();
  const Status rolled_back = impl_->txn->Rollback();
  impl_->AfterEnd();
  return rolled_back;
}

#undef MVDB_RETURN_IF_ENDED

std::unique_ptr<Iterator> Transaction::NewIterator(std::string_view table,
                                                   const IteratorOptions& options) {
  auto impl = std::make_unique<Iterator::Impl>();
  impl->db = impl_->db;
  if (impl_->txn == nullptr) {
    impl->missing = impl_->ended;
    return std::unique_ptr<Iterator>(new Iterator(std::move(impl)));
  }
  Result<Table*> found =
      impl_->db->LockAndFind(impl_->txn.get(), table, TableLockMode::kAccessShare);
  if (!found.ok()) {
    impl->missing = found.status();
  } else {
    Table* t = found.value();
    impl->table = t;
    t->iterators.fetch_add(1);
    impl->it = std::make_unique<TxnIterator>(impl_->txn.get(), t->ref(), options);
    impl->owner = impl_.get();
    impl_->iterators.Insert(impl.get());
  }
  return std::unique_ptr<Iterator>(new Iterator(std::move(impl)));
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
// transaction's table lock (a snapshot's iterator: the catalog, held while
// it was counted) kept drops out until then.
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
