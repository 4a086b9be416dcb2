// mvdb-bench's adapter for LMDB from Debian's liblmdb-dev: "lmdb", one
// environment with its unnamed database, a copy-on-write B-tree read
// through mmap.
//
// Fairness (bench/README.md repeats it): LMDB has no cache of its own — it
// reads through the OS page cache via mmap, so --cache-mb does not apply
// and direct I/O is not available; it has no compression and no write-ahead
// log (a commit writes its new pages, then a meta page). config.sync maps
// to LMDB's default (per commit: fdatasync of the pages, then the meta page
// written through an O_DSYNC descriptor); not synced maps to MDB_NOSYNC,
// which still writes each commit with pwrite (handed to the kernel) but
// skips the fsync — MDB_NOMETASYNC alone would still sync the data pages.
// MDB_NORDAHEAD because the benchmark's reads are random; MDB_NOTLS so a
// read transaction may live in a Worker or a Cursor rather than in
// thread-local storage. LMDB has a single writer: every write transaction
// takes the environment's writer mutex, so writers queue and never
// conflict, and a transfer at either isolation runs serializable.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <lmdb.h>

#include "engine_adapter.h"

namespace mvdb::bench {
namespace {

MDB_val ToVal(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }

std::string_view ToView(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

Status FromLmdb(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return Status::OK();
  const std::string msg = "lmdb: " + std::string(what) + ": " + mdb_strerror(rc);
  if (rc == MDB_NOTFOUND) return Status::NotFound(msg);
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID) {
    return Status::Corruption(msg);
  }
  if (rc == MDB_BAD_VALSIZE || rc == EINVAL) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

// A write transaction that aborts unless committed, so every early return
// gives back the writer mutex.
class WriteTxn {
 public:
  WriteTxn() = default;
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  ~WriteTxn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }

  Status Begin(MDB_env* env) {
    return FromLmdb(mdb_txn_begin(env, nullptr, 0, &txn_), "mdb_txn_begin");
  }
  Status Commit() {
    const int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;  // committed or not, the handle is freed
    return FromLmdb(rc, "mdb_txn_commit");
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

// A consistent view: its own read transaction (MDB_NOTLS lets a thread hold
// it beside its Worker's), aborted at destruction.
class LmdbCursor : public Cursor {
 public:
  LmdbCursor(MDB_txn* txn, MDB_cursor* cursor) : txn_(txn), cursor_(cursor) {}
  ~LmdbCursor() override {
    mdb_cursor_close(cursor_);
    mdb_txn_abort(txn_);
  }

  void SeekToFirst() override { Move(MDB_FIRST); }
  void Seek(std::string_view key) override {
    // LMDB rejects empty keys (MDB_BAD_VALSIZE); every key is >= "".
    if (key.empty()) return SeekToFirst();
    key_ = ToVal(key);
    Move(MDB_SET_RANGE);
  }
  bool Valid() const override { return valid_; }
  void Next() override { Move(MDB_NEXT); }
  // The pointers are into the map and live as long as the read transaction.
  std::string_view key() const override { return ToView(key_); }
  std::string_view value() const override { return ToView(value_); }
  Status status() const override { return status_; }

 private:
  void Move(MDB_cursor_op op) {
    const int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
    valid_ = rc == MDB_SUCCESS;
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) status_ = FromLmdb(rc, "mdb_cursor_get");
  }

  MDB_txn* txn_;
  MDB_cursor* cursor_;
  MDB_val key_{};
  MDB_val value_{};
  bool valid_ = false;
  Status status_;
};

class LmdbWorker : public Worker {
 public:
  // read_txn: a reset read-only transaction this Worker owns; renewed per
  // Get so each Get sees the newest commit without a reader-slot lookup.
  LmdbWorker(MDB_env* env, MDB_dbi dbi, MDB_txn* read_txn)
      : env_(env), dbi_(dbi), read_txn_(read_txn) {}
  ~LmdbWorker() override { mdb_txn_abort(read_txn_); }

  Status Put(std::string_view key, std::string_view value) override {
    WriteTxn txn;
    MVDB_RETURN_IF_ERROR(txn.Begin(env_));
    MDB_val k = ToVal(key);
    MDB_val v = ToVal(value);
    MVDB_RETURN_IF_ERROR(FromLmdb(mdb_put(txn.get(), dbi_, &k, &v, 0), "mdb_put"));
    return txn.Commit();
  }

  // With config.sync this commit is synced too, once per batch: LMDB 0.9
  // has no per-transaction MDB_NOSYNC (mdb_txn_begin takes only
  // MDB_RDONLY), and toggling it with mdb_env_set_flags would race with
  // other threads' commits.
  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    WriteTxn txn;
    MVDB_RETURN_IF_ERROR(txn.Begin(env_));
    for (const auto& [key, value] : pairs) {
      MDB_val k = ToVal(key);
      MDB_val v = ToVal(value);
      MVDB_RETURN_IF_ERROR(FromLmdb(mdb_put(txn.get(), dbi_, &k, &v, 0), "mdb_put"));
    }
    return txn.Commit();
  }

  // One write transaction of all the puts: LMDB has no batch object, and
  // its loads (PutBatch) already commit as --sync says.
  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    return PutBatch(pairs);
  }

  Status Get(std::string_view key, std::string* value) override {
    MVDB_RETURN_IF_ERROR(FromLmdb(mdb_txn_renew(read_txn_), "mdb_txn_renew"));
    MDB_val k = ToVal(key);
    MDB_val v;
    const int rc = mdb_get(read_txn_, dbi_, &k, &v);
    if (rc == MDB_SUCCESS) value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
    mdb_txn_reset(read_txn_);  // releases the snapshot so writers may reuse its pages
    return FromLmdb(rc, "mdb_get");
  }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    MDB_txn* txn = nullptr;
    MVDB_RETURN_IF_ERROR(
        FromLmdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin(rdonly)"));
    MDB_cursor* cursor = nullptr;
    const int rc = mdb_cursor_open(txn, dbi_, &cursor);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      return FromLmdb(rc, "mdb_cursor_open");
    }
    return std::unique_ptr<Cursor>(std::make_unique<LmdbCursor>(txn, cursor));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    WriteTxn txn;
    MVDB_RETURN_IF_ERROR(txn.Begin(env_));
    MDB_val k = ToVal(key);
    MDB_val old;
    const int rc = mdb_get(txn.get(), dbi_, &k, &old);
    if (rc != MDB_NOTFOUND) MVDB_RETURN_IF_ERROR(FromLmdb(rc, "mdb_get"));
    MDB_val v = ToVal(value);
    MVDB_RETURN_IF_ERROR(FromLmdb(mdb_put(txn.get(), dbi_, &k, &v, 0), "mdb_put"));
    return txn.Commit();
  }

  // Both isolation levels run as LMDB's only write level: the single
  // writer makes every write transaction serializable, so this never
  // returns Conflict.
  Status Transfer(std::string_view from, std::string_view to, int64_t amount,
                  Isolation /*isolation*/) override {
    WriteTxn txn;
    MVDB_RETURN_IF_ERROR(txn.Begin(env_));
    MVDB_RETURN_IF_ERROR(MoveBalance(
        from, to, amount,
        [&](std::string_view key, std::string* value) { return Read(txn.get(), key, value); },
        [&](std::string_view key, std::string_view value) {
          return Write(txn.get(), key, value);
        }));
    return txn.Commit();
  }

 private:
  // Copies: a later mdb_put in the same transaction may move the page the
  // returned pointer is into.
  Status Read(MDB_txn* txn, std::string_view key, std::string* value) {
    MDB_val k = ToVal(key);
    MDB_val v;
    MVDB_RETURN_IF_ERROR(FromLmdb(mdb_get(txn, dbi_, &k, &v), "mdb_get"));
    value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
    return Status::OK();
  }
  Status Write(MDB_txn* txn, std::string_view key, std::string_view value) {
    MDB_val k = ToVal(key);
    MDB_val v = ToVal(value);
    return FromLmdb(mdb_put(txn, dbi_, &k, &v, 0), "mdb_put");
  }

  MDB_env* env_;
  MDB_dbi dbi_;
  MDB_txn* read_txn_;
};

class LmdbAdapter : public EngineAdapter {
 public:
  LmdbAdapter(MDB_env* env, MDB_dbi dbi, const EngineConfig& config, size_t map_bytes)
      : env_(env), dbi_(dbi), config_(config), map_bytes_(map_bytes) {}
  ~LmdbAdapter() override {
    if (env_ != nullptr) mdb_env_close(env_);
  }

  std::string name() const override { return "lmdb"; }
  std::string version() const override {
    int major = 0;
    int minor = 0;
    int patch = 0;
    mdb_version(&major, &minor, &patch);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  }
  std::string settings() const override {
    return std::string(
               "cache: none of its own, reads through the OS page cache via mmap "
               "(--cache-mb does not apply); compression: none (LMDB has none); log: none "
               "(copy-on-write B-tree: a commit writes its pages, then a meta page); ") +
           (config_.sync ? "sync=1: LMDB's default (per commit fdatasync + O_DSYNC meta write); "
                         : "sync=0: MDB_NOSYNC (each commit written with pwrite, not fsync'ed); ") +
           "loads (PutBatch) synced once per batch when sync=1 (no per-txn NOSYNC in 0.9); direct "
           "I/O: not available (mmap); "
           "MDB_NOTLS, MDB_NORDAHEAD (random access); map size " +
           std::to_string(map_bytes_ >> 20) +
           " MiB; isolation: one writer at a time, both levels run serializable, never aborts";
  }
  bool has_transactions() const override { return true; }

  Result<std::unique_ptr<Worker>> NewWorker() override {
    MDB_txn* txn = nullptr;
    MVDB_RETURN_IF_ERROR(
        FromLmdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin(rdonly)"));
    mdb_txn_reset(txn);
    return std::unique_ptr<Worker>(std::make_unique<LmdbWorker>(env_, dbi_, txn));
  }

  Status Close() override {
    if (env_ == nullptr) return Status::OK();
    // Under MDB_NOSYNC the last commits are only in the kernel: force them out, as the other
    // engines' close does.
    Status status = FromLmdb(mdb_env_sync(env_, 1), "mdb_env_sync");
    mdb_env_close(env_);
    env_ = nullptr;
    return status;
  }

 private:
  MDB_env* env_;
  MDB_dbi dbi_;
  EngineConfig config_;
  size_t map_bytes_;
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenLmdb(const EngineConfig& config) {
  MDB_env* env = nullptr;
  MVDB_RETURN_IF_ERROR(FromLmdb(mdb_env_create(&env), "mdb_env_create"));
  // The map is address space, not memory or disk: the file grows only as
  // pages are written. Sized generously so a run never hits MDB_MAP_FULL.
  const uint64_t per_key = config.key_size + config.value_size + 64;
  const size_t map_bytes =
      std::max<uint64_t>(uint64_t{1} << 30, 8 * std::max<uint64_t>(config.num_keys, 1) * per_key);
  // A Worker's read transaction and one live Cursor per thread, plus slack.
  const unsigned int readers = 2 * static_cast<unsigned int>(std::max(config.threads, 1)) + 16;
  const unsigned int flags =
      MDB_NOTLS | MDB_NORDAHEAD | (config.sync ? 0u : static_cast<unsigned int>(MDB_NOSYNC));
  int rc = mdb_env_set_mapsize(env, map_bytes);
  if (rc == MDB_SUCCESS) rc = mdb_env_set_maxreaders(env, readers);
  if (rc == MDB_SUCCESS) rc = mdb_env_open(env, config.dir.c_str(), flags, 0644);
  if (rc != MDB_SUCCESS) {
    mdb_env_close(env);
    return FromLmdb(rc, "mdb_env_open " + config.dir);
  }
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  rc = mdb_txn_begin(env, nullptr, 0, &txn);
  if (rc == MDB_SUCCESS) {
    rc = mdb_dbi_open(txn, nullptr, MDB_CREATE, &dbi);
    if (rc == MDB_SUCCESS) {
      rc = mdb_txn_commit(txn);
    } else {
      mdb_txn_abort(txn);
    }
  }
  if (rc != MDB_SUCCESS) {
    mdb_env_close(env);
    return FromLmdb(rc, "mdb_dbi_open");
  }
  return std::unique_ptr<EngineAdapter>(std::make_unique<LmdbAdapter>(env, dbi, config, map_bytes));
}

}  // namespace mvdb::bench
