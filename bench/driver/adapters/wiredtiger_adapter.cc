// mvdb-bench's adapter for WiredTiger from Debian's libwiredtiger-dev:
// "wiredtiger", one row-store table "table:kv" of raw byte keys and values
// (key_format=u,value_format=u), an MVCC B-tree with a write-ahead log.
//
// Fairness (bench/README.md repeats it): the cache is config.cache_bytes
// (cache_size), the table has no block compressor (WiredTiger's default),
// the log is on, and every commit goes through it with
// transaction_sync=(enabled=true): method=fsync when config.sync, method=none
// otherwise. method=none writes each commit's log record to the kernel
// without fsync — the like-for-like setting for "handed to the kernel";
// transaction_sync=(enabled=false) would leave commits in the process's log
// buffer, losing them on a process crash. Direct I/O on data files
// (direct_io=[data]) when config.direct_io; the log stays buffered, as the
// other engines' logs do.
//
// Threads: each Worker owns a WT_SESSION and a cached WT_CURSOR; each
// Cursor opens its own session, because a transaction belongs to a
// session and the Cursor's snapshot transaction must not swallow its
// Worker's later commits.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <wiredtiger.h>

#include "engine_adapter.h"

namespace mvdb::bench {
namespace {

constexpr const char* kTable = "table:kv";

WT_ITEM ToItem(std::string_view s) {
  WT_ITEM item{};
  item.data = s.data();
  item.size = s.size();
  return item;
}

std::string_view ToView(const WT_ITEM& item) {
  return {static_cast<const char*>(item.data), item.size};
}

// WT_ROLLBACK is WiredTiger's "try again" (a write conflict, or the cache
// full of this transaction's updates): Conflict, which the driver retries.
Status FromWt(int rc, std::string_view what) {
  if (rc == 0) return Status::OK();
  const std::string msg =
      "wiredtiger: " + std::string(what) + ": " + std::string(wiredtiger_strerror(rc));
  if (rc == WT_NOTFOUND) return Status::NotFound(msg);
  if (rc == WT_ROLLBACK) return Status::Conflict(msg);
  if (rc == WT_PANIC) return Status::Corruption(msg);
  if (rc == EBUSY) return Status::Busy(msg);
  if (rc == EINVAL) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

// A transaction on a session that rolls back unless committed. A failed
// commit has already rolled back (WT_SESSION::commit_transaction's
// contract), so Commit forgets the transaction either way.
class Txn {
 public:
  explicit Txn(WT_SESSION* session) : session_(session) {}
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (open_) session_->rollback_transaction(session_, nullptr);
  }

  Status Begin(const char* config) {
    MVDB_RETURN_IF_ERROR(
        FromWt(session_->begin_transaction(session_, config), "begin_transaction"));
    open_ = true;
    return Status::OK();
  }
  Status Commit(const char* config) {
    open_ = false;
    return FromWt(session_->commit_transaction(session_, config), "commit_transaction");
  }

 private:
  WT_SESSION* session_;
  bool open_ = false;
};

class WtCursor : public Cursor {
 public:
  WtCursor(WT_SESSION* session, WT_CURSOR* cursor) : session_(session), cursor_(cursor) {}
  // Closing the session closes the cursor and rolls back the snapshot
  // transaction (it wrote nothing).
  ~WtCursor() override { session_->close(session_, nullptr); }

  void SeekToFirst() override {
    Check(cursor_->reset(cursor_), "reset");
    Land(cursor_->next(cursor_), "next");
  }
  void Seek(std::string_view key) override {
    if (key.empty()) return SeekToFirst();  // every key is >= ""
    WT_ITEM item = ToItem(key);
    cursor_->set_key(cursor_, &item);
    int exact = 0;
    int rc = cursor_->search_near(cursor_, &exact);
    if (rc == 0 && exact < 0) rc = cursor_->next(cursor_);  // landed on the key before
    Land(rc, "search_near");
  }
  bool Valid() const override { return valid_; }
  void Next() override { Land(cursor_->next(cursor_), "next"); }
  // WiredTiger's items stay valid until the cursor next moves.
  std::string_view key() const override { return ToView(key_); }
  std::string_view value() const override { return ToView(value_); }
  Status status() const override { return status_; }

 private:
  void Check(int rc, const char* what) {
    if (rc != 0 && rc != WT_NOTFOUND && status_.ok()) status_ = FromWt(rc, what);
  }
  void Land(int rc, const char* what) {
    if (rc == 0) rc = cursor_->get_key(cursor_, &key_);
    if (rc == 0) rc = cursor_->get_value(cursor_, &value_);
    valid_ = rc == 0;
    Check(rc, what);
  }

  WT_SESSION* session_;
  WT_CURSOR* cursor_;
  WT_ITEM key_{};
  WT_ITEM value_{};
  bool valid_ = false;
  Status status_;
};

class WtWorker : public Worker {
 public:
  // batch_commit: the commit configuration of PutBatch (loads are not
  // synced even when every other commit is).
  WtWorker(WT_CONNECTION* conn, WT_SESSION* session, WT_CURSOR* cursor, const char* batch_commit)
      : conn_(conn), session_(session), cursor_(cursor), batch_commit_(batch_commit) {}
  ~WtWorker() override { session_->close(session_, nullptr); }

  // An explicit transaction rather than an auto-commit insert: the two
  // are the same commit through the log (both obey transaction_sync;
  // strace shows one fdatasync per Put with method=fsync, none with
  // method=none), and this form is the one Transfer uses.
  Status Put(std::string_view key, std::string_view value) override {
    Txn txn(session_);
    MVDB_RETURN_IF_ERROR(txn.Begin(nullptr));
    MVDB_RETURN_IF_ERROR(Write(key, value));
    return txn.Commit(nullptr);
  }

  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    Txn txn(session_);
    MVDB_RETURN_IF_ERROR(txn.Begin(nullptr));
    for (const auto& [key, value] : pairs) MVDB_RETURN_IF_ERROR(Write(key, value));
    return txn.Commit(batch_commit_);
  }

  // One transaction of all the puts (WiredTiger has no batch object),
  // committed as Put's are.
  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    Txn txn(session_);
    MVDB_RETURN_IF_ERROR(txn.Begin(nullptr));
    for (const auto& [key, value] : pairs) MVDB_RETURN_IF_ERROR(Write(key, value));
    return txn.Commit(nullptr);
  }

  // Outside a transaction the search runs on its own snapshot of the
  // newest commits.
  Status Get(std::string_view key, std::string* value) override {
    Status status = Read(key, value);
    cursor_->reset(cursor_);  // unpins the page and the snapshot
    return status;
  }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    WT_SESSION* session = nullptr;
    MVDB_RETURN_IF_ERROR(
        FromWt(conn_->open_session(conn_, nullptr, nullptr, &session), "open_session"));
    WT_CURSOR* cursor = nullptr;
    int rc = session->begin_transaction(session, "isolation=snapshot");
    if (rc == 0) rc = session->open_cursor(session, kTable, nullptr, nullptr, &cursor);
    if (rc != 0) {
      session->close(session, nullptr);
      return FromWt(rc, "cursor");
    }
    return std::unique_ptr<Cursor>(std::make_unique<WtCursor>(session, cursor));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    Txn txn(session_);
    MVDB_RETURN_IF_ERROR(txn.Begin("isolation=snapshot"));
    std::string old;
    const Status read = Read(key, &old);
    if (!read.ok() && !read.IsNotFound()) return read;
    MVDB_RETURN_IF_ERROR(Write(key, value));
    return txn.Commit(nullptr);
  }

  // Both levels run at snapshot isolation. WiredTiger's read-committed
  // checks no write-write conflicts at all (__wt_txn_update_check returns
  // early below snapshot), and it has no locking read, so a read-then-write
  // transfer there loses updates and the driver's conservation check fails;
  // snapshot is the nearest stronger level. A transfer that updates a
  // balance another transaction changed since its snapshot (or holds
  // uncommitted) gets WT_ROLLBACK, rolls back and returns Conflict.
  Status Transfer(std::string_view from, std::string_view to, int64_t amount,
                  Isolation /*isolation*/) override {
    Txn txn(session_);
    MVDB_RETURN_IF_ERROR(txn.Begin("isolation=snapshot"));
    MVDB_RETURN_IF_ERROR(MoveBalance(
        from, to, amount,
        [this](std::string_view key, std::string* value) { return Read(key, value); },
        [this](std::string_view key, std::string_view value) { return Write(key, value); }));
    return txn.Commit(nullptr);
  }

 private:
  Status Read(std::string_view key, std::string* value) {
    WT_ITEM k = ToItem(key);
    cursor_->set_key(cursor_, &k);
    MVDB_RETURN_IF_ERROR(FromWt(cursor_->search(cursor_), "search"));
    WT_ITEM v{};
    MVDB_RETURN_IF_ERROR(FromWt(cursor_->get_value(cursor_, &v), "get_value"));
    value->assign(static_cast<const char*>(v.data), v.size);
    return Status::OK();
  }
  // The cursor was opened with overwrite=true (the default): insert
  // replaces an existing value.
  Status Write(std::string_view key, std::string_view value) {
    WT_ITEM k = ToItem(key);
    WT_ITEM v = ToItem(value);
    cursor_->set_key(cursor_, &k);
    cursor_->set_value(cursor_, &v);
    return FromWt(cursor_->insert(cursor_), "insert");
  }

  WT_CONNECTION* conn_;
  WT_SESSION* session_;
  WT_CURSOR* cursor_;
  const char* batch_commit_;
};

class WtAdapter : public EngineAdapter {
 public:
  WtAdapter(WT_CONNECTION* conn, const EngineConfig& config, std::string open_config)
      : conn_(conn), config_(config), open_config_(std::move(open_config)) {}
  ~WtAdapter() override {
    if (conn_ != nullptr) conn_->close(conn_, nullptr);
  }

  std::string name() const override { return "wiredtiger"; }
  std::string version() const override {
    int major = 0;
    int minor = 0;
    int patch = 0;
    wiredtiger_version(&major, &minor, &patch);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  }
  std::string settings() const override {
    return "wiredtiger_open \"" + open_config_ +
           "\"; table key_format=u,value_format=u, no block compressor (default); cache: "
           "cache_size; log: on; " +
           (config_.sync ? "sync=1: method=fsync, fdatasync of the log per commit; "
                         : "sync=0: method=none, each commit's log record written to the "
                           "kernel, not fsync'ed; ") +
           "loads (PutBatch) commit with sync=off; direct I/O: " +
           (config_.direct_io ? "data files only (the log and OS page cache for it stay)"
                              : "off (the OS page cache sits under WiredTiger's cache)") +
           "; isolation: transfers at both levels run isolation=snapshot (WiredTiger's "
           "read-committed detects no write conflicts: read-then-write would lose updates); "
           "write conflicts abort (WT_ROLLBACK)";
  }
  bool has_transactions() const override { return true; }

  Result<std::unique_ptr<Worker>> NewWorker() override {
    WT_SESSION* session = nullptr;
    MVDB_RETURN_IF_ERROR(
        FromWt(conn_->open_session(conn_, nullptr, nullptr, &session), "open_session"));
    WT_CURSOR* cursor = nullptr;
    const int rc = session->open_cursor(session, kTable, nullptr, nullptr, &cursor);
    if (rc != 0) {
      session->close(session, nullptr);
      return FromWt(rc, "open_cursor");
    }
    return std::unique_ptr<Worker>(
        std::make_unique<WtWorker>(conn_, session, cursor, config_.sync ? "sync=off" : nullptr));
  }

  // Closing the connection writes a checkpoint and syncs it.
  Status Close() override {
    if (conn_ == nullptr) return Status::OK();
    const int rc = conn_->close(conn_, nullptr);
    conn_ = nullptr;
    return FromWt(rc, "close");
  }

 private:
  WT_CONNECTION* conn_;
  EngineConfig config_;
  std::string open_config_;
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenWiredTiger(const EngineConfig& config) {
  std::string open_config = "create";
  if (config.cache_bytes > 0) open_config += ",cache_size=" + std::to_string(config.cache_bytes);
  open_config += ",log=(enabled=true),transaction_sync=(enabled=true,method=";
  open_config += config.sync ? "fsync)" : "none)";
  // A session per Worker and per live Cursor, plus WiredTiger's own
  // (eviction, log and sweep threads).
  open_config += ",session_max=" + std::to_string(2 * std::max(config.threads, 1) + 32);
  if (config.direct_io) open_config += ",direct_io=[data]";

  WT_CONNECTION* conn = nullptr;
  MVDB_RETURN_IF_ERROR(FromWt(
      wiredtiger_open(config.dir.c_str(), nullptr, open_config.c_str(), &conn), "wiredtiger_open"));
  auto adapter = std::make_unique<WtAdapter>(conn, config, open_config);
  WT_SESSION* session = nullptr;
  int rc = conn->open_session(conn, nullptr, nullptr, &session);
  if (rc == 0) {
    rc = session->create(session, kTable, "key_format=u,value_format=u");
    session->close(session, nullptr);
  }
  MVDB_RETURN_IF_ERROR(FromWt(rc, "create " + std::string(kTable)));
  return std::unique_ptr<EngineAdapter>(std::move(adapter));
}

}  // namespace mvdb::bench
