// SQL logic tests: every file tests/sql/logic/*.test runs, on a fresh
// temporary database, through sql::SqlDatabase and Session, and each
// statement's outcome is compared with the one the file expects. The
// expectations were checked against PostgreSQL 15 where the two overlap
// (logic/check_postgres.py runs files against a server and names every
// record that differs), so a difference is a departure from docs/sql.md
// and docs/output.md.
//
// File format (sqllogictest-like, simpler). A file is a list of records
// separated by blank lines; a line starting with '#' outside a record's
// expected output is a comment. The records:
//
//   statement ok            The SQL (the following lines, up to a blank line
//   SQL...                  or '----') must succeed. Optionally '----' and
//   [----                   one line: the command tag it must answer
//   TAG]                    ("INSERT 0 2", "ROLLBACK", ...).
//
//   statement error SQLSTATE [MESSAGE]
//   SQL...                  The SQL must fail with that SQLSTATE, and with
//                           exactly that message when one is given (the
//                           rest of the line: PostgreSQL's primary message).
//
//   query [rowsort] [header]
//   SQL...                  The SQL must succeed and return exactly these
//   ----                    rows, one per line, values separated by '|',
//   ROWS...                 NULL as "NULL", booleans t/f, numbers as
//                           PostgreSQL prints them, the empty string as an
//                           empty field. 'rowsort' sorts the actual and the
//                           expected rows as text before comparing (for
//                           queries without ORDER BY); 'header' makes the
//                           first line after '----' the column names.
//
//   session NAME            Later records run in session NAME (created on
//                           first use, read committed by default); the file
//                           starts in session "main". Sessions share one
//                           database and one thread, so no record may wait
//                           for a lock.
//
// The SQL of a record may hold several statements; ExecuteText runs them in
// order and the record checks the last outcome (or the first error).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sql/expression.h"
#include "sql/session.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::sql {
namespace {

enum class RecordKind { kStatementOk, kStatementError, kQuery, kSession };

struct Record {
  RecordKind kind = RecordKind::kStatementOk;
  int line = 0;                       // where the record starts, for messages
  std::string sql;                    // or the session name
  std::string sqlstate;               // kStatementError
  std::string message;                // kStatementError; empty: any message
  std::string tag;                    // kStatementOk with '----'; empty: any tag
  bool rowsort = false;               // kQuery
  bool header = false;                // kQuery
  std::vector<std::string> expected;  // kQuery: header (if any), then rows
};

std::vector<std::string> SplitWords(const std::string& line) {
  std::istringstream stream(line);
  std::vector<std::string> words;
  for (std::string word; stream >> word;) words.push_back(word);
  return words;
}

// Parses `text`; a malformed record is a test failure naming its line.
std::vector<Record> ParseRecords(const std::string& file, const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);

  std::vector<Record> records;
  size_t i = 0;
  auto blank = [&](size_t k) { return lines[k].find_first_not_of(" \t\r") == std::string::npos; };
  while (i < lines.size()) {
    if (blank(i) || lines[i][0] == '#') {
      ++i;
      continue;
    }
    Record record;
    record.line = static_cast<int>(i + 1);
    const std::vector<std::string> words = SplitWords(lines[i]);
    const std::string where = file + ":" + std::to_string(record.line);
    ++i;
    if (words[0] == "session" && words.size() == 2) {
      record.kind = RecordKind::kSession;
      record.sql = words[1];
      records.push_back(std::move(record));
      continue;
    }
    if (words[0] == "statement" && words.size() == 2 && words[1] == "ok") {
      record.kind = RecordKind::kStatementOk;
    } else if (words[0] == "statement" && words.size() >= 3 && words[1] == "error") {
      record.kind = RecordKind::kStatementError;
      record.sqlstate = words[2];
      if (words.size() > 3) {
        const std::string& line = lines[i - 1];
        const size_t at = line.find_first_not_of(" \t", line.find(words[2]) + words[2].size());
        record.message = line.substr(at);
      }
    } else if (words[0] == "query") {
      record.kind = RecordKind::kQuery;
      for (size_t w = 1; w < words.size(); ++w) {
        if (words[w] == "rowsort") {
          record.rowsort = true;
        } else if (words[w] == "header") {
          record.header = true;
        } else {
          ADD_FAILURE() << where << ": unknown query option '" << words[w] << "'";
        }
      }
    } else {
      ADD_FAILURE() << where << ": expected 'statement ok', 'statement error SQLSTATE', "
                    << "'query' or 'session NAME', not '" << lines[i - 1] << "'";
      while (i < lines.size() && !blank(i)) ++i;
      continue;
    }
    while (i < lines.size() && !blank(i) && lines[i] != "----") {
      if (lines[i][0] != '#') record.sql += lines[i] + "\n";
      ++i;
    }
    if (i < lines.size() && lines[i] == "----") {
      ++i;
      // Expected output runs to the next blank line; an empty result set is
      // a '----' followed directly by the blank line.
      while (i < lines.size() && !blank(i)) record.expected.push_back(lines[i++]);
    }
    if (record.kind == RecordKind::kStatementOk) {
      if (record.expected.size() > 1) ADD_FAILURE() << where << ": a statement has one tag";
      if (!record.expected.empty()) record.tag = record.expected[0];
      record.expected.clear();
    } else if (record.kind == RecordKind::kStatementError && !record.expected.empty()) {
      ADD_FAILURE() << where << ": 'statement error' takes no '----' section";
    }
    if (record.sql.empty()) ADD_FAILURE() << where << ": record without SQL";
    records.push_back(std::move(record));
  }
  return records;
}

// A value as the files write it (psql's text output, NULL spelled out).
std::string FieldText(const Value& value) {
  if (value.is_null()) return "NULL";
  if (value.type() == TypeId::kBool) return value.bool_value() ? "t" : "f";
  return ValueToText(value);
}

std::string JoinFields(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i > 0 ? "|" : "") + fields[i];
  return line;
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += "  " + line + "\n";
  return text.empty() ? "  (no rows)\n" : text;
}

std::string Describe(const Outcome& outcome) {
  if (outcome.ok()) return "ok, tag " + outcome.result->tag;
  return "error " + outcome.error.sqlstate + ": " + outcome.error.message;
}

class LogicFileRunner {
 public:
  explicit LogicFileRunner(std::string file) : file_(std::move(file)) {}

  void Run(const std::vector<Record>& records) {
    Options options;
    options.sync = SyncMode::kOff;
    // Sessions share one thread, so a wait could only end by timing out:
    // keep that short and visible rather than hanging the test.
    options.lock_timeout = std::chrono::milliseconds(2000);
    auto db = SqlDatabase::Open(dir_.path(), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    Session* session = SessionNamed("main");
    for (const Record& record : records) {
      if (record.kind == RecordKind::kSession) {
        session = SessionNamed(record.sql);
        continue;
      }
      Check(record, session->ExecuteText(record.sql));
    }
    sessions_.clear();  // before the database they belong to
    db_.reset();
  }

 private:
  Session* SessionNamed(const std::string& name) {
    std::unique_ptr<Session>& session = sessions_[name];
    if (session == nullptr) session = db_->NewSession();
    return session.get();
  }

  void Check(const Record& record, const Outcome& outcome) {
    const std::string where = file_ + ":" + std::to_string(record.line) + "\n" + record.sql;
    switch (record.kind) {
      case RecordKind::kStatementOk:
        EXPECT_TRUE(outcome.ok()) << where << "-> " << Describe(outcome);
        if (outcome.ok() && !record.tag.empty()) {
          EXPECT_EQ(outcome.result->tag, record.tag) << where;
        }
        return;
      case RecordKind::kStatementError:
        EXPECT_FALSE(outcome.ok())
            << where << "-> " << Describe(outcome) << ", expected error " << record.sqlstate;
        if (!outcome.ok()) {
          EXPECT_EQ(outcome.error.sqlstate, record.sqlstate) << where << "-> " << Describe(outcome);
          if (!record.message.empty()) {
            EXPECT_EQ(outcome.error.message, record.message) << where;
          }
        }
        return;
      case RecordKind::kQuery:
        CheckQuery(record, outcome, where);
        return;
      case RecordKind::kSession:
        return;
    }
  }

  void CheckQuery(const Record& record, const Outcome& outcome, const std::string& where) {
    if (!outcome.ok() || !outcome.result->rows.has_value()) {
      ADD_FAILURE() << where << "-> " << Describe(outcome) << ", expected rows";
      return;
    }
    const ResultSet& result = *outcome.result->rows;
    std::vector<std::string> actual;
    for (const auto& row : result.rows) {
      std::vector<std::string> fields;
      for (const Value& value : row) fields.push_back(FieldText(value));
      actual.push_back(JoinFields(fields));
    }
    std::vector<std::string> expected = record.expected;
    std::string expected_header;
    if (record.header && !expected.empty()) {
      expected_header = expected.front();
      expected.erase(expected.begin());
    }
    if (record.rowsort) {
      std::sort(actual.begin(), actual.end());
      std::sort(expected.begin(), expected.end());
    }
    if (record.header) {
      EXPECT_EQ(JoinFields(result.columns), expected_header) << where << "(column names)";
    }
    EXPECT_EQ(actual, expected) << where << "expected:\n"
                                << Lines(expected) << "actual:\n"
                                << Lines(actual);
  }

  std::string file_;
  mvdb::testing::TempDir dir_{"logic"};
  std::unique_ptr<SqlDatabase> db_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
};

std::vector<std::string> LogicFiles() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(MVDB_LOGIC_TEST_DIR)) {
    if (entry.path().extension() == ".test") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class LogicTest : public ::testing::TestWithParam<std::string> {};

TEST_P(LogicTest, MatchesExpectedResults) {
  const std::string path = std::string(MVDB_LOGIC_TEST_DIR) + "/" + GetParam() + ".test";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  const std::vector<Record> records = ParseRecords(path, text.str());
  ASSERT_FALSE(records.empty()) << path << " holds no records";
  LogicFileRunner(path).Run(records);
}

INSTANTIATE_TEST_SUITE_P(Files, LogicTest, ::testing::ValuesIn(LogicFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;  // file names are identifiers
                         });

}  // namespace
}  // namespace mvdb::sql
