// TreeStore: one data file, its buffer pool and allocator, and the tree
// directory (a B+tree at page 1 mapping names to 8-byte little-endian root
// page ids).
//
// Fixed pages: 0 is the meta page (PageAllocator), 1 the directory's root.
// Every other page below page_count is a page of exactly one tree (a node
// or an overflow page) or on the free list; Check verifies that. These are
// logical page ids: the CowPageStore maps them to file locations, and its
// checkpoints capture the allocator's meta page with the trees.
//
// A checkpoint whose map is empty is a new data file (CowPageStore::
// CreateFile writes checkpoint 0 that way): Open formats it and takes
// checkpoint 1 at once, so a crash before that just leaves a new file.
#include "btree/tree_store.h"

#include <algorithm>
#include <string>
#include <utility>

#include "btree/node.h"
#include "btree/validate.h"
#include "common/coding.h"
#include "common/logging.h"

namespace mvdb {

namespace {

constexpr PageId kDirectoryRootPageId = 1;
constexpr uint64_t kReservedPages = 2;  // meta page and directory root
constexpr size_t kRootIdSize = 8;

Status CheckTreeName(std::string_view name) {
  if (name.empty()) {
    return Status::InvalidArgument("empty tree name");
  }
  if (name.size() > kMaxKeySize) {
    return Status::InvalidArgument("tree name longer than " + std::to_string(kMaxKeySize) +
                                   " bytes");
  }
  return Status::OK();
}

std::string EncodeRootId(PageId root) {
  std::string out(kRootIdSize, '\0');
  EncodeFixed64(reinterpret_cast<std::byte*>(out.data()), root);
  return out;
}

Result<PageId> DecodeRootId(std::string_view name, std::string_view value) {
  if (value.size() != kRootIdSize) {
    return Status::Corruption("directory entry for tree '" + std::string(name) + "' holds " +
                              std::to_string(value.size()) + " bytes, not a page id");
  }
  return DecodeFixed64(reinterpret_cast<const std::byte*>(value.data()));
}

Status Closed() { return Status::InvalidArgument("the tree store is closed"); }

}  // namespace

Result<std::unique_ptr<TreeStore>> TreeStore::Open(FileSystem* fs, const std::string& path,
                                                   const TreeStoreOptions& options) {
  MVDB_ASSIGN_OR_RETURN(const bool exists, fs->Exists(path));
  if (!exists) {
    if (!options.create_if_missing || options.read_only) {
      return Status::NotFound(path + ": no such data file");
    }
    MVDB_RETURN_IF_ERROR(CowPageStore::CreateFile(fs, path));
  }
  std::unique_ptr<TreeStore> store(new TreeStore());
  OpenOptions file_options;
  file_options.direct_io = options.direct_io;
  file_options.read_only = options.read_only;
  // Pool misses copy from the page cache without a system call (io/file.h:
  // OpenOptions::map_reads; bench/README.md "Misses" says why).
  file_options.map_reads = true;
  MVDB_ASSIGN_OR_RETURN(store->file_, fs->Open(path, file_options));
  MVDB_ASSIGN_OR_RETURN(store->page_store_, CowPageStore::Open(store->file_.get()));
  BufferPoolOptions pool_options;
  pool_options.capacity_pages = std::max<size_t>(options.cache_pages, 16);
  pool_options.writeback_batch = options.writeback_batch;
  pool_options.validator = &btree::ValidatePage;
  pool_options.epoch = store->page_store_->write_epoch();
  MVDB_ASSIGN_OR_RETURN(store->pool_, BufferPool::Create(store->page_store_.get(), pool_options));
  BufferPool* pool = store->pool_.get();
  PageId directory_root = kDirectoryRootPageId;
  if (store->page_store_->checkpoint_logical_pages() == 0) {
    if (options.read_only) {
      return Status::NotFound(path + ": the data file holds no checkpoint with pages yet");
    }
    MVDB_ASSIGN_OR_RETURN(store->allocator_,
                          PageAllocator::Create(pool, kReservedPages, kDirectoryRootPageId));
    MVDB_RETURN_IF_ERROR(BTree::FormatRoot(pool, kDirectoryRootPageId));
    MVDB_RETURN_IF_ERROR(
        store->page_store_->Checkpoint(pool, nullptr, store->page_store_->checkpoint_lsn())
            .status());
  } else {
    MVDB_ASSIGN_OR_RETURN(store->allocator_, PageAllocator::Open(pool));
    MVDB_ASSIGN_OR_RETURN(const MetaPage meta, store->allocator_->ReadMeta());
    if (meta.directory_root == kMetaPageId || meta.directory_root >= meta.page_count) {
      return Status::Corruption(path + ": meta page names directory root " +
                                std::to_string(meta.directory_root) + " outside the file's " +
                                std::to_string(meta.page_count) + " pages");
    }
    directory_root = meta.directory_root;
  }
  store->directory_ = std::make_unique<BTree>(pool, store->allocator_.get(), directory_root,
                                              "(directory)", &store->gate_);
  return store;
}

TreeStore::~TreeStore() {
  if (closed_ || directory_ == nullptr) {
    return;  // closed, or Open failed
  }
  const Status status = Close();
  if (!status.ok()) {
    Log(LogLevel::kError, "closing the tree store: " + status.ToString());
  }
}

Result<BTree*> TreeStore::CreateTree(std::string_view name) {
  MVDB_RETURN_IF_ERROR(CheckTreeName(name));
  const CheckpointGate::SharedHold hold(&gate_);  // the root and its entry together
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Closed();
  }
  std::string existing;
  const Status found = directory_->Get(name, &existing);
  if (found.ok()) {
    return Status::InvalidArgument("tree '" + std::string(name) + "' exists already");
  }
  if (!found.IsNotFound()) {
    return found;
  }
  PageId root = kInvalidPageId;
  {
    MVDB_ASSIGN_OR_RETURN(WritePageGuard guard, allocator_->Allocate(PageType::kBTreeLeaf));
    btree::Node(guard.mutable_data()).InitLeaf();
    root = guard.id();
  }
  const Status put = directory_->Put(name, EncodeRootId(root));
  if (!put.ok()) {
    // Nothing refers to the page yet; the Put's error is the one to report.
    (void)allocator_->Free(root);
    return put;
  }
  auto tree =
      std::make_unique<BTree>(pool_.get(), allocator_.get(), root, std::string(name), &gate_);
  BTree* raw = tree.get();
  trees_.insert_or_assign(std::string(name), std::move(tree));
  return raw;
}

Result<PageId> TreeStore::RootOf(std::string_view name) {
  std::string value;
  const Status found = directory_->Get(name, &value);
  if (found.IsNotFound()) {
    return Status::NotFound("no tree named '" + std::string(name) + "'");
  }
  MVDB_RETURN_IF_ERROR(found);
  MVDB_ASSIGN_OR_RETURN(const PageId root, DecodeRootId(name, value));
  MVDB_ASSIGN_OR_RETURN(const MetaPage meta, allocator_->ReadMeta());
  if (root < kReservedPages || root >= meta.page_count) {
    return Status::Corruption(file_->path() + ": directory entry for tree '" + std::string(name) +
                              "' names root page " + std::to_string(root) + ", outside [" +
                              std::to_string(kReservedPages) + ", " +
                              std::to_string(meta.page_count) + ")");
  }
  return root;
}

Result<BTree*> TreeStore::OpenTree(std::string_view name) {
  MVDB_RETURN_IF_ERROR(CheckTreeName(name));
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Closed();
  }
  if (auto it = trees_.find(name); it != trees_.end()) {
    return it->second.get();
  }
  MVDB_ASSIGN_OR_RETURN(const PageId root, RootOf(name));
  auto tree =
      std::make_unique<BTree>(pool_.get(), allocator_.get(), root, std::string(name), &gate_);
  BTree* raw = tree.get();
  trees_.emplace(std::string(name), std::move(tree));
  return raw;
}

Status TreeStore::DropTree(std::string_view name) {
  MVDB_RETURN_IF_ERROR(CheckTreeName(name));
  const CheckpointGate::SharedHold hold(&gate_);  // the entry and the pages together
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Closed();
  }
  MVDB_ASSIGN_OR_RETURN(const PageId root, RootOf(name));
  std::unique_ptr<BTree> tree;
  if (auto it = trees_.find(name); it != trees_.end()) {
    tree = std::move(it->second);
    trees_.erase(it);
  } else {
    tree = std::make_unique<BTree>(pool_.get(), allocator_.get(), root, std::string(name), &gate_);
  }
  // The entry goes first: if freeing fails halfway the pages leak (Check
  // reports them) rather than a directory entry naming freed pages.
  MVDB_RETURN_IF_ERROR(directory_->Delete(name));
  return tree->Destroy();
}

Result<std::vector<std::string>> TreeStore::ListTrees() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Closed();
  }
  std::vector<std::string> names;
  std::unique_ptr<BTreeCursor> cursor = directory_->NewCursor();
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    names.emplace_back(cursor->key());
  }
  MVDB_RETURN_IF_ERROR(cursor->status());
  return names;
}

Result<CheckpointResult> TreeStore::Checkpoint(uint64_t lsn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return Closed();
    }
  }
  // Not under mu_: writers in CreateTree hold the gate and wait for mu_.
  return page_store_->Checkpoint(pool_.get(), &gate_, lsn);
}

Result<CheckpointResult> TreeStore::Checkpoint(const CheckpointHooks& hooks) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return Closed();
    }
  }
  return page_store_->Checkpoint(pool_.get(), &gate_, hooks);
}

Status TreeStore::Flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return Closed();
    }
  }
  return page_store_->Checkpoint(pool_.get(), &gate_, page_store_->checkpoint_lsn()).status();
}

Status TreeStore::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Status::OK();
  }
  Status status;
  for (auto& [name, tree] : trees_) {
    const Status released = tree->ReleaseDeferredPages();
    if (status.ok()) {
      status = released;
    }
  }
  const Status released = directory_->ReleaseDeferredPages();
  if (status.ok()) {
    status = released;
  }
  // Nobody else uses the store now (REQUIRES), so no gate is needed.
  const Status flushed =
      page_store_->Checkpoint(pool_.get(), nullptr, page_store_->checkpoint_lsn()).status();
  if (status.ok()) {
    status = flushed;
  }
  ReleaseLocked();
  return status;
}

void TreeStore::Abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  ReleaseLocked();
}

// Drops every layer, top down: trees before the pool they latch, the pool
// before the store it writes to, the store before its file.
void TreeStore::ReleaseLocked() {
  closed_ = true;
  trees_.clear();
  directory_.reset();
  allocator_.reset();
  pool_.reset();
  page_store_.reset();
  file_.reset();
}

namespace {

// Who uses each page, for Check's "exactly once" rule.
class PageOwners {
 public:
  PageOwners(const PageStore* store, uint64_t page_count)
      : store_(store), owner_of_(page_count, -1) {}

  int AddOwner(std::string name) {
    names_.push_back(std::move(name));
    return static_cast<int>(names_.size()) - 1;
  }

  Status Claim(PageId id, int owner) {
    if (id >= owner_of_.size()) {
      return Status::Corruption(store_->path() + ": page " + std::to_string(id) + " of " +
                                names_[owner] + " lies beyond the file's " +
                                std::to_string(owner_of_.size()) + " pages");
    }
    if (owner_of_[id] >= 0) {
      return Status::Corruption(store_->PageLocation(id) + " is used twice: by " +
                                names_[owner_of_[id]] + " and by " + names_[owner]);
    }
    owner_of_[id] = owner;
    return Status::OK();
  }

  Status CheckNoneLeaked() const {
    for (PageId id = 0; id < owner_of_.size(); ++id) {
      if (owner_of_[id] < 0) {
        return Status::Corruption(store_->PageLocation(id) +
                                  " is leaked: in no tree and not on the free list");
      }
    }
    return Status::OK();
  }

 private:
  const PageStore* store_;
  std::vector<std::string> names_;
  std::vector<int> owner_of_;
};

}  // namespace

Result<StoreCheckReport> TreeStore::Check() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    return Closed();
  }
  StoreCheckReport report;
  MVDB_RETURN_IF_ERROR(page_store_->Verify());
  const CowStoreStats map_stats = page_store_->stats();
  report.checkpoint_number = map_stats.checkpoint_number;
  report.mapped_pages = map_stats.mapped_pages;
  report.slot_count = map_stats.slot_count;
  report.free_slots = map_stats.free_slots;
  MVDB_ASSIGN_OR_RETURN(const MetaPage meta, allocator_->ReadMeta());
  report.page_count = meta.page_count;
  PageOwners owners(page_store_.get(), meta.page_count);
  MVDB_RETURN_IF_ERROR(owners.Claim(kMetaPageId, owners.AddOwner("the meta page")));

  std::vector<PageId> pages;
  TreeCheckReport directory_report;
  MVDB_RETURN_IF_ERROR(directory_->Check(&directory_report, &pages).WithContext("tree directory"));
  const int directory_owner = owners.AddOwner("the tree directory");
  for (const PageId id : pages) {
    MVDB_RETURN_IF_ERROR(owners.Claim(id, directory_owner));
  }

  std::vector<std::pair<std::string, PageId>> entries;
  {
    std::unique_ptr<BTreeCursor> cursor = directory_->NewCursor();
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
      MVDB_ASSIGN_OR_RETURN(const PageId root, DecodeRootId(cursor->key(), cursor->value()));
      entries.emplace_back(std::string(cursor->key()), root);
    }
    MVDB_RETURN_IF_ERROR(cursor->status());
  }
  for (const auto& [name, root] : entries) {
    const std::string owner_name = "tree '" + name + "'";
    const int owner = owners.AddOwner(owner_name);
    MVDB_RETURN_IF_ERROR(owners.Claim(root, owner));  // a root out of range stops here
    auto it = trees_.find(name);
    if (it == trees_.end()) {
      it = trees_
               .emplace(name,
                        std::make_unique<BTree>(pool_.get(), allocator_.get(), root, name, &gate_))
               .first;
    }
    pages.clear();
    TreeCheckReport tree_report;
    MVDB_RETURN_IF_ERROR(it->second->Check(&tree_report, &pages).WithContext(owner_name));
    for (const PageId id : pages) {
      if (id != root) {
        MVDB_RETURN_IF_ERROR(owners.Claim(id, owner));
      }
    }
    report.trees.emplace_back(name, tree_report);
  }

  const int free_owner = owners.AddOwner("the free list");
  MVDB_RETURN_IF_ERROR(allocator_->ForEachFreePage([&](PageId id) {
    ++report.free_pages;
    return owners.Claim(id, free_owner);
  }));
  if (report.free_pages != meta.free_pages) {
    return Status::Corruption(
        file_->path() + ": the meta page counts " + std::to_string(meta.free_pages) +
        " free pages, the free list holds " + std::to_string(report.free_pages));
  }
  MVDB_RETURN_IF_ERROR(owners.CheckNoneLeaked());
  return report;
}

}  // namespace mvdb
