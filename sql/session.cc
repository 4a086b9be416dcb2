// SqlDatabase and Session (session.h): the transaction-block state machine
// of a PostgreSQL connection over the embedded API's transactions.
//
// Levels: READ UNCOMMITTED runs as READ COMMITTED (as in PostgreSQL), and
// SERIALIZABLE runs as REPEATABLE READ, i.e. snapshot isolation: mvdb has no
// serializable snapshot isolation, so write skew (G2) is possible at
// SERIALIZABLE where PostgreSQL would fail a transaction with 40001. SHOW
// still names the level that was asked for.
//
// A block's transaction is begun at BEGIN, which reads nothing, so a
// REPEATABLE READ snapshot is taken by the block's first statement. After an
// error inside a block the transaction is rolled back at once (its locks go,
// as PostgreSQL's abort releases them) and the block refuses statements with
// 25P02 until COMMIT or ROLLBACK, both answering ROLLBACK.
#include "sql/session.h"

#include <utility>

#include "sql/catalog.h"
#include "sql/executor.h"
#include "sql/lexer.h"
#include "sql/parser.h"

namespace mvdb::sql {
namespace {

::mvdb::IsolationLevel ApiLevel(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::kReadUncommitted:
    case IsolationLevel::kReadCommitted:
      return ::mvdb::IsolationLevel::kReadCommitted;
    case IsolationLevel::kRepeatableRead:
    case IsolationLevel::kSerializable:
      break;
  }
  return ::mvdb::IsolationLevel::kSnapshot;
}

std::string_view LevelName(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::kReadUncommitted:
      return "read uncommitted";
    case IsolationLevel::kReadCommitted:
      return "read committed";
    case IsolationLevel::kRepeatableRead:
      return "repeatable read";
    case IsolationLevel::kSerializable:
      return "serializable";
  }
  return "read committed";
}

Outcome Ok(std::string tag, std::optional<ResultSet> rows = std::nullopt) {
  Outcome outcome;
  outcome.result = StatementResult{std::move(tag), std::move(rows)};
  return outcome;
}

Outcome Fail(SqlError error) {
  Outcome outcome;
  outcome.error = std::move(error);
  return outcome;
}

// A key no SQL table name can be: reading it only takes the snapshot.
constexpr std::string_view kSnapshotProbeKey = "\x01";

}  // namespace

struct SqlDatabase::Impl {
  std::unique_ptr<Database> db;
  std::unique_ptr<Catalog> catalog;
};

SqlDatabase::SqlDatabase() : impl_(std::make_unique<Impl>()) {}

SqlDatabase::~SqlDatabase() {
  impl_->catalog.reset();
  if (impl_->db != nullptr) (void)impl_->db->Close();
}

Result<std::unique_ptr<SqlDatabase>> SqlDatabase::Open(const std::string& dir,
                                                       const Options& options) {
  std::unique_ptr<SqlDatabase> sql_db(new SqlDatabase());
  MVDB_ASSIGN_OR_RETURN(sql_db->impl_->db, Database::Open(dir, options));
  MVDB_ASSIGN_OR_RETURN(sql_db->impl_->catalog, Catalog::Load(sql_db->impl_->db.get()));
  return sql_db;
}

Database* SqlDatabase::database() { return impl_->db.get(); }

struct Session::Impl {
  Impl(Session* session, SqlDatabase::Impl* database)
      : self(session), db(database), executor(database->db.get(), database->catalog.get()) {}

  Outcome Execute(const Statement& statement);
  Outcome RunData(const Statement& statement);
  void StartBlock(IsolationLevel level);
  // Ends the block's transaction (rolled back unless committed).
  void EndBlock();
  // An error inside a block: roll back now, refuse until the block ends.
  Outcome FailBlock(SqlError error);
  void SetTransaction(std::unique_ptr<Transaction> transaction);

  Session* self;
  SqlDatabase::Impl* db;
  Executor executor;
  BlockState state = BlockState::kIdle;
  IsolationLevel default_level = IsolationLevel::kReadCommitted;
  IsolationLevel block_level = IsolationLevel::kReadCommitted;
  bool block_has_query = false;
  std::unique_ptr<Transaction> txn;  // the block's, or a single statement's
};

void Session::Impl::SetTransaction(std::unique_ptr<Transaction> transaction) {
  txn = std::move(transaction);
  self->transaction_id_.store(txn == nullptr ? 0 : txn->id(), std::memory_order_release);
}

void Session::Impl::StartBlock(IsolationLevel level) {
  TransactionOptions options;
  options.isolation = ApiLevel(level);
  SetTransaction(db->db->Begin(options));
  block_level = level;
  block_has_query = false;
  state = BlockState::kInBlock;
}

void Session::Impl::EndBlock() {
  if (txn != nullptr && txn->state() != TransactionState::kCommitted &&
      txn->state() != TransactionState::kRolledBack) {
    (void)txn->Rollback();
  }
  SetTransaction(nullptr);
  state = BlockState::kIdle;
}

Outcome Session::Impl::FailBlock(SqlError error) {
  EndBlock();
  state = BlockState::kFailedBlock;
  return Fail(std::move(error));
}

Outcome Session::Impl::RunData(const Statement& statement) {
  if (state == BlockState::kInBlock) {
    if (!block_has_query && txn->isolation() == ::mvdb::IsolationLevel::kSnapshot) {
      // PostgreSQL takes a REPEATABLE READ snapshot at the first statement
      // whatever it reads (SELECT 1 included); the API at the first read.
      std::string ignored;
      (void)txn->Get(kCatalogTable, kSnapshotProbeKey, &ignored);
    }
    block_has_query = true;
    SqlResult<StatementResult> result = executor.ExecuteDml(statement, *txn);
    if (!result.ok()) return FailBlock(result.take_error());
    return Ok(std::move(result.value().tag), std::move(result.value().rows));
  }
  // Outside a block the statement is its own transaction.
  TransactionOptions options;
  options.isolation = ApiLevel(default_level);
  SetTransaction(db->db->Begin(options));
  SqlResult<StatementResult> result = executor.ExecuteDml(statement, *txn);
  if (!result.ok()) {
    EndBlock();
    return Fail(result.take_error());
  }
  const Status status = txn->Commit();
  SetTransaction(nullptr);
  if (!status.ok()) return Fail(StatusToSqlError(status));
  return Ok(std::move(result.value().tag), std::move(result.value().rows));
}

Outcome Session::Impl::Execute(const Statement& statement) {
  const StatementNode& node = statement.node;
  const bool ends_block =
      std::holds_alternative<Commit>(node) || std::holds_alternative<Rollback>(node);
  if (state == BlockState::kFailedBlock) {
    if (!ends_block) {
      return Fail(MakeSqlError("25P02",
                               "current transaction is aborted, commands ignored until end of "
                               "transaction block"));
    }
    EndBlock();
    return Ok("ROLLBACK");
  }
  if (const auto* begin = std::get_if<Begin>(&node)) {
    // Inside a block PostgreSQL warns "there is already a transaction in
    // progress" and goes on: the tag, and no change.
    if (state == BlockState::kIdle) StartBlock(begin->isolation.value_or(default_level));
    return Ok("BEGIN");
  }
  if (std::holds_alternative<Commit>(node)) {
    // Outside a block PostgreSQL warns "there is no transaction in
    // progress" and answers COMMIT.
    if (state == BlockState::kIdle) return Ok("COMMIT");
    const Status status = txn->Commit();
    EndBlock();
    if (!status.ok()) return Fail(StatusToSqlError(status));
    return Ok("COMMIT");
  }
  if (std::holds_alternative<Rollback>(node)) {
    EndBlock();
    return Ok("ROLLBACK");
  }
  if (const auto* set = std::get_if<SetIsolation>(&node)) {
    if (set->session_default) {
      default_level = set->level;
      return Ok("SET");
    }
    // Outside a block PostgreSQL warns that SET TRANSACTION can only be used
    // in transaction blocks, and nothing changes.
    if (state == BlockState::kIdle) return Ok("SET");
    if (block_has_query) {
      return FailBlock(
          MakeSqlError("25001", "SET TRANSACTION ISOLATION LEVEL must be called before any query"));
    }
    // Nothing has been read yet: start the block's transaction again at the
    // new level.
    EndBlock();
    StartBlock(set->level);
    return Ok("SET");
  }
  if (const auto* show = std::get_if<Show>(&node)) {
    std::string value;
    if (show->name == "transaction_isolation") {
      value = LevelName(state == BlockState::kInBlock ? block_level : default_level);
    } else if (show->name == "default_transaction_isolation") {
      value = LevelName(default_level);
    } else {
      SqlError error =
          MakeSqlError("42704", "unrecognized configuration parameter \"" + show->name + "\"");
      if (state == BlockState::kInBlock) return FailBlock(std::move(error));
      return Fail(std::move(error));
    }
    ResultSet rows;
    rows.columns = {show->name};
    rows.types = {TypeId::kText};
    rows.rows.push_back({Value::Text(std::move(value))});
    return Ok("SHOW", std::move(rows));
  }
  if (IsDdl(statement)) {
    // DDL is durable at once and not part of any transaction (executor.cc),
    // so inside a block, where PostgreSQL would let a ROLLBACK undo it, it
    // is refused rather than run half-transactionally: 25001, as PostgreSQL
    // answers for the statements it cannot run in a block.
    if (state == BlockState::kInBlock) {
      return FailBlock(MakeSqlError(
          "25001", DdlName(statement) + " cannot run inside a transaction block in mvdb"));
    }
    // The statement's own transaction holds its table lock, and names it
    // to waiting_for() while the statement waits (executor.h).
    TransactionOptions options;
    options.isolation = ::mvdb::IsolationLevel::kReadCommitted;
    SetTransaction(db->db->Begin(options));
    SqlResult<StatementResult> result = executor.ExecuteDdl(statement, *txn);
    if (result.ok() && txn->state() == TransactionState::kActive) {
      const Status status = txn->Commit();
      if (!status.ok()) result = StatusToSqlError(status);
    }
    EndBlock();  // outside a block (refused above), so nothing more to fail
    if (!result.ok()) return Fail(result.take_error());
    return Ok(std::move(result.value().tag), std::move(result.value().rows));
  }
  return RunData(statement);
}

Session::Session() = default;

Session::~Session() {
  if (impl_ != nullptr) impl_->EndBlock();
}

std::unique_ptr<Session> SqlDatabase::NewSession(::mvdb::IsolationLevel isolation) {
  std::unique_ptr<Session> session(new Session());
  session->impl_ = std::make_unique<Session::Impl>(session.get(), impl_.get());
  session->impl_->default_level = isolation == ::mvdb::IsolationLevel::kSnapshot
                                      ? IsolationLevel::kRepeatableRead
                                      : IsolationLevel::kReadCommitted;
  return session;
}

Outcome Session::Execute(const Statement& statement) { return impl_->Execute(statement); }

Outcome Session::ExecuteText(std::string_view sql) {
  // PostgreSQL checks a query's encoding on receipt, before the block: the
  // error is reported as such, and fails a block in progress.
  if (std::optional<TextError> bad = CheckStatementText(sql)) {
    SqlError error = MakeSqlError(std::move(bad->sqlstate), std::move(bad->message));
    if (impl_->state == BlockState::kInBlock) return impl_->FailBlock(std::move(error));
    return Fail(std::move(error));
  }
  ParseError parse_error;
  Result<std::vector<Statement>> statements = ParseScript(sql, &parse_error);
  if (!statements.ok()) {
    SqlError error = MakeSqlError(parse_error.sqlstate, parse_error.message);
    // PostgreSQL parses before it looks at the block: a syntax error is
    // reported as such, and fails a block in progress.
    if (impl_->state == BlockState::kInBlock) return impl_->FailBlock(std::move(error));
    return Fail(std::move(error));
  }
  Outcome outcome = Ok("");
  for (const Statement& statement : statements.value()) {
    outcome = Execute(statement);
    if (!outcome.ok()) break;
  }
  return outcome;
}

BlockState Session::block_state() const { return impl_->state; }

::mvdb::IsolationLevel Session::default_isolation() const { return ApiLevel(impl_->default_level); }

uint64_t Session::waiting_for() const {
  const uint64_t id = transaction_id();
  if (id == 0) return 0;
  for (const TransactionInfo& info : impl_->db->db->ListTransactions()) {
    if (info.id == id) return info.waiting_for;
  }
  return 0;
}

}  // namespace mvdb::sql
