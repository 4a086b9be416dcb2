// The checkpoint protocol: copy-on-write write-back through a page map.
//
// Terms. A slot is a kPageSize piece of the data file. Checkpoint N is
// durable once its meta slot is on disk. The pool's epoch W is the number of
// the next checkpoint: pages dirtied now belong to it. Each logical page has
// a live location (slot) and the epoch that slot was allocated in.
//
// Invariants, and why they hold:
//
//  1. No write ever lands on a slot the newest durable checkpoint, or a
//     checkpoint being written, references. So a torn or lost write, or a
//     crash anywhere, leaves every durable checkpoint intact, and opening
//     the file finds the newest one whole.
//
//  2. The write-back rule, decided in one place (PlaceLocked): an image for
//     epoch E goes to the page's slot if that slot was allocated in epoch E,
//     otherwise to a fresh slot allocated in epoch E. A slot allocated in
//     epoch E is referenced by no checkpoint older than E, and checkpoint E
//     references it only as the page's image of epoch E, which is what
//     overwrites it. Hence invariant 1 for page images.
//
//  3. Consistency at one moment. Checkpoint C holds the CheckpointGate
//     exclusively, so no tree modification is half done, closes the pool's
//     epoch (W becomes C + 1) and copies the live map. Every page dirty at
//     that moment is owed to C: write-before-modify in the pool (its
//     invariant 9) writes it, with epoch C, before anyone changes it again;
//     every clean page's image is already at its mapped slot. An owed image
//     records its slot in C's map (checkpoint_map_). A page rewritten in
//     epoch C + 1 moves to a fresh slot, and C's map keeps the old one.
//     So C's map names exactly the images of the moment of the gate.
//
//  4. C writes its pages before its map: Checkpoint runs
//     BufferPool::WriteBackOwed (which also waits for write-backs of owed
//     pages other threads have in flight) and then waits until no
//     WritePages call carrying an image of epoch <= C is in flight. Then it
//     writes the map pages and roots to fresh slots, syncs, writes the meta
//     slot not holding the durable checkpoint, and syncs again. A crash
//     before that meta write completes leaves the old meta slot the newest
//     valid one (a torn meta write fails its CRC); after it, C is complete
//     on disk.
//
//  5. Slots are freed only when no needed checkpoint references them. When
//     a page moves out of a slot allocated in an older epoch during epoch
//     E, that slot is referenced by checkpoint E - 1 and possibly older
//     ones, and not by E: it is freed once E is durable (release_at_[E]).
//     The previous checkpoint's map slots are freed once the next is
//     durable. Until then recovery may still read them.
//
//  6. Opening derives the free slots: every slot below the checkpoint's slot
//     count that neither a meta slot, a map root, a map page nor a map entry
//     names is free. No free list is persisted, so none can be wrong.
//
//  7. Sticky failure. A failed write or sync may have left the file in a
//     state the store cannot know (PostgreSQL's fsync lesson), so the store
//     refuses every later write, sync and checkpoint. Invariant 1 means the
//     newest durable checkpoint survived whatever happened, so reopening
//     recovers it.
#include "buffer/cow_page_store.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>

namespace mvdb {

namespace ckpt = checkpoint;

namespace {

// Logical page ids past this are refused rather than growing the map.
constexpr PageId kMaxLogicalPages = PageId{1} << 40;

struct AlignedFree {
  void operator()(std::byte* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::byte, AlignedFree>;

AlignedBuffer AllocatePages(size_t pages) {
  return AlignedBuffer(
      static_cast<std::byte*>(std::aligned_alloc(4096, std::max<size_t>(pages, 1) * kPageSize)));
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string AtOffset(const std::string& path, uint64_t slot) {
  return path + ": offset " + std::to_string(ckpt::SlotOffset(slot));
}

// The map of one checkpoint as read from disk, with every slot it uses.
struct LoadedMap {
  std::vector<uint64_t> entries;    // by logical id
  std::vector<uint64_t> map_slots;  // roots and map pages
  std::vector<bool> used;           // by slot: meta slots and everything above
};

// Reads slot `slot` and decodes it as a map page or root of checkpoint
// `number`. Every failure names the file and the offset.
Result<ckpt::MapPage> ReadMapPage(File* file, uint64_t slot, PageType type, uint64_t number,
                                  std::byte* buffer) {
  const std::span<std::byte> page(buffer, kPageSize);
  const std::string where = AtOffset(file->path(), slot);
  if (Status read = file->ReadAt(ckpt::SlotOffset(slot), page); !read.ok()) {
    return read.WithContext(file->path() + ": checkpoint " + std::to_string(number));
  }
  MVDB_RETURN_IF_ERROR(VerifyPage(page, slot, file->path(), ckpt::SlotOffset(slot)));
  Result<ckpt::MapPage> decoded = ckpt::DecodeMapPage(page, type, number);
  if (!decoded.ok()) {
    return Status::Corruption(where + ": checkpoint " + std::to_string(number) + ": " +
                              std::string(decoded.status().message()));
  }
  return decoded;
}

// Loads and checks the map of checkpoint `meta` (invariant 6's inputs).
Result<LoadedMap> LoadMap(File* file, const ckpt::Meta& meta) {
  const std::string& path = file->path();
  const std::string which = "checkpoint " + std::to_string(meta.number);
  LoadedMap loaded;
  loaded.used.assign(meta.slot_count, false);
  for (uint64_t slot = 0; slot < ckpt::kMetaSlots; ++slot) loaded.used[slot] = true;
  auto claim = [&](uint64_t slot, uint64_t named_at, const std::string& what) -> Status {
    if (slot < ckpt::kMetaSlots || slot >= meta.slot_count) {
      return Status::Corruption(AtOffset(path, named_at) + ": " + which + ": " + what +
                                " names slot " + std::to_string(slot) + ", outside [2, " +
                                std::to_string(meta.slot_count) + ")");
    }
    if (loaded.used[slot]) {
      return Status::Corruption(AtOffset(path, named_at) + ": " + which + ": " + what +
                                " names slot " + std::to_string(slot) + " at offset " +
                                std::to_string(ckpt::SlotOffset(slot)) + ", which is used twice");
    }
    loaded.used[slot] = true;
    return Status::OK();
  };

  AlignedBuffer buffer = AllocatePages(1);
  if (!buffer) return Status::IOError(path + ": cannot allocate a read buffer");
  std::vector<uint64_t> map_pages;
  const uint64_t max_roots = ckpt::MapPagesFor(meta.map_pages);
  uint64_t root = meta.map_root;
  uint64_t named_at = 0;  // the meta slot names the first root
  for (uint64_t roots = 0; root != ckpt::kUnmapped; ++roots) {
    if (roots >= max_roots) {
      return Status::Corruption(AtOffset(path, root) + ": " + which + ": more than " +
                                std::to_string(max_roots) + " map roots (a cycle?)");
    }
    MVDB_RETURN_IF_ERROR(claim(root, named_at, "the map root chain"));
    loaded.map_slots.push_back(root);
    MVDB_ASSIGN_OR_RETURN(ckpt::MapPage page, ReadMapPage(file, root, PageType::kPageMapRoot,
                                                          meta.number, buffer.get()));
    for (const uint64_t slot : page.entries) {
      MVDB_RETURN_IF_ERROR(claim(slot, root, "a map root entry"));
      map_pages.push_back(slot);
      loaded.map_slots.push_back(slot);
    }
    named_at = root;
    root = page.first_or_next;
  }
  if (map_pages.size() != meta.map_pages) {
    return Status::Corruption(path + ": " + which + ": the map roots list " +
                              std::to_string(map_pages.size()) + " map pages, the meta slot " +
                              std::to_string(meta.map_pages));
  }
  loaded.entries.assign(meta.logical_pages, ckpt::kUnmapped);
  for (uint64_t i = 0; i < map_pages.size(); ++i) {
    const uint64_t slot = map_pages[i];
    MVDB_ASSIGN_OR_RETURN(ckpt::MapPage page,
                          ReadMapPage(file, slot, PageType::kPageMap, meta.number, buffer.get()));
    const uint64_t first = i * ckpt::kMapEntriesPerPage;
    const uint64_t expected =
        std::min<uint64_t>(ckpt::kMapEntriesPerPage, meta.logical_pages - first);
    if (page.first_or_next != first || page.entries.size() != expected) {
      return Status::Corruption(AtOffset(path, slot) + ": " + which + ": map page covers ids [" +
                                std::to_string(page.first_or_next) + ", +" +
                                std::to_string(page.entries.size()) + "), expected [" +
                                std::to_string(first) + ", +" + std::to_string(expected) + ")");
    }
    for (size_t j = 0; j < page.entries.size(); ++j) {
      const uint64_t location = page.entries[j];
      if (location == ckpt::kUnmapped) continue;
      MVDB_RETURN_IF_ERROR(claim(location, slot, "the entry of page " + std::to_string(first + j)));
      loaded.entries[first + j] = location;
    }
  }
  return loaded;
}

}  // namespace

// ---- opening ----

Status CowPageStore::CreateFile(FileSystem* fs, const std::string& path) {
  const std::string temp = path + ".new";
  OpenOptions options;
  options.create = true;
  {
    MVDB_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->Open(temp, options));
    MVDB_RETURN_IF_ERROR(file->Truncate(0));  // left over from a crashed creation
    AlignedBuffer slots = AllocatePages(ckpt::kMetaSlots);
    if (!slots) return Status::IOError(path + ": cannot allocate the meta slots");
    std::memset(slots.get(), 0, ckpt::kMetaSlots * kPageSize);
    ckpt::Meta meta;
    meta.slot_count = ckpt::kMetaSlots;
    ckpt::EncodeMeta(meta, std::span<std::byte>(slots.get(), kPageSize));
    MVDB_RETURN_IF_ERROR(
        file->WriteAt(0, std::span<const std::byte>(slots.get(), ckpt::kMetaSlots * kPageSize)));
    MVDB_RETURN_IF_ERROR(file->Sync());
  }
  MVDB_RETURN_IF_ERROR(fs->Rename(temp, path));
  return fs->SyncDir(DirOf(path));
}

Result<std::unique_ptr<CowPageStore>> CowPageStore::Open(File* file) {
  const std::string& path = file->path();
  MVDB_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  AlignedBuffer slots = AllocatePages(ckpt::kMetaSlots);
  if (!slots) return Status::IOError(path + ": cannot allocate the meta slots");
  std::memset(slots.get(), 0, ckpt::kMetaSlots * kPageSize);
  // A file shorter than the meta slots reads as zeros beyond its end: those
  // slots are then empty, which the decoder reports.
  const uint64_t present = std::min<uint64_t>(size, ckpt::kMetaSlots * kPageSize);
  if (present > 0) {
    MVDB_RETURN_IF_ERROR(file->ReadAt(0, std::span<std::byte>(slots.get(), present)));
  }
  Result<ckpt::Meta> metas[ckpt::kMetaSlots] = {
      ckpt::DecodeMeta(std::span<const std::byte>(slots.get(), kPageSize)),
      ckpt::DecodeMeta(std::span<const std::byte>(slots.get() + kPageSize, kPageSize))};
  int chosen = -1;
  for (int i = 0; i < static_cast<int>(ckpt::kMetaSlots); ++i) {
    if (metas[i].ok() && (chosen < 0 || metas[i]->number > metas[chosen]->number)) chosen = i;
  }
  if (chosen < 0) {
    return Status::Corruption(path + ": no valid checkpoint: meta slot at offset 0: " +
                              std::string(metas[0].status().message()) + "; meta slot at offset " +
                              std::to_string(kPageSize) + ": " +
                              std::string(metas[1].status().message()));
  }
  const ckpt::Meta& meta = *metas[chosen];
  // Everything a checkpoint references was written and synced before its
  // meta slot, so the file reaches its last slot.
  if (ckpt::SlotOffset(meta.slot_count) > size) {
    return Status::Corruption(
        path + ": checkpoint " + std::to_string(meta.number) + " in the meta slot at offset " +
        std::to_string(ckpt::SlotOffset(chosen)) + " spans " + std::to_string(meta.slot_count) +
        " slots, the file only " + std::to_string(size) + " bytes (truncated?)");
  }
  MVDB_ASSIGN_OR_RETURN(LoadedMap loaded, LoadMap(file, meta));

  std::unique_ptr<CowPageStore> store(new CowPageStore(file));
  store->durable_ = meta;
  store->durable_meta_slot_ = chosen;
  store->write_epoch_ = meta.number + 1;
  store->slot_count_ = meta.slot_count;
  store->durable_map_slots_ = std::move(loaded.map_slots);
  store->live_.resize(loaded.entries.size());
  for (size_t id = 0; id < loaded.entries.size(); ++id) {
    store->live_[id] = MapEntry{loaded.entries[id], meta.number};
  }
  for (uint64_t slot = ckpt::kMetaSlots; slot < meta.slot_count; ++slot) {
    if (!loaded.used[slot]) store->free_slots_.push_back(slot);
  }
  std::make_heap(store->free_slots_.begin(), store->free_slots_.end(), std::greater<>());
  return store;
}

CowPageStore::~CowPageStore() = default;

// ---- failure ----

Status CowPageStore::FailedLocked() const {
  if (failure_.ok()) return Status::OK();
  return Status::IOError("data file failed: " + failure_.ToString() +
                         "; reopen the database to recover");
}

void CowPageStore::FailLocked(const Status& cause) {
  if (failure_.ok()) failure_ = cause;
}

Status CowPageStore::Fail(const Status& cause) {
  std::lock_guard lock(mu_);
  FailLocked(cause);
  return FailedLocked();
}

Status CowPageStore::failure() const {
  std::lock_guard lock(mu_);
  return FailedLocked();
}

// ---- slots and placement ----

uint64_t CowPageStore::AllocateSlotLocked() {
  if (free_slots_.empty()) return slot_count_++;
  std::pop_heap(free_slots_.begin(), free_slots_.end(), std::greater<>());
  const uint64_t slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void CowPageStore::FreeSlotLocked(uint64_t slot) {
  free_slots_.push_back(slot);
  std::push_heap(free_slots_.begin(), free_slots_.end(), std::greater<>());
}

Status CowPageStore::CheckWriteLocked(const PageWrite& page) const {
  if (page.data.size() != kPageSize) {
    return Status::InvalidArgument(path() + ": page buffer of " + std::to_string(page.data.size()) +
                                   " bytes, expected " + std::to_string(kPageSize));
  }
  if (page.id >= kMaxLogicalPages) {
    return Status::InvalidArgument(path() + ": page id " + std::to_string(page.id) +
                                   " out of range");
  }
  if (page.epoch == write_epoch_) return Status::OK();
  // An older epoch is an image owed to the checkpoint in progress; nothing
  // else may carry one (the pool's invariant 9 and Checkpoint's step 4).
  const bool owed = in_progress_ && page.epoch < write_epoch_ &&
                    (page.id >= live_.size() || live_[page.id].epoch <= in_progress_number_);
  if (owed) return Status::OK();
  return Status::InvalidArgument(path() + ": page " + std::to_string(page.id) +
                                 " written for epoch " + std::to_string(page.epoch) +
                                 ", the store is at epoch " + std::to_string(write_epoch_));
}

// The write-back rule (invariant 2). Returns the slot to write to.
uint64_t CowPageStore::PlaceLocked(PageId id, uint64_t epoch) {
  if (id >= live_.size()) live_.resize(id + 1);
  MapEntry& entry = live_[id];
  const bool owed = epoch < write_epoch_;
  const uint64_t target = owed ? in_progress_number_ : write_epoch_;
  if (entry.slot == ckpt::kUnmapped || entry.epoch != target) {
    const uint64_t fresh = AllocateSlotLocked();
    if (entry.slot != ckpt::kUnmapped) release_at_[target].push_back(entry.slot);
    entry = MapEntry{fresh, target};
  }
  if (owed) {
    if (id >= checkpoint_map_.size()) checkpoint_map_.resize(id + 1, ckpt::kUnmapped);
    checkpoint_map_[id] = entry.slot;
  }
  return entry.slot;
}

// ---- reads and writes ----

// Pages whose slots follow each other in the file are read as one request
// of up to kMaxMergedPages into a scratch buffer and copied to their
// frames: read-ahead asks for the next leaves, and leaves written in key
// order sit in consecutive slots. With direct I/O that turns a window of
// 8 KiB reads into a few large ones: the development VM's virtual disk
// gave 31k reads/s of 8 KiB at queue depth 64 (254 MB/s) and 1 GB/s in
// reads of 128 KiB (bench/README.md, "Read-ahead"). A merged read that fails is
// retried page by page, so each page still gets its own result (an error
// names the page's own offset).
void CowPageStore::ReadMerged(std::span<IoRequest> requests) {
  constexpr size_t kMaxMergedPages = 32;
  if (requests.size() == 1) {
    (void)file_->SubmitBatch(requests);  // its result says it all
    return;
  }
  std::vector<size_t> order(requests.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return requests[a].offset < requests[b].offset; });
  struct Run {
    size_t begin;  // into order
    size_t end;
    size_t scratch_page;  // first page of its scratch space (runs of 2 or more)
  };
  std::vector<Run> runs;
  size_t scratch_pages = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const bool extends = !runs.empty() && runs.back().end - runs.back().begin < kMaxMergedPages &&
                         requests[order[k]].offset == requests[order[k - 1]].offset + kPageSize;
    if (extends) {
      ++runs.back().end;
    } else {
      runs.push_back(Run{k, k + 1, 0});
    }
  }
  for (Run& run : runs) {
    if (run.end - run.begin > 1) {
      run.scratch_page = scratch_pages;
      scratch_pages += run.end - run.begin;
    }
  }
  if (scratch_pages == 0) {
    (void)file_->SubmitBatch(requests);  // per-request results
    return;
  }
  AlignedBuffer scratch = AllocatePages(scratch_pages);
  if (!scratch) {
    (void)file_->SubmitBatch(requests);
    return;
  }
  std::vector<IoRequest> merged(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    const size_t count = run.end - run.begin;
    IoRequest& io = merged[r];
    io.op = IoRequest::Op::kRead;
    io.offset = requests[order[run.begin]].offset;
    io.data = count == 1 ? requests[order[run.begin]].data
                         : std::span<std::byte>(scratch.get() + run.scratch_page * kPageSize,
                                                count * kPageSize);
  }
  (void)file_->SubmitBatch(merged);  // per-request results
  std::vector<IoRequest> retry;
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    const size_t count = run.end - run.begin;
    if (count == 1) {
      requests[order[run.begin]].result = std::move(merged[r].result);
      continue;
    }
    for (size_t k = run.begin; k < run.end; ++k) {
      IoRequest& request = requests[order[k]];
      if (merged[r].result.ok()) {
        std::memcpy(request.data.data(), merged[r].data.data() + (k - run.begin) * kPageSize,
                    kPageSize);
        request.result = Status::OK();
      } else {
        retry.push_back(request);
      }
    }
  }
  if (retry.empty()) return;
  (void)file_->SubmitBatch(retry);
  for (const IoRequest& done : retry) {
    for (IoRequest& request : requests) {
      if (request.offset == done.offset && request.data.data() == done.data.data()) {
        request.result = done.result;
      }
    }
  }
}

Status CowPageStore::ReadPages(std::span<PageRead> pages) {
  std::vector<IoRequest> requests;
  std::vector<size_t> request_page;
  std::vector<uint64_t> slots(pages.size(), ckpt::kUnmapped);
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < pages.size(); ++i) {
      if (pages[i].id < live_.size()) slots[i] = live_[pages[i].id].slot;
    }
  }
  for (size_t i = 0; i < pages.size(); ++i) {
    PageRead& page = pages[i];
    if (page.data.size() != kPageSize) {
      page.result = Status::InvalidArgument(path() + ": page buffer of " +
                                            std::to_string(page.data.size()) + " bytes");
      continue;
    }
    page.result = Status::OK();
    if (slots[i] == ckpt::kUnmapped) {
      // Allocated but never written back: a free page (PageStore invariant 3).
      std::memset(page.data.data(), 0, kPageSize);
      continue;
    }
    IoRequest request;
    request.op = IoRequest::Op::kRead;
    request.offset = ckpt::SlotOffset(slots[i]);
    request.data = page.data;
    requests.push_back(request);
    request_page.push_back(i);
  }
  if (!requests.empty()) ReadMerged(requests);
  for (size_t r = 0; r < requests.size(); ++r) {
    PageRead& page = pages[request_page[r]];
    page.result = requests[r].result.ok()
                      ? VerifyPage(page.data, page.id, path(), requests[r].offset)
                      : requests[r].result;
  }
  Status first;
  for (const PageRead& page : pages) {
    if (!page.result.ok() && first.ok()) first = page.result;
  }
  return first;
}

Status CowPageStore::WritePages(std::span<PageWrite> pages) {
  if (pages.empty()) return Status::OK();
  std::vector<IoRequest> requests(pages.size());
  uint64_t min_epoch = UINT64_MAX;
  {
    std::lock_guard lock(mu_);
    MVDB_RETURN_IF_ERROR(FailedLocked());
    for (const PageWrite& page : pages) {
      if (Status valid = CheckWriteLocked(page); !valid.ok()) {
        // A protocol violation: placing it could break a checkpoint.
        FailLocked(valid);
        return FailedLocked();
      }
    }
    for (size_t i = 0; i < pages.size(); ++i) {
      requests[i].op = IoRequest::Op::kWrite;
      requests[i].offset = ckpt::SlotOffset(PlaceLocked(pages[i].id, pages[i].epoch));
      requests[i].data = pages[i].data;
      min_epoch = std::min(min_epoch, pages[i].epoch);
    }
    ++writes_in_flight_[min_epoch];
  }
  for (PageWrite& page : pages) {
    PageView(page.data).set_generation(page.epoch);
    SealPage(page.data);
  }
  const Status status = file_->SubmitBatch(requests);
  std::lock_guard lock(mu_);
  if (--writes_in_flight_[min_epoch] == 0) writes_in_flight_.erase(min_epoch);
  writes_done_.notify_all();
  if (!status.ok()) {
    FailLocked(status);
    return FailedLocked();
  }
  return Status::OK();
}

Status CowPageStore::Sync() {
  MVDB_RETURN_IF_ERROR(failure());
  const Status status = file_->Sync();
  return status.ok() ? status : Fail(status);
}

std::string CowPageStore::PageLocation(PageId id) const {
  Result<uint64_t> offset = OffsetOf(id);
  if (!offset.ok()) return path() + ": page " + std::to_string(id) + " (not mapped)";
  return path() + ": page " + std::to_string(id) + " at offset " + std::to_string(*offset);
}

Result<uint64_t> CowPageStore::OffsetOf(PageId id) const {
  std::lock_guard lock(mu_);
  if (id >= live_.size() || live_[id].slot == ckpt::kUnmapped) {
    return Status::NotFound(path() + ": page " + std::to_string(id) + " has no location");
  }
  return ckpt::SlotOffset(live_[id].slot);
}

// ---- checkpoints ----

Result<CheckpointResult> CowPageStore::Checkpoint(BufferPool* pool, CheckpointGate* gate,
                                                  uint64_t lsn) {
  CheckpointHooks hooks;
  hooks.lsn_at_gate = [lsn] { return lsn; };
  return Checkpoint(pool, gate, hooks);
}

Result<CheckpointResult> CowPageStore::Checkpoint(BufferPool* pool, CheckpointGate* gate,
                                                  const CheckpointHooks& hooks) {
  std::lock_guard serial(checkpoint_mu_);
  const auto start = std::chrono::steady_clock::now();
  MVDB_RETURN_IF_ERROR(failure());
  CheckpointResult result;
  uint64_t number = 0;
  uint64_t lsn = checkpoint_lsn();
  {
    // Invariant 3: the moment the checkpoint is consistent as of.
    std::unique_ptr<CheckpointGate::ExclusiveHold> hold;
    if (gate != nullptr) hold = std::make_unique<CheckpointGate::ExclusiveHold>(gate);
    const auto gate_start = std::chrono::steady_clock::now();
    result.gate_wait = gate_start - start;
    if (hooks.lsn_at_gate) lsn = hooks.lsn_at_gate();
    {
      std::lock_guard lock(mu_);
      if (pool->epoch() != write_epoch_) {
        return Status::InvalidArgument(path() + ": the buffer pool is at epoch " +
                                       std::to_string(pool->epoch()) + ", the store at " +
                                       std::to_string(write_epoch_));
      }
      number = pool->AdvanceEpoch();
      checkpoint_map_.resize(live_.size());
      for (size_t id = 0; id < live_.size(); ++id) checkpoint_map_[id] = live_[id].slot;
      in_progress_ = true;
      in_progress_number_ = number;
      write_epoch_ = number + 1;
    }
    result.gate_hold = std::chrono::steady_clock::now() - gate_start;
  }

  // Invariant 4: the owed pages, then everything in flight that carries one.
  if (Status written = pool->WriteBackOwed(number); !written.ok()) return Fail(written);
  {
    std::unique_lock lock(mu_);
    writes_done_.wait(lock, [&] {
      return writes_in_flight_.empty() || writes_in_flight_.begin()->first > number;
    });
    MVDB_RETURN_IF_ERROR(FailedLocked());
  }
  if (hooks.before_meta) {
    if (Status logged = hooks.before_meta(lsn); !logged.ok()) return Fail(logged);
  }
  ckpt::Meta meta;
  std::vector<uint64_t> map_slots;
  if (Status status = WriteMap(number, lsn, &meta, &map_slots); !status.ok()) return Fail(status);

  {
    // Invariant 5: what only older checkpoints needed is free now.
    std::lock_guard lock(mu_);
    durable_ = meta;
    durable_meta_slot_ = 1 - durable_meta_slot_;
    for (const uint64_t slot : durable_map_slots_) FreeSlotLocked(slot);
    durable_map_slots_ = std::move(map_slots);
    while (!release_at_.empty() && release_at_.begin()->first <= number) {
      for (const uint64_t slot : release_at_.begin()->second) FreeSlotLocked(slot);
      release_at_.erase(release_at_.begin());
    }
    in_progress_ = false;
    checkpoint_map_.clear();
    checkpoint_map_.shrink_to_fit();
  }
  result.number = number;
  result.lsn = lsn;
  result.logical_pages = meta.logical_pages;
  result.map_pages = meta.map_pages;
  result.slot_count = meta.slot_count;
  result.duration = std::chrono::steady_clock::now() - start;
  return result;
}

// Writes checkpoint `number`'s map (checkpoint_map_, complete now), syncs,
// writes its meta slot and syncs again (invariant 4).
Status CowPageStore::WriteMap(uint64_t number, uint64_t lsn, ckpt::Meta* meta,
                              std::vector<uint64_t>* map_slots) {
  std::vector<uint64_t> entries;
  std::vector<uint64_t> page_slots;
  std::vector<uint64_t> root_slots;
  int meta_slot = 0;
  {
    std::lock_guard lock(mu_);
    entries.swap(checkpoint_map_);
    while (!entries.empty() && entries.back() == ckpt::kUnmapped) entries.pop_back();
    const uint64_t map_pages = ckpt::MapPagesFor(entries.size());
    const uint64_t roots = ckpt::MapPagesFor(map_pages);
    for (uint64_t i = 0; i < map_pages; ++i) page_slots.push_back(AllocateSlotLocked());
    for (uint64_t i = 0; i < roots; ++i) root_slots.push_back(AllocateSlotLocked());
    meta_slot = 1 - durable_meta_slot_;
  }
  uint64_t highest = ckpt::kMetaSlots - 1;
  for (const uint64_t slot : entries) highest = std::max(highest, slot);
  for (const uint64_t slot : page_slots) highest = std::max(highest, slot);
  for (const uint64_t slot : root_slots) highest = std::max(highest, slot);

  const size_t total = page_slots.size() + root_slots.size();
  AlignedBuffer pages = AllocatePages(std::max<size_t>(total, 1));
  if (!pages) return Status::IOError(path() + ": cannot allocate the page map");
  std::vector<IoRequest> requests(total);
  for (size_t i = 0; i < page_slots.size(); ++i) {
    const size_t first = i * ckpt::kMapEntriesPerPage;
    const size_t count = std::min(ckpt::kMapEntriesPerPage, entries.size() - first);
    std::span<std::byte> page(pages.get() + i * kPageSize, kPageSize);
    ckpt::EncodeMapPage(page_slots[i], number, first,
                        std::span<const uint64_t>(entries.data() + first, count), page);
    requests[i] = IoRequest{IoRequest::Op::kWrite, ckpt::SlotOffset(page_slots[i]), page, {}};
  }
  for (size_t r = 0; r < root_slots.size(); ++r) {
    const size_t first = r * ckpt::kMapEntriesPerPage;
    const size_t count = std::min(ckpt::kMapEntriesPerPage, page_slots.size() - first);
    const uint64_t next = r + 1 < root_slots.size() ? root_slots[r + 1] : ckpt::kUnmapped;
    const size_t index = page_slots.size() + r;
    std::span<std::byte> page(pages.get() + index * kPageSize, kPageSize);
    ckpt::EncodeMapRoot(root_slots[r], number, next,
                        std::span<const uint64_t>(page_slots.data() + first, count), page);
    requests[index] = IoRequest{IoRequest::Op::kWrite, ckpt::SlotOffset(root_slots[r]), page, {}};
  }
  if (!requests.empty()) MVDB_RETURN_IF_ERROR(file_->SubmitBatch(requests));
  MVDB_RETURN_IF_ERROR(file_->Sync());

  meta->number = number;
  meta->lsn = lsn;
  meta->logical_pages = entries.size();
  meta->map_root = root_slots.empty() ? ckpt::kUnmapped : root_slots.front();
  meta->map_pages = page_slots.size();
  meta->slot_count = highest + 1;
  std::span<std::byte> slot(pages.get(), kPageSize);
  ckpt::EncodeMeta(*meta, slot);
  MVDB_RETURN_IF_ERROR(file_->WriteAt(ckpt::SlotOffset(meta_slot), slot));
  MVDB_RETURN_IF_ERROR(file_->Sync());

  map_slots->assign(root_slots.begin(), root_slots.end());
  map_slots->insert(map_slots->end(), page_slots.begin(), page_slots.end());
  return Status::OK();
}

// ---- verification and accessors ----

Status CowPageStore::Verify() {
  std::lock_guard serial(checkpoint_mu_);
  ckpt::Meta meta;
  {
    std::lock_guard lock(mu_);
    meta = durable_;
  }
  MVDB_ASSIGN_OR_RETURN(LoadedMap durable, LoadMap(file_, meta));
  std::lock_guard lock(mu_);
  // The live map: in range, no slot twice, none free, none the durable
  // checkpoint's map pages (pages may share slots with the durable map's
  // entries only as the same page).
  std::vector<int8_t> state(slot_count_, 0);  // 1 live, 2 free, 3 map page
  for (uint64_t slot = 0; slot < ckpt::kMetaSlots; ++slot) state[slot] = 3;
  for (const uint64_t slot : durable_map_slots_) state[slot] = 3;
  for (const uint64_t slot : free_slots_) {
    if (slot >= slot_count_ || state[slot] != 0) {
      return Status::Corruption(AtOffset(path(), slot) + ": free slot " + std::to_string(slot) +
                                " is out of range or still in use");
    }
    state[slot] = 2;
  }
  for (PageId id = 0; id < live_.size(); ++id) {
    const uint64_t slot = live_[id].slot;
    if (slot == ckpt::kUnmapped) continue;
    if (slot < ckpt::kMetaSlots || slot >= slot_count_) {
      return Status::Corruption(path() + ": page " + std::to_string(id) + " maps to slot " +
                                std::to_string(slot) + ", outside [2, " +
                                std::to_string(slot_count_) + ")");
    }
    if (state[slot] != 0) {
      return Status::Corruption(AtOffset(path(), slot) + ": page " + std::to_string(id) +
                                " maps to a slot that is " +
                                (state[slot] == 1   ? "used by another page"
                                 : state[slot] == 2 ? "free"
                                                    : "a meta slot or map page"));
    }
    state[slot] = 1;
  }
  for (PageId id = 0; id < durable.entries.size(); ++id) {
    const uint64_t slot = durable.entries[id];
    if (slot != ckpt::kUnmapped && slot < slot_count_ && state[slot] == 2) {
      return Status::Corruption(AtOffset(path(), slot) + ": page " + std::to_string(id) +
                                " of the durable checkpoint lies in a free slot");
    }
  }
  return Status::OK();
}

uint64_t CowPageStore::write_epoch() const {
  std::lock_guard lock(mu_);
  return write_epoch_;
}

uint64_t CowPageStore::checkpoint_number() const {
  std::lock_guard lock(mu_);
  return durable_.number;
}

uint64_t CowPageStore::checkpoint_lsn() const {
  std::lock_guard lock(mu_);
  return durable_.lsn;
}

uint64_t CowPageStore::checkpoint_logical_pages() const {
  std::lock_guard lock(mu_);
  return durable_.logical_pages;
}

CowStoreStats CowPageStore::stats() const {
  std::lock_guard lock(mu_);
  CowStoreStats stats;
  stats.checkpoint_number = durable_.number;
  stats.checkpoint_lsn = durable_.lsn;
  for (const MapEntry& entry : live_) {
    if (entry.slot != ckpt::kUnmapped) ++stats.mapped_pages;
  }
  stats.slot_count = slot_count_;
  stats.free_slots = free_slots_.size();
  for (const auto& [epoch, slots] : release_at_) stats.pending_slots += slots.size();
  return stats;
}

}  // namespace mvdb
