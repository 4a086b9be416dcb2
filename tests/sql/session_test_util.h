// What the SQL session tests share: a database in a scratch directory,
// statements run with their outcome checked, and rows printed compactly.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "sql/expression.h"
#include "sql/session.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::sql::testing {

// A value as psql prints it; NULL as "NULL".
inline std::string Show(const Value& value) {
  if (value.is_null()) return "NULL";
  if (value.type() == TypeId::kBool) return value.bool_value() ? "t" : "f";
  return ValueToText(value);
}

// Rows as "a,b;c,d".
inline std::string RowsText(const Outcome& outcome) {
  if (!outcome.ok() || !outcome.result->rows.has_value()) return "<no rows>";
  std::string text;
  for (const auto& row : outcome.result->rows->rows) {
    if (!text.empty()) text += ";";
    for (size_t i = 0; i < row.size(); ++i) text += (i > 0 ? "," : "") + Show(row[i]);
  }
  return text;
}

inline std::string Describe(const Outcome& outcome) {
  if (outcome.ok()) return "ok: " + outcome.result->tag;
  return "error " + outcome.error.sqlstate + ": " + outcome.error.message;
}

class SqlTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override { Close(); }

  void Open() {
    Options options;
    options.sync = SyncMode::kOff;
    options.lock_timeout = std::chrono::milliseconds(20000);
    auto db = SqlDatabase::Open(dir_.path(), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    session_ = db_->NewSession();
  }
  void Close() {
    session_.reset();
    db_.reset();
  }

  // Runs `sql`, expecting success; returns the tag.
  std::string Ok(Session& session, std::string_view sql) {
    const Outcome outcome = session.ExecuteText(sql);
    EXPECT_TRUE(outcome.ok()) << sql << " -> " << Describe(outcome);
    return outcome.ok() ? outcome.result->tag : "";
  }
  std::string Ok(std::string_view sql) { return Ok(*session_, sql); }
  // Runs a query, expecting success; returns its rows as RowsText.
  std::string Query(Session& session, std::string_view sql) {
    const Outcome outcome = session.ExecuteText(sql);
    EXPECT_TRUE(outcome.ok()) << sql << " -> " << Describe(outcome);
    return RowsText(outcome);
  }
  std::string Query(std::string_view sql) { return Query(*session_, sql); }
  // Runs `sql`, expecting failure; returns the SQLSTATE.
  std::string Error(Session& session, std::string_view sql) {
    const Outcome outcome = session.ExecuteText(sql);
    EXPECT_FALSE(outcome.ok()) << sql << " unexpectedly gave " << Describe(outcome);
    return outcome.ok() ? "" : outcome.error.sqlstate;
  }
  std::string Error(std::string_view sql) { return Error(*session_, sql); }

  // Waits until `session` waits for a row lock (the lock manager says so).
  static bool WaitUntilBlocked(const Session& session) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (session.waiting_for() != 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  mvdb::testing::TempDir dir_{"sql"};
  std::unique_ptr<SqlDatabase> db_;
  std::unique_ptr<Session> session_;
};

}  // namespace mvdb::sql::testing
