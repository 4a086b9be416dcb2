// mvdb-bench's adapter for SQLite from Debian's libsqlite3-dev: "sqlite",
// one table kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID — a clustered
// B-tree of byte keys, the same shape as the other engines' tables — in
// one database file with its write-ahead log.
//
// Fairness (bench/README.md repeats it): journal_mode=WAL (the write-ahead
// log); synchronous=FULL when config.sync (the WAL is fsync'ed at each
// commit), NORMAL otherwise (in WAL mode NORMAL writes each commit's frames
// to the kernel and fsyncs only at checkpoints); cache_size is
// config.cache_bytes per connection — SQLite's page cache belongs to a
// connection, so T threads may use T times the memory; mmap_size=0 so
// reads go through that cache, as the other engines' reads go through
// theirs; no compression (SQLite has none); no direct I/O (SQLite has
// none: the OS page cache sits under its cache).
//
// Threads: each Worker opens its own connection (SQLITE_OPEN_NOMUTEX: a
// connection is used by one thread at a time). SQLite has one writer at a
// time: write transactions start with BEGIN IMMEDIATE so a writer waits for
// the lock there (busy_timeout) instead of failing at COMMIT, and both
// isolation levels run as SQLite's only one, serializable.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "engine_adapter.h"

namespace mvdb::bench {
namespace {

// How long a writer waits for the write lock before its statement fails
// with SQLITE_BUSY (returned as Conflict).
constexpr int kBusyTimeoutMs = 5000;

Status FromSqlite(sqlite3* db, int rc, std::string_view what) {
  const std::string msg = "sqlite: " + std::string(what) + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::OK();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Conflict(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return Status::InvalidArgument(msg);
    default:
      return Status::IOError(msg);
  }
}

// A connection with the benchmark's pragmas, closed at destruction.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // The owner finalizes its statements first; close_v2 would otherwise
  // leave the connection a zombie until they are.
  ~Connection() { sqlite3_close_v2(db_); }

  Status Open(const std::string& path, const EngineConfig& config) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return FromSqlite(db_, rc, "open " + path);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    // A negative cache_size is in KiB rather than pages.
    const std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" +
                                std::string(config.sync ? "FULL" : "NORMAL") +
                                "; PRAGMA cache_size=-" +
                                std::to_string(config.cache_bytes / 1024) + "; PRAGMA mmap_size=0;";
    return Exec(pragmas.c_str());
  }

  Status Exec(const char* sql) {
    return FromSqlite(db_, sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql);
  }

  Status Prepare(const char* sql, sqlite3_stmt** stmt) {
    return FromSqlite(
        db_, sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr), sql);
  }

  // Closes now, reporting the error the destructor would swallow.
  Status Close() {
    const int rc = sqlite3_close(db_);
    if (rc != SQLITE_OK) return FromSqlite(db_, rc, "close");
    db_ = nullptr;
    return Status::OK();
  }

  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

void BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // SQLITE_STATIC: every caller resets the statement before the bytes die.
  // A non-null pointer for an empty key so it binds x'' rather than NULL.
  sqlite3_bind_blob(stmt, index, bytes.empty() ? "" : bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
}

std::string_view ColumnBlob(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);  // after column_blob, as SQLite asks
  return {static_cast<const char*>(data), static_cast<size_t>(size)};
}

// The statements every connection that scans needs; the Worker keeps one
// spare so successive Cursors reuse a warm page cache.
struct ScanConnection {
  ~ScanConnection() {
    sqlite3_finalize(seek);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
  }
  Connection conn;
  sqlite3_stmt* seek = nullptr;  // SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  bool in_use = false;
};

Result<std::unique_ptr<ScanConnection>> OpenScanConnection(const std::string& path,
                                                           const EngineConfig& config) {
  auto scan = std::make_unique<ScanConnection>();
  MVDB_RETURN_IF_ERROR(scan->conn.Open(path, config));
  MVDB_RETURN_IF_ERROR(
      scan->conn.Prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k", &scan->seek));
  MVDB_RETURN_IF_ERROR(scan->conn.Prepare("BEGIN DEFERRED", &scan->begin));
  MVDB_RETURN_IF_ERROR(scan->conn.Prepare("COMMIT", &scan->commit));
  return scan;
}

// Runs a statement that returns no rows (or whose rows are ignored) and
// resets it.
Status RunOnce(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  const int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::OK() : FromSqlite(db, rc, what);
}

// A read transaction on a scan connection: BEGIN DEFERRED and a first step
// take the snapshot at creation; COMMIT at destruction ends it.
class SqliteCursor : public Cursor {
 public:
  // owned: a private connection when the Worker's spare was busy, else null
  // and `scan` is the Worker's spare, handed back at destruction.
  SqliteCursor(ScanConnection* scan, std::unique_ptr<ScanConnection> owned)
      : scan_(scan), owned_(std::move(owned)) {}
  ~SqliteCursor() override {
    sqlite3_reset(scan_->seek);
    static_cast<void>(RunOnce(scan_->conn.get(), scan_->commit, "COMMIT"));  // wrote nothing
    scan_->in_use = false;
  }

  Status Start() {
    MVDB_RETURN_IF_ERROR(RunOnce(scan_->conn.get(), scan_->begin, "BEGIN DEFERRED"));
    SeekToFirst();  // the first read takes the snapshot
    valid_ = false;
    return status_;
  }

  void SeekToFirst() override { Seek(std::string_view()); }
  void Seek(std::string_view key) override {
    sqlite3_reset(scan_->seek);
    seek_key_.assign(key);
    BindBlob(scan_->seek, 1, seek_key_);
    Next();
  }
  bool Valid() const override { return valid_; }
  void Next() override {
    const int rc = sqlite3_step(scan_->seek);
    valid_ = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && status_.ok()) {
      status_ = FromSqlite(scan_->conn.get(), rc, "cursor step");
    }
  }
  // SQLite's column buffers live until the next step or reset.
  std::string_view key() const override { return ColumnBlob(scan_->seek, 0); }
  std::string_view value() const override { return ColumnBlob(scan_->seek, 1); }
  Status status() const override { return status_; }

 private:
  ScanConnection* scan_;
  std::unique_ptr<ScanConnection> owned_;
  std::string seek_key_;  // bound SQLITE_STATIC: must outlive the statement's steps
  bool valid_ = false;
  Status status_;
};

class SqliteWorker : public Worker {
 public:
  SqliteWorker(std::string path, const EngineConfig& config)
      : path_(std::move(path)), config_(config) {}
  ~SqliteWorker() override {
    for (sqlite3_stmt* stmt : {put_, get_, begin_, commit_, rollback_}) sqlite3_finalize(stmt);
  }

  Status Open() {
    MVDB_RETURN_IF_ERROR(conn_.Open(path_, config_));
    MVDB_RETURN_IF_ERROR(conn_.Prepare("INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)", &put_));
    MVDB_RETURN_IF_ERROR(conn_.Prepare("SELECT v FROM kv WHERE k = ?1", &get_));
    MVDB_RETURN_IF_ERROR(conn_.Prepare("BEGIN IMMEDIATE", &begin_));
    MVDB_RETURN_IF_ERROR(conn_.Prepare("COMMIT", &commit_));
    return conn_.Prepare("ROLLBACK", &rollback_);
  }

  // One statement in autocommit mode: its own write transaction, which
  // waits up to busy_timeout for the write lock.
  Status Put(std::string_view key, std::string_view value) override { return Write(key, value); }

  // Loads are not synced: synchronous=NORMAL on this connection for the
  // batch's commit (a per-connection setting, so other threads keep theirs).
  Status PutBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    if (config_.sync) MVDB_RETURN_IF_ERROR(conn_.Exec("PRAGMA synchronous=NORMAL"));
    Status status = [&]() -> Status {
      WriteTxn txn(this);
      MVDB_RETURN_IF_ERROR(txn.Begin());
      for (const auto& [key, value] : pairs) MVDB_RETURN_IF_ERROR(Write(key, value));
      return txn.Commit();
    }();
    if (config_.sync) {
      const Status restored = conn_.Exec("PRAGMA synchronous=FULL");
      if (status.ok()) status = restored;
    }
    return status;
  }

  // One transaction of all the puts (SQLite has no batch object), at
  // the synchronous level of every other commit.
  Status CommitBatch(const std::vector<std::pair<std::string, std::string>>& pairs) override {
    WriteTxn txn(this);
    MVDB_RETURN_IF_ERROR(txn.Begin());
    for (const auto& [key, value] : pairs) MVDB_RETURN_IF_ERROR(Write(key, value));
    return txn.Commit();
  }

  Status Get(std::string_view key, std::string* value) override { return Read(key, value); }

  Result<std::unique_ptr<Cursor>> NewCursor() override {
    std::unique_ptr<ScanConnection> owned;
    ScanConnection* scan = nullptr;
    if (spare_ == nullptr) {
      MVDB_ASSIGN_OR_RETURN(spare_, OpenScanConnection(path_, config_));
    }
    if (!spare_->in_use) {
      scan = spare_.get();
    } else {
      MVDB_ASSIGN_OR_RETURN(owned, OpenScanConnection(path_, config_));
      scan = owned.get();
    }
    scan->in_use = true;
    auto cursor = std::make_unique<SqliteCursor>(scan, std::move(owned));
    MVDB_RETURN_IF_ERROR(cursor->Start());
    return std::unique_ptr<Cursor>(std::move(cursor));
  }

  Status ReadModifyWrite(std::string_view key, std::string_view value) override {
    WriteTxn txn(this);
    MVDB_RETURN_IF_ERROR(txn.Begin());
    std::string old;
    const Status read = Read(key, &old);
    if (!read.ok() && !read.IsNotFound()) return read;
    MVDB_RETURN_IF_ERROR(Write(key, value));
    return txn.Commit();
  }

  // BEGIN IMMEDIATE takes the write lock first, so the transfer is
  // serializable at either requested level; SQLITE_BUSY (the lock not got
  // within busy_timeout) rolls back and returns Conflict.
  Status Transfer(std::string_view from, std::string_view to, int64_t amount,
                  Isolation /*isolation*/) override {
    WriteTxn txn(this);
    MVDB_RETURN_IF_ERROR(txn.Begin());
    MVDB_RETURN_IF_ERROR(MoveBalance(
        from, to, amount,
        [this](std::string_view key, std::string* value) { return Read(key, value); },
        [this](std::string_view key, std::string_view value) { return Write(key, value); }));
    return txn.Commit();
  }

 private:
  // BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
  class WriteTxn {
   public:
    explicit WriteTxn(SqliteWorker* worker) : worker_(worker) {}
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;
    ~WriteTxn() {
      // Rolling back a transaction SQLite already ended is harmless.
      if (open_) static_cast<void>(RunOnce(worker_->conn_.get(), worker_->rollback_, "ROLLBACK"));
    }
    Status Begin() {
      MVDB_RETURN_IF_ERROR(RunOnce(worker_->conn_.get(), worker_->begin_, "BEGIN IMMEDIATE"));
      open_ = true;
      return Status::OK();
    }
    Status Commit() {
      const Status status = RunOnce(worker_->conn_.get(), worker_->commit_, "COMMIT");
      // A failed COMMIT leaves the transaction open (SQLITE_BUSY) or
      // already rolled back; the destructor's ROLLBACK covers both.
      open_ = !status.ok();
      return status;
    }

   private:
    SqliteWorker* worker_;
    bool open_ = false;
  };

  Status Read(std::string_view key, std::string* value) {
    BindBlob(get_, 1, key);
    const int rc = sqlite3_step(get_);
    if (rc == SQLITE_ROW) value->assign(ColumnBlob(get_, 0));
    sqlite3_reset(get_);  // ends an autocommit read transaction
    if (rc == SQLITE_DONE) return Status::NotFound("sqlite: no such key");
    return rc == SQLITE_ROW ? Status::OK() : FromSqlite(conn_.get(), rc, "SELECT");
  }

  Status Write(std::string_view key, std::string_view value) {
    BindBlob(put_, 1, key);
    BindBlob(put_, 2, value);
    return RunOnce(conn_.get(), put_, "INSERT OR REPLACE");
  }

  std::string path_;
  EngineConfig config_;
  Connection conn_;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  std::unique_ptr<ScanConnection> spare_;  // lent to one Cursor at a time
};

class SqliteAdapter : public EngineAdapter {
 public:
  SqliteAdapter(std::string path, const EngineConfig& config, std::unique_ptr<Connection> keeper)
      : path_(std::move(path)), config_(config), keeper_(std::move(keeper)) {}

  std::string name() const override { return "sqlite"; }
  std::string version() const override { return sqlite3_libversion(); }
  std::string settings() const override {
    return "journal_mode=WAL; " +
           std::string(config_.sync
                           ? "synchronous=FULL (the WAL fsync'ed at each commit); "
                           : "synchronous=NORMAL (in WAL mode each commit's frames written to the "
                             "kernel, fsync only at checkpoints); ") +
           "cache_size=-" + std::to_string(config_.cache_bytes / 1024) +
           " KiB per connection (one per Worker, plus one per Cursor: T threads use up to T times "
           "the memory); mmap_size=0; compression: none; direct I/O: not available (OS page "
           "cache under SQLite's); table kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID; "
           "busy_timeout=" +
           std::to_string(kBusyTimeoutMs) +
           " ms; write transactions BEGIN IMMEDIATE: one writer at a time, both isolation "
           "levels run serializable and a transfer waits for the lock rather than aborting; "
           "loads (PutBatch) commit with synchronous=NORMAL";
  }
  bool has_transactions() const override { return true; }

  Result<std::unique_ptr<Worker>> NewWorker() override {
    auto worker = std::make_unique<SqliteWorker>(path_, config_);
    MVDB_RETURN_IF_ERROR(worker->Open());
    return std::unique_ptr<Worker>(std::move(worker));
  }

  // The keeper is the last connection: closing it checkpoints the WAL into
  // the database file (with fsync) and removes the WAL.
  Status Close() override {
    if (keeper_ == nullptr) return Status::OK();
    const Status status = keeper_->Close();
    keeper_.reset();
    return status;
  }

 private:
  std::string path_;
  EngineConfig config_;
  // Holds the database open between Workers, so the WAL and the shared
  // WAL index are not torn down and rebuilt whenever the Worker count drops
  // to zero.
  std::unique_ptr<Connection> keeper_;
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenSqlite(const EngineConfig& config) {
  const std::string path = config.dir + "/kv.db";
  auto keeper = std::make_unique<Connection>();
  MVDB_RETURN_IF_ERROR(keeper->Open(path, config));
  MVDB_RETURN_IF_ERROR(
      keeper->Exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID"));
  return std::unique_ptr<EngineAdapter>(
      std::make_unique<SqliteAdapter>(path, config, std::move(keeper)));
}

}  // namespace mvdb::bench
