// SqlDatabase and Session: SQL statements (sql/ast.h) run against a
// Database (include/mvdb/db.h) with PostgreSQL's behaviour where the two
// overlap (docs/sql.md, docs/output.md). The plan this follows
// is sql/README.md.
//
// A Session is one connection: it owns at most one open transaction, its
// transaction-block state (idle, in a block, in a failed block) and its
// default isolation level. Outside a block every statement is its own
// transaction. Execute runs one statement to completion and may block while
// the statement waits for another session's row lock, or for a table lock
// that DDL holds or waits for (reads wait for nothing else);
// callers that must not block (the shell, the isolation runner) run it on a
// thread of their own and watch waiting_for().
//
// Threading: a SqlDatabase may be used from any thread. A Session belongs to
// one thread at a time, except transaction_id() and waiting_for(), which any
// thread may call at any time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/db.h"
#include "sql/ast.h"
#include "sql/value.h"

namespace mvdb::sql {

// Rows a statement returns (SELECT, SHOW, EXPLAIN).
struct ResultSet {
  std::vector<std::string> columns;
  std::vector<TypeId> types;  // per column; kNull when every value is NULL/unknown
  std::vector<std::vector<Value>> rows;
};

// What one statement did.
struct StatementResult {
  // The command tag as PostgreSQL prints it: BEGIN, COMMIT, ROLLBACK,
  // "INSERT 0 2", "UPDATE 1", "DELETE 0", "SELECT 3", CREATE TABLE, ...
  // (A COMMIT of a failed block answers ROLLBACK, as PostgreSQL does.)
  std::string tag;
  std::optional<ResultSet> rows;
};

// A statement's failure, as PostgreSQL reports it.
struct SqlError {
  std::string sqlstate;  // "40001", "23505", ... (docs/sql.md)
  std::string message;
};

// Either a StatementResult or a SqlError.
struct Outcome {
  std::optional<StatementResult> result;  // set when ok
  SqlError error;                         // set when not
  bool ok() const { return result.has_value(); }
};

enum class BlockState : uint8_t {
  kIdle,         // no transaction block (psql's =#)
  kInBlock,      // inside BEGIN ... (=*#)
  kFailedBlock,  // an error happened inside the block (=!#): only ROLLBACK/COMMIT help
};

class Session;

class SqlDatabase {
 public:
  // Opens (or creates) the database and reads its catalog.
  static Result<std::unique_ptr<SqlDatabase>> Open(const std::string& dir, const Options& options);
  ~SqlDatabase();

  // A new session whose transactions default to `isolation` (the API's
  // level: read committed, or snapshot = REPEATABLE READ).
  std::unique_ptr<Session> NewSession(
      ::mvdb::IsolationLevel isolation = ::mvdb::IsolationLevel::kReadCommitted);

  Database* database();

 private:
  friend class Session;
  SqlDatabase();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Session {
 public:
  ~Session();  // rolls back an open transaction

  // Runs one statement. Never throws; errors come back as SqlError with
  // PostgreSQL's SQLSTATE.
  Outcome Execute(const Statement& statement);
  // Parses `sql` (one or more statements) and runs them in order, stopping
  // at the first error; returns the last outcome (a parse error as 42601
  // and friends, see sql/parser.h). Text that is not valid UTF-8 or holds a
  // NUL byte (22021) or is longer than kMaxStatementBytes (54000) is
  // refused before anything runs (sql/lexer.h, CheckStatementText).
  Outcome ExecuteText(std::string_view sql);

  BlockState block_state() const;
  ::mvdb::IsolationLevel default_isolation() const;

  // The id of the session's open transaction (Transaction::id()), or 0.
  // Any thread may ask, e.g. to match Database::ListTransactions().
  uint64_t transaction_id() const { return transaction_id_.load(std::memory_order_acquire); }
  // The id of the transaction whose row lock this session's running
  // statement waits for, or 0 (from the lock manager's own state).
  uint64_t waiting_for() const;

 private:
  friend class SqlDatabase;
  Session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> transaction_id_{0};
};

}  // namespace mvdb::sql
