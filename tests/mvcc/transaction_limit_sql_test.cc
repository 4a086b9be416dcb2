// A transaction past Options::max_transaction_bytes through SQL (issue 11,
// item 9): the statement that crosses it fails with 54000
// (program_limit_exceeded, PostgreSQL's class for a limit of the program,
// as in "requested length too large"), and the rest follows PostgreSQL's
// rules for an error: in a block, 25P02 until ROLLBACK; in autocommit,
// the statement changes nothing. Recorded against PostgreSQL 15 (psql):
//   BEGIN; SELECT repeat('x', 1073741824);
//     ERROR:  54000: requested length too large
//   SELECT 1;  ERROR:  25P02: current transaction is aborted, commands
//              ignored until end of transaction block
//   ROLLBACK;  ROLLBACK
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "mvdb/options.h"
#include "sql/expression.h"
#include "sql/session.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::sql {
namespace {

class TransactionLimitSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    Options options;
    options.sync = SyncMode::kOff;
    options.max_transaction_bytes = 256 << 10;
    auto db = SqlDatabase::Open(dir_.path(), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    session_ = db_->NewSession();
    ASSERT_TRUE(session_->ExecuteText("CREATE TABLE t (id int PRIMARY KEY, v text)").ok());
  }
  void TearDown() override {
    session_.reset();
    db_.reset();
  }

  // "ok TAG" or "SQLSTATE message".
  std::string Run(std::string_view sql) {
    const Outcome outcome = session_->ExecuteText(sql);
    if (outcome.ok()) return "ok " + outcome.result->tag;
    return outcome.error.sqlstate + " " + outcome.error.message;
  }
  std::string Count() {
    const Outcome outcome = session_->ExecuteText("SELECT count(*) FROM t");
    if (!outcome.ok() || !outcome.result->rows.has_value()) return "<error>";
    return ValueToText(outcome.result->rows->rows.at(0).at(0));
  }

  // One INSERT of `rows` rows of 1,000 characters from id `first` on.
  static std::string Insert(int first, int rows) {
    std::string sql = "INSERT INTO t VALUES ";
    for (int i = 0; i < rows; ++i) {
      if (i > 0) sql += ", ";
      sql += "(" + std::to_string(first + i) + ", '" + std::string(1000, 'x') + "')";
    }
    return sql;
  }

  testing::TempDir dir_{"txnlimit", /*prefer_tmpfs=*/true};
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<Session> session_;
};

TEST_F(TransactionLimitSqlTest, AStatementPastTheLimitIs54000AndChangesNothing) {
  const std::string refused = Run(Insert(0, 1000));  // 1 MB: four times the limit
  EXPECT_EQ(refused.substr(0, 6), "54000 ") << refused;
  EXPECT_NE(refused.find("transaction is too large"), std::string::npos) << refused;
  EXPECT_EQ(Count(), "0");
  EXPECT_EQ(Run(Insert(0, 10)), "ok INSERT 0 10");  // the table goes on
  EXPECT_EQ(Count(), "10");
}

TEST_F(TransactionLimitSqlTest, InABlockTheLimitAbortsTheBlockUntilRollback) {
  EXPECT_EQ(Run("BEGIN"), "ok BEGIN");
  EXPECT_EQ(Run(Insert(0, 50)), "ok INSERT 0 50");
  EXPECT_EQ(Run(Insert(50, 50)), "ok INSERT 0 50");
  const std::string refused = Run(Insert(200, 400));
  EXPECT_EQ(refused.substr(0, 6), "54000 ") << refused;
  EXPECT_EQ(Run("SELECT 1").substr(0, 5), "25P02");
  EXPECT_EQ(Run("ROLLBACK"), "ok ROLLBACK");
  EXPECT_EQ(Count(), "0");
  EXPECT_EQ(Run(Insert(0, 10)), "ok INSERT 0 10");
  EXPECT_EQ(Count(), "10");
}

}  // namespace
}  // namespace mvdb::sql
