// The public Snapshot (include/mvdb/db.h): a registered timestamp that any
// number of threads read at once, without a transaction.
//
// Why a read needs no lock of the snapshot's: db, ts and owner.ts are set
// before the Impl is shared and never change while the database lives
// (only ~Database changes db, and it may not run while the snapshot is in
// use: db.h, Threading); too_old is atomic. A read keeps its table from being
// dropped as Database::Get does (the catalog held shared, or a handle's
// use_mu: Database::Impl::WithTable); it
// reads at the snapshot's timestamp, whose versions the collector keeps
// while the snapshot is registered (mvcc/version_store.cc, invariant 3),
// and checks too_old after reading: a reclaim flags the owner before it
// unregisters it, so a read that overlapped the trim it allowed sees the
// flag and is discarded (invariant 6).
//
// Lifetime: the Impl lives while a public copy or an iterator holds it.
// The last one gives the registration back and leaves the database's list
// under live_mu, so Close (which refuses while that list is not empty)
// never frees the timeline under it.
#include <shared_mutex>

#include "db/db_impl.h"

namespace mvdb {

Snapshot::Impl::~Impl() {
  if (db == nullptr) return;  // detached: nothing of the database is left to touch
  std::lock_guard live(db->live_mu);
  db->txns->timeline().Release(&owner);  // no-op once reclaimed
  db->snapshots.Erase(this);
}

Status Snapshot::Impl::CheckReadable() const {
  if (owner.too_old.load(std::memory_order_acquire)) return SnapshotReclaimed(ts);
  return Status::OK();
}

void Snapshot::Impl::Detach(const Status& why) {
  {
    std::lock_guard lock(mu);
    iterators.Drain([&](Iterator::Impl* it) { it->End(why); });
  }
  db->txns->timeline().Release(&owner);
  ended = why;
  db = nullptr;
}

Result<Snapshot> Database::GetSnapshot() {
  static std::atomic<uint64_t> next_id{1};
  auto impl = std::make_shared<Snapshot::Impl>();
  impl->id = next_id.fetch_add(1, std::memory_order_relaxed);
  impl->owner.txn_id = 0;  // not a transaction's (ReclaimOldest only counts them)
  std::lock_guard live(impl_->live_mu);
  if (impl_->closed) return Status::InvalidArgument("database " + impl_->dir + " is closed");
  impl->ts = impl_->txns->timeline().Acquire(&impl->owner);
  impl->db = impl_.get();
  impl_->snapshots.Insert(impl.get());
  return Snapshot(std::move(impl));
}

Snapshot::Snapshot(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Snapshot::Snapshot(const Snapshot& other) = default;
Snapshot& Snapshot::operator=(const Snapshot& other) = default;
Snapshot::Snapshot(Snapshot&& other) noexcept = default;
Snapshot& Snapshot::operator=(Snapshot&& other) noexcept = default;
Snapshot::~Snapshot() = default;

namespace {
Status MovedFrom() { return Status::InvalidArgument("the snapshot is empty (moved from)"); }
}  // namespace

uint64_t Snapshot::sequence() const { return impl_ == nullptr ? 0 : impl_->ts; }
uint64_t Snapshot::id() const { return impl_ == nullptr ? 0 : impl_->id; }

Status Snapshot::Impl::Get(const TableArg& table, std::string_view key, std::string* value) const {
  if (db == nullptr) return ended;
  if (Status readable = CheckReadable(); !readable.ok()) {
    value->clear();
    return readable;
  }
  // No transaction, so no table lock: WithTable keeps the table from being
  // dropped for the one read (the catalog held shared, or a handle's
  // use_mu).
  const Status read = db->WithTable(table, [&](const Table& found) {
    return db->txns->versions().Read(found.id, found.tree, key, ts, value);
  });
  if (const Status readable = CheckReadable(); !readable.ok()) {
    value->clear();  // read while the versions it needed may have gone
    return readable;
  }
  return read;
}

Status Snapshot::Get(std::string_view table, std::string_view key, std::string* value) const {
  if (impl_ == nullptr) return MovedFrom();
  return impl_->Get(TableArg(table), key, value);
}

Status Snapshot::Get(const TableHandle& table, std::string_view key, std::string* value) const {
  if (impl_ == nullptr) return MovedFrom();
  return impl_->Get(TableArg(table), key, value);
}

std::unique_ptr<Iterator> Snapshot::Impl::NewIterator(const std::shared_ptr<Impl>& self,
                                                      const TableArg& table,
                                                      const IteratorOptions& options) {
  auto it = std::make_unique<Iterator::Impl>();
  if (self == nullptr || self->db == nullptr) {
    it->missing = self == nullptr ? MovedFrom() : self->ended;
    return std::unique_ptr<Iterator>(new Iterator(std::move(it)));
  }
  Impl& snapshot = *self;
  if (Status readable = snapshot.CheckReadable(); !readable.ok()) {
    it->missing = readable;  // what Get answers first
    return std::unique_ptr<Iterator>(new Iterator(std::move(it)));
  }
  Database::Impl& db = *snapshot.db;
  it->db = &db;
  it->snapshot = self;
  // Counted while WithTable keeps the drop out: DropLocked checks the
  // count holding both the catalog and the table's use_mu exclusively, so
  // it answers Busy from here until the iterator ends.
  const Status found = db.WithTable(table, [&](Table& use) {
    use.iterators.fetch_add(1);
    it->table = &use;
    return Status::OK();
  });
  if (!found.ok()) {
    it->missing = found;
    return std::unique_ptr<Iterator>(new Iterator(std::move(it)));
  }
  it->it = std::make_unique<TxnIterator>(db.txns.get(), it->table->ref(), options, &snapshot.owner);
  {
    std::lock_guard lock(snapshot.mu);
    snapshot.iterators.Insert(it.get());
  }
  return std::unique_ptr<Iterator>(new Iterator(std::move(it)));
}

std::unique_ptr<Iterator> Snapshot::NewIterator(std::string_view table,
                                                const IteratorOptions& options) const {
  return Impl::NewIterator(impl_, TableArg(table), options);
}

std::unique_ptr<Iterator> Snapshot::NewIterator(const TableHandle& table,
                                                const IteratorOptions& options) const {
  return Impl::NewIterator(impl_, TableArg(table), options);
}

}  // namespace mvdb
