// CowPageStore: a PageStore that writes copy-on-write through a page map, so
// the data file always holds a consistent checkpoint (shadow paging).
//
// The data file is an array of kPageSize slots. Slots 0 and 1 are the two
// meta slots; every other slot holds a page image at some location. Logical
// page ids (what the pool, the allocator and the B+tree use) map to slots
// through the page map, which every checkpoint writes to fresh slots. The
// format is buffer/checkpoint_format.md; the protocol and why a crash at any
// point leaves a valid checkpoint is the essay at the top of the .cc.
//
// What the caller of Checkpoint (the database facade) must do: make the WAL
// durable up to `lsn` before calling, and after it returns remove only the
// WAL before the returned LSN. Recovery opens the store (which reads the
// newest durable checkpoint) and replays the WAL from checkpoint_lsn().
//
// Sticky failure: once a write or sync of the data file fails, every later
// write, sync and checkpoint fails with IOError("data file failed: <first
// error>; reopen the database to recover"). Reads go on working. Reopening
// gives the newest durable checkpoint, which no failed write can have hurt.
//
// Threading: every method may be called concurrently; Checkpoint calls run
// one at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "buffer/buffer_pool.h"
#include "buffer/checkpoint_format.h"
#include "buffer/checkpoint_gate.h"
#include "buffer/page_store.h"
#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb {

// What one Checkpoint did.
struct CheckpointResult {
  uint64_t number = 0;         // the checkpoint now durable
  uint64_t lsn = 0;            // its LSN: the WAL before it may go
  uint64_t logical_pages = 0;  // map entries
  uint64_t map_pages = 0;
  uint64_t slot_count = 0;  // slots the checkpoint spans
  // How long the checkpoint waited for writers inside the gate to finish
  // (new writers already wait then), how long it then held the gate
  // exclusively, and the whole checkpoint.
  std::chrono::nanoseconds gate_wait{0};
  std::chrono::nanoseconds gate_hold{0};
  std::chrono::nanoseconds duration{0};
};

// How a caller with a log (the database facade) ties a checkpoint to it.
struct CheckpointHooks {
  // Runs while the gate is held exclusively, so no modification is half
  // done: returns the checkpoint's LSN, such that every log record before
  // it is in the checkpoint and none after it.
  std::function<uint64_t()> lsn_at_gate;
  // Runs once the checkpoint's pages are written, before its map and meta
  // slot, with that LSN: makes the log durable up to it (a checkpoint must
  // never hold a change whose log record could still be lost). An error
  // fails the checkpoint and, like any failed checkpoint, the store.
  std::function<Status(uint64_t lsn)> before_meta;
};

struct CowStoreStats {
  uint64_t checkpoint_number = 0;  // newest durable
  uint64_t checkpoint_lsn = 0;
  uint64_t mapped_pages = 0;  // logical pages with a location now
  uint64_t slot_count = 0;    // slots ever allocated (file size / kPageSize, roughly)
  uint64_t free_slots = 0;
  uint64_t pending_slots = 0;  // referenced by a checkpoint still needed
};

class CowPageStore final : public PageStore {
 public:
  // Creates a data file at `path` holding an empty checkpoint 0. Atomic:
  // written as "<path>.new", synced, renamed, and the directory synced, so
  // a file at `path` always has a valid checkpoint.
  static Status CreateFile(FileSystem* fs, const std::string& path);
  // Opens the newest valid checkpoint of `file` (which must outlive the
  // store). Corruption, naming the file and offsets, when neither meta slot
  // is valid or the chosen checkpoint's map is damaged.
  static Result<std::unique_ptr<CowPageStore>> Open(File* file);
  ~CowPageStore() override;

  Status ReadPages(std::span<PageRead> pages) override;
  // Places each page by the write-back rule (the .cc's invariant 2) and
  // writes it. IOError (sticky) when the store has failed.
  Status WritePages(std::span<PageWrite> pages) override;
  // Syncs the file. This makes no checkpoint: only Checkpoint does.
  Status Sync() override;
  const std::string& path() const override { return file_->path(); }
  std::string PageLocation(PageId id) const override;

  // Takes a checkpoint of every page of `pool` as of one moment, while
  // writers go on: holds `gate` (may be null if nobody else modifies pages)
  // exclusively only to close the pool's epoch and copy the map, writes the
  // pages owed to it, the map and a meta slot, syncing before and after the
  // meta slot. Returns when it is durable. REQUIRES: `pool` caches this
  // store and was created with BufferPoolOptions::epoch = write_epoch();
  // the caller does not hold `gate`.
  Result<CheckpointResult> Checkpoint(BufferPool* pool, CheckpointGate* gate, uint64_t lsn);
  // The same, with the LSN chosen under the gate and the log made durable
  // before the meta slot (CheckpointHooks). Null hooks are skipped.
  Result<CheckpointResult> Checkpoint(BufferPool* pool, CheckpointGate* gate,
                                      const CheckpointHooks& hooks);

  // Re-reads the newest durable checkpoint's map from disk and checks it
  // (map pages valid, every location in range, none used twice), then
  // checks the live map the same way and against the free slots.
  Status Verify();

  // The epoch a new BufferPool over this store starts in.
  uint64_t write_epoch() const;
  uint64_t checkpoint_number() const;
  uint64_t checkpoint_lsn() const;
  // Logical pages the newest durable checkpoint maps (0: a new file).
  uint64_t checkpoint_logical_pages() const;
  // Byte offset of logical page `id` now. NotFound when it has no location.
  Result<uint64_t> OffsetOf(PageId id) const;
  CowStoreStats stats() const;
  // OK, or the sticky failure.
  Status failure() const;

 private:
  // Runs the reads, merging those of consecutive slots (cow_page_store.cc).
  void ReadMerged(std::span<IoRequest> requests);

  struct MapEntry {
    uint64_t slot = checkpoint::kUnmapped;
    uint64_t epoch = 0;  // the epoch whose checkpoint the slot belongs to
  };

  explicit CowPageStore(File* file) : file_(file) {}

  Status FailedLocked() const;
  void FailLocked(const Status& cause);
  Status Fail(const Status& cause);
  uint64_t AllocateSlotLocked();
  void FreeSlotLocked(uint64_t slot);
  Status CheckWriteLocked(const PageWrite& page) const;
  uint64_t PlaceLocked(PageId id, uint64_t epoch);
  Status WriteMap(uint64_t number, uint64_t lsn, checkpoint::Meta* meta,
                  std::vector<uint64_t>* map_slots);

  File* file_;
  std::mutex checkpoint_mu_;  // one Checkpoint (or Verify) at a time

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable writes_done_;
  Status failure_;
  std::vector<MapEntry> live_;  // by logical id
  uint64_t write_epoch_ = 1;    // epoch of pages dirtied now
  bool in_progress_ = false;    // a checkpoint between gate and meta write
  uint64_t in_progress_number_ = 0;
  std::vector<uint64_t> checkpoint_map_;  // its map: the gate's copy plus owed writes
  checkpoint::Meta durable_;              // newest durable checkpoint
  int durable_meta_slot_ = 0;
  std::vector<uint64_t> durable_map_slots_;       // its roots and map pages
  uint64_t slot_count_ = checkpoint::kMetaSlots;  // slots ever allocated
  std::vector<uint64_t> free_slots_;              // a min-heap: low slots first
  // Slots to free once the checkpoint of the key's number is durable.
  std::map<uint64_t, std::vector<uint64_t>> release_at_;
  // WritePages calls in flight, by the lowest epoch they carry.
  std::map<uint64_t, int> writes_in_flight_;
};

}  // namespace mvdb
