// Engine::Impl: the state behind the facade, shared by engine.cc (open,
// commit path, reads, close), recovery.cc (replay) and checkpointer.cc
// (checkpoints and the background thread). Internal to engine/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "btree/tree_store.h"
#include "common/spin_mutex.h"
#include "engine/engine.h"
#include "io/file.h"
#include "mvdb/status.h"
#include "wal/wal.h"

namespace mvdb {

inline constexpr char kLockFileName[] = "LOCK";
inline constexpr char kDataFileName[] = "data.mvdb";
inline constexpr char kWalDirName[] = "wal";

struct Engine::Impl {
  std::string dir;
  EngineOptions options;
  std::unique_ptr<FileSystem> owned_fs;
  FileSystem* fs = nullptr;
  // Destroyed in reverse: the log and the store close before the lock goes.
  std::unique_ptr<FileLock> lock;
  std::unique_ptr<TreeStore> store;
  std::unique_ptr<Wal> wal;
  bool closed = false;

  // Orders Append and apply: records are applied in LSN order, so replay
  // (in LSN order) rebuilds exactly what readers saw. Taken inside the
  // checkpoint gate's shared hold (essay, invariant 2).
  SpinThenBlockMutex commit_mu;
  // Keeps a BTree* alive: Get and concurrent applies hold it shared,
  // DropTree and CheckTrees exclusively (inside commit_mu, so no new
  // concurrent apply can start meanwhile).
  std::shared_mutex trees_mu;
  // 1 + the LSN of the last record appended since Open; 0 if none. Written
  // under commit_mu, read by a checkpoint under the exclusive gate.
  std::atomic<uint64_t> last_appended_plus_one{0};

  mutable std::mutex failure_mu;
  Status failure;  // sticky; guarded by failure_mu
  std::atomic<bool> failed{false};

  // Checkpoints, one at a time.
  std::mutex checkpoint_mu;
  std::atomic<uint64_t> last_checkpoint_lsn{0};
  std::atomic<uint64_t> checkpoints{0};

  // The background thread (checkpoints and kNormal syncs).
  std::mutex background_mu;
  std::condition_variable background_cv;
  bool stopping = false;                       // guarded by background_mu
  uint64_t normal_unsynced_plus_one = 0;       // guarded by background_mu
  std::atomic<bool> checkpoint_wanted{false};  // the log grew past the threshold
  std::thread background;

  std::atomic<uint64_t> commits{0};
  uint64_t recovered_records = 0;  // set by Open

  // What Open found missing and may create, so that a failed open takes
  // back every file it made (engine.cc, "A failed open").
  struct Created {
    bool dir = false;
    bool lock = false;
    bool data = false;
    bool wal_dir = false;
    bool wal_known = false;                     // the next line was filled in
    std::vector<std::string> wal_files_before;  // names in wal/ before the open
  } created;
  // Removes what `created` says this open made. REQUIRES: the lock held,
  // the store and the log closed.
  void RemoveCreatedFiles();

  // OK, or the sticky failure.
  Status Health() const;
  // Enters the failed state (the first cause wins) and returns its status.
  Status Fail(const Status& cause);
  // health(), or InvalidArgument once closed.
  Status CheckWritable() const;

  // Lock, data file, replay, log (engine.cc).
  Status OpenFiles();
  // recovery.cc: replays the log from the store's checkpoint LSN.
  Status Replay();
  // checkpointer.cc.
  Status RunCheckpoint();
  void StartBackground();
  void StopBackground();
  void BackgroundLoop();
  // After a commit: registers a kNormal commit and wakes the thread when
  // the log has grown enough for a checkpoint.
  void AfterCommit(Lsn lsn, SyncMode mode);

  // The commit path's two halves (engine.cc). AppendRecord logs one record;
  // REQUIRES: the gate held shared and commit_mu held. An I/O error makes
  // the engine fail. Acknowledge waits, outside both, for the durability
  // `sync` asks for, then counts the record for checkpoints (invariant 4).
  Result<Lsn> AppendRecord(uint8_t type, std::string_view payload);
  Status Acknowledge(Lsn lsn, SyncMode sync);
};

// Applies a batch as it is (the default ApplyBatchFn): puts, and deletes
// that treat an absent key as no change.
Status ApplyPlainBatch(const TreeBatch& batch, std::span<BTree* const> trees);

// The file and offset of the record at `lsn` in the log `wal_dir`, for
// messages: "<segment path> at offset <o> (LSN <lsn>)".
std::string DescribeLsn(FileSystem* fs, const std::string& wal_dir, Lsn lsn);

// What a Corruption of a damaged log adds, for the database in `dir`: that
// nothing was changed, and how to accept the loss (DiscardDamagedLog).
std::string DamagedLogAdvice(const std::string& dir);

// Whether the files of the database in `dir` can recover every
// acknowledged commit, judged from which files exist (engine.cc, invariant
// 8): `checkpoint_lsn` is the LSN of data.mvdb's newest checkpoint, or
// nullopt when there is no data.mvdb. OK, or Corruption naming what is
// missing (the log directory, the LSN the checkpoint needs, the first LSN
// of a log that a lost data file needed). Open and CheckDatabase both ask
// it, so they agree.
Status JudgeLogCoverage(FileSystem* fs, const std::string& dir, std::optional<Lsn> checkpoint_lsn);

}  // namespace mvdb
