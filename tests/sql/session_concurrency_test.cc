// SQL sessions on several threads: waits for row locks seen through
// waiting_for(), PostgreSQL's read committed re-check (no lost update), first
// updater wins at repeatable read (40001), deadlocks (40P01), and an insert
// that waits for a concurrent insert of the same key (23505 or success).
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "tests/sql/session_test_util.h"

namespace mvdb::sql::testing {
namespace {

class SessionConcurrencyTest : public SqlTest {
 protected:
  void SetUp() override {
    SqlTest::SetUp();
    Ok("CREATE TABLE test (id int PRIMARY KEY, value int)");
    Ok("INSERT INTO test (id, value) VALUES (1, 10), (2, 20)");
    first_ = db_->NewSession();
    second_ = db_->NewSession();
  }
  void TearDown() override {
    first_.reset();
    second_.reset();
    SqlTest::TearDown();
  }
  // Runs `sql` in `session` on a thread of its own.
  static std::future<Outcome> Start(Session& session, std::string sql) {
    return std::async(std::launch::async,
                      [&session, sql = std::move(sql)] { return session.ExecuteText(sql); });
  }

  std::unique_ptr<Session> first_;
  std::unique_ptr<Session> second_;
};

TEST_F(SessionConcurrencyTest, ReadCommittedIncrementLosesNoUpdate) {
  Ok(*first_, "BEGIN");
  Ok(*second_, "BEGIN");
  EXPECT_EQ(Ok(*first_, "UPDATE test SET value = value + 1 WHERE id = 1"), "UPDATE 1");
  auto waiting = Start(*second_, "UPDATE test SET value = value + 1 WHERE id = 1");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  EXPECT_EQ(second_->waiting_for(), first_->transaction_id());
  Ok(*first_, "COMMIT");
  const Outcome outcome = waiting.get();
  EXPECT_EQ(Describe(outcome), "ok: UPDATE 1");
  Ok(*second_, "COMMIT");
  EXPECT_EQ(Query("SELECT value FROM test WHERE id = 1"), "12");
}

TEST_F(SessionConcurrencyTest, ReadCommittedRechecksWhereAfterWaiting) {
  Ok(*first_, "BEGIN");
  Ok(*first_, "UPDATE test SET value = 11 WHERE id = 1");
  auto waiting = Start(*second_, "UPDATE test SET value = 12 WHERE value = 10");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "COMMIT");
  EXPECT_EQ(Describe(waiting.get()), "ok: UPDATE 0");  // the new version no longer matches
  EXPECT_EQ(Query("SELECT value FROM test WHERE id = 1"), "11");

  Ok(*first_, "BEGIN");
  Ok(*first_, "DELETE FROM test WHERE id = 2");
  auto deleting = Start(*second_, "UPDATE test SET value = 0 WHERE id = 2");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "COMMIT");
  EXPECT_EQ(Describe(deleting.get()), "ok: UPDATE 0");  // gone
}

TEST_F(SessionConcurrencyTest, ManyThreadsIncrementAtReadCommitted) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < kThreads; ++i) sessions.push_back(db_->NewSession());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < kIncrements; ++n) {
        if (!sessions[i]->ExecuteText("UPDATE test SET value = value + 1 WHERE id = 1").ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Query("SELECT value FROM test WHERE id = 1"),
            std::to_string(10 + kThreads * kIncrements));
}

TEST_F(SessionConcurrencyTest, RepeatableReadSecondUpdaterFails) {
  Ok(*first_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  Ok(*second_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  EXPECT_EQ(Query(*first_, "SELECT value FROM test WHERE id = 1"), "10");
  EXPECT_EQ(Query(*second_, "SELECT value FROM test WHERE id = 1"), "10");
  Ok(*first_, "UPDATE test SET value = value + 1 WHERE id = 1");
  auto waiting = Start(*second_, "UPDATE test SET value = value + 1 WHERE id = 1");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "COMMIT");
  const Outcome outcome = waiting.get();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error.sqlstate, "40001");
  EXPECT_EQ(outcome.error.message, "could not serialize access due to concurrent update");
  EXPECT_EQ(second_->block_state(), BlockState::kFailedBlock);
  EXPECT_EQ(Ok(*second_, "COMMIT"), "ROLLBACK");
  EXPECT_EQ(Query("SELECT value FROM test WHERE id = 1"), "11");
}

TEST_F(SessionConcurrencyTest, RepeatableReadWaiterGoesOnWhenTheOtherRollsBack) {
  Ok(*first_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  Ok(*second_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  Ok(*first_, "UPDATE test SET value = 11 WHERE id = 1");
  auto waiting = Start(*second_, "UPDATE test SET value = 12 WHERE id = 1");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "ROLLBACK");
  EXPECT_EQ(Describe(waiting.get()), "ok: UPDATE 1");
  Ok(*second_, "COMMIT");
  EXPECT_EQ(Query("SELECT value FROM test WHERE id = 1"), "12");
}

TEST_F(SessionConcurrencyTest, DeadlockFailsOneTransaction) {
  Ok(*first_, "BEGIN");
  Ok(*second_, "BEGIN");
  Ok(*first_, "UPDATE test SET value = 11 WHERE id = 1");
  Ok(*second_, "UPDATE test SET value = 22 WHERE id = 2");
  auto waiting = Start(*first_, "UPDATE test SET value = 21 WHERE id = 2");
  ASSERT_TRUE(WaitUntilBlocked(*first_));
  // This wait would close the cycle.
  const Outcome closing = second_->ExecuteText("UPDATE test SET value = 12 WHERE id = 1");
  ASSERT_FALSE(closing.ok());
  EXPECT_EQ(closing.error.sqlstate, "40P01");
  EXPECT_EQ(closing.error.message, "deadlock detected");
  EXPECT_EQ(Ok(*second_, "ROLLBACK"), "ROLLBACK");
  EXPECT_EQ(Describe(waiting.get()), "ok: UPDATE 1");
  Ok(*first_, "COMMIT");
  EXPECT_EQ(Query("SELECT * FROM test"), "1,11;2,21");
}

TEST_F(SessionConcurrencyTest, InsertWaitsForConcurrentInsertOfTheSameKey) {
  Ok(*first_, "BEGIN");
  Ok(*first_, "INSERT INTO test VALUES (5, 50)");
  auto waiting = Start(*second_, "INSERT INTO test VALUES (5, 55)");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "COMMIT");
  const Outcome outcome = waiting.get();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error.sqlstate, "23505");

  Ok(*first_, "BEGIN");
  Ok(*first_, "INSERT INTO test VALUES (6, 60)");
  auto goes_on = Start(*second_, "INSERT INTO test VALUES (6, 66)");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "ROLLBACK");
  EXPECT_EQ(Describe(goes_on.get()), "ok: INSERT 0 1");
  EXPECT_EQ(Query("SELECT value FROM test WHERE id IN (5, 6)"), "50;66");
}

TEST_F(SessionConcurrencyTest, RepeatableReadInsertOfAKeyCommittedMeanwhileIsAUniqueViolation) {
  Ok(*second_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  EXPECT_EQ(Query(*second_, "SELECT count(*) FROM test"), "2");
  Ok(*first_, "INSERT INTO test VALUES (7, 70)");
  EXPECT_EQ(Error(*second_, "INSERT INTO test VALUES (7, 77)"), "23505");
  Ok(*second_, "ROLLBACK");
}

TEST_F(SessionConcurrencyTest, SelectForUpdateLocksTheRowsItReturns) {
  Ok(*first_, "BEGIN");
  EXPECT_EQ(Query(*first_, "SELECT * FROM test WHERE id = 1 FOR UPDATE"), "1,10");
  auto waiting = Start(*second_, "UPDATE test SET value = value * 2 WHERE id = 1");
  ASSERT_TRUE(WaitUntilBlocked(*second_));
  Ok(*first_, "UPDATE test SET value = 15 WHERE id = 1");
  Ok(*first_, "COMMIT");
  EXPECT_EQ(Describe(waiting.get()), "ok: UPDATE 1");
  EXPECT_EQ(Query("SELECT value FROM test WHERE id = 1"), "30");
  // A reader never waits, even for a locked row.
  Ok(*first_, "BEGIN");
  Ok(*first_, "SELECT * FROM test FOR UPDATE");
  EXPECT_EQ(Query(*second_, "SELECT value FROM test ORDER BY id"), "30;20");
  Ok(*first_, "COMMIT");
}

}  // namespace
}  // namespace mvdb::sql::testing
