// What mvdb-bench needs from a storage engine, and nothing more: one
// key-value table of byte keys, single-write commits, point reads, a cursor,
// and (where the engine has multi-key transactions) a two-account transfer.
// Every engine — mvdb and each peer from Debian's packages — sits behind
// this interface in one file of its own (bench/driver/adapters/), so the
// workloads in workloads.cc are the same code for all of them.
//
// Threading: an EngineAdapter is shared by every benchmark thread; each
// thread makes its own Worker with NewWorker() on that thread and uses it
// only there (LMDB read transactions, WiredTiger sessions and SQLite
// connections are per-thread things). Cursors belong to their Worker's
// thread and must be destroyed before it.
//
// Errors: adapters return mvdb::Status with the engine's message; a
// transaction that lost a conflict (any engine's "try again": mvdb's
// Conflict/Deadlock, RocksDB's Busy/TryAgain, WiredTiger's WT_ROLLBACK,
// SQLite's SQLITE_BUSY) is reported as a retryable status (Conflict), which
// the driver counts as an abort and retries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mvdb/status.h"

namespace mvdb::bench {

// How an engine is opened. The driver derives it from the command line; the
// adapter maps each field onto the engine's own settings and says how in
// EngineAdapter::settings() (bench/README.md collects them).
struct EngineConfig {
  std::string dir;  // an empty directory the engine owns; it may make files and subdirectories
  size_t cache_bytes = 0;  // the engine's block/page cache (--cache-mb)
  bool sync = false;       // every commit on stable storage before it returns (--sync 1);
                           // false: every commit handed to the kernel (write(2)), not fsync'ed
  bool direct_io = false;  // read data files with O_DIRECT where the engine offers it
  int threads = 1;         // how many Workers will run at once
  uint64_t num_keys = 0;   // the data set's size, for engines that size files up front (LMDB's map)
  size_t key_size = 16;
  size_t value_size = 100;
};

// The isolation a transfer asks for. Engines without a level of that name
// run their nearest stronger level and say so in settings().
enum class Isolation : uint8_t { kReadCommitted, kSnapshot };

// A read-only view, consistent from its creation, over the whole table in
// key order.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void SeekToFirst() = 0;
  virtual void Seek(std::string_view key) = 0;  // the first key >= key
  virtual bool Valid() const = 0;
  virtual void Next() = 0;                     // REQUIRES: Valid()
  virtual std::string_view key() const = 0;    // REQUIRES: Valid(); lives until the next move
  virtual std::string_view value() const = 0;  // REQUIRES: Valid(); lives until the next move
  virtual Status status() const = 0;           // OK unless the engine failed
};

// One thread's handle on the engine.
class Worker {
 public:
  virtual ~Worker() = default;

  // Writes key = value as one commit, durable per EngineConfig::sync.
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // Writes every pair as one commit (loading the data set), not synced.
  virtual Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) = 0;
  // Writes every pair as one commit, durable per EngineConfig::sync
  // (fillbatch): through the engine's write batch where it has one
  // (mvdb's WriteBatch, LevelDB's and RocksDB's), else one transaction of
  // all the puts (LMDB, WiredTiger, SQLite, RocksDB's TransactionDB).
  virtual Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) = 0;
  // Reads the newest committed value (NotFound when there is none); sees
  // every commit acknowledged before the call.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // A cursor over the newest committed data at the time of the call.
  virtual Result<std::unique_ptr<Cursor>> NewCursor() = 0;
  // Reads key and writes value in one transaction (YCSB F's
  // read-modify-write). Engines without transactions read then write.
  virtual Status ReadModifyWrite(std::string_view key, std::string_view value) = 0;
  // Moves `amount` from account `from` to account `to` in one transaction
  // at `isolation`: reads both balances (the first 8 bytes of the value, a
  // little-endian int64), writes both back with the rest of the value kept.
  // A lost conflict returns a retryable Status (Conflict) after rolling
  // back. NotSupported for engines without multi-key transactions.
  virtual Status Transfer(std::string_view from, std::string_view to, int64_t amount,
                          Isolation isolation) = 0;
};

class EngineAdapter {
 public:
  virtual ~EngineAdapter() = default;
  virtual std::string name() const = 0;     // as on the command line: "rocksdb"
  virtual std::string version() const = 0;  // the library's own version: "7.8.3"
  // One line: the settings that matter for fairness (cache, compression,
  // log, sync, direct I/O, isolation mapping).
  virtual std::string settings() const = 0;
  virtual bool has_transactions() const = 0;
  // REQUIRES: called on the thread that will use the Worker.
  virtual Result<std::unique_ptr<Worker>> NewWorker() = 0;
  // Returns once the background work the writes so far left behind is done
  // (an LSM's flushes and compactions). The cold mode's loading process
  // calls it before closing, so that a cold run measures the engine's reads
  // rather than the compaction of the load. Engines that have no such work
  // (or finish it in Close) return at once: the default. Busy when the
  // work is still going on after the adapter's limit (two minutes).
  virtual Status WaitForBackgroundWork() { return Status::OK(); }
  // Flushes and closes; called once, after every Worker is gone. The
  // destructor closes too (without reporting errors).
  virtual Status Close() = 0;
};

// Opens engine `name` per `config`; NotSupported when this build has no
// such engine (its library was missing when mvdb-bench was configured).
Result<std::unique_ptr<EngineAdapter>> OpenEngine(std::string_view name,
                                                  const EngineConfig& config);
// The engines this build has, mvdb first.
std::vector<std::string> AvailableEngines();

// The balance of a transfer account: the value's first 8 bytes.
inline int64_t DecodeBalance(std::string_view value) {
  uint64_t x = 0;
  for (size_t b = 0; b < 8 && b < value.size(); ++b) {
    x |= uint64_t{static_cast<unsigned char>(value[b])} << (8 * b);
  }
  return static_cast<int64_t>(x);
}

// `value` with its first 8 bytes replaced by `balance`.
inline void EncodeBalance(int64_t balance, std::string* value) {
  if (value->size() < 8) value->resize(8, '\0');
  const auto x = static_cast<uint64_t>(balance);
  for (size_t b = 0; b < 8; ++b) (*value)[b] = static_cast<char>(x >> (8 * b));
}

// A transfer's body, the same in every adapter that has transactions:
// reads both balances with read(key, &value), then writes both back moved
// by `amount` with write(key, value) (each returns Status; the first
// failure is returned). With from == to nothing is written: reading both
// and writing both would create `amount`.
template <typename Read, typename Write>
Status MoveBalance(std::string_view from, std::string_view to, int64_t amount, Read&& read,
                   Write&& write) {
  std::string from_value;
  std::string to_value;
  MVDB_RETURN_IF_ERROR(read(from, &from_value));
  MVDB_RETURN_IF_ERROR(read(to, &to_value));
  if (from == to) return Status::OK();
  EncodeBalance(DecodeBalance(from_value) - amount, &from_value);
  EncodeBalance(DecodeBalance(to_value) + amount, &to_value);
  MVDB_RETURN_IF_ERROR(write(from, from_value));
  return write(to, to_value);
}

// Each adapter file defines one of these; engines.cc lists those built.
Result<std::unique_ptr<EngineAdapter>> OpenMvdb(const EngineConfig& config);
Result<std::unique_ptr<EngineAdapter>> OpenRocksDb(const EngineConfig& config);
Result<std::unique_ptr<EngineAdapter>> OpenRocksDbTxn(const EngineConfig& config);
Result<std::unique_ptr<EngineAdapter>> OpenLevelDb(const EngineConfig& config);
Result<std::unique_ptr<EngineAdapter>> OpenLmdb(const EngineConfig& config);
Result<std::unique_ptr<EngineAdapter>> OpenWiredTiger(const EngineConfig& config);
Result<std::unique_ptr<EngineAdapter>> OpenSqlite(const EngineConfig& config);

}  // namespace mvdb::bench
