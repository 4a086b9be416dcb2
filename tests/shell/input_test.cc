// What the shell reads and writes, piece by piece (issue 11, items 5 to 8):
// - sql::CheckStatementText refuses what PostgreSQL 15 refuses, with its
//   SQLSTATE and message, and Session::ExecuteText applies it to every
//   statement (nothing stored, a block fails);
// - sql::StatementSplitter splits text fed a piece at a time exactly as the
//   lexer-based split did on the whole text;
// - LineReader reports read errors and stops at the line limit;
// - FdOutputBuffer remembers the first failed write (a full disk, a closed
//   pipe).
//
// PostgreSQL 15.18 (psql against a UTF8 database, \set VERBOSITY verbose),
// recorded for these expectations:
//   printf "select 'a\xffb';"  | psql      ERROR:  22021: invalid byte sequence for encoding
//   "UTF8": 0xff select 1 as "a\xc3";                   ... "UTF8": 0xc3 0x22 select
//   'a\xed\xa0\x80b';  (surrogate)  ... "UTF8": 0xed 0xa0 0x80 select 'a\xf4\x90\x80\x80b';
//   (>10FFFF) ... "UTF8": 0xf4 0x90 0x80 0x80 select 'a\xc0\xafb';      (overlong)   ... "UTF8":
//   0xc0 0xaf select E'a\\000b';        (a NUL)      ERROR:  22021: invalid byte sequence for
//   encoding "UTF8": 0x00 begin; select 'a\xffb'; select 1;      22021, then 25P02 current
//   transaction is aborted, ...
// (psql cuts a query at a NUL byte before sending it, so the server's
// verdict on a NUL is the one of E'\000', whose bytes reach its check.)
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "shell/line_reader.h"
#include "shell/output.h"
#include "sql/lexer.h"
#include "sql/session.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::shell {
namespace {

// --- What text the SQL layer accepts -------------------------------------------

std::string Refusal(std::string_view text) {
  std::optional<sql::TextError> error = sql::CheckStatementText(text);
  return error.has_value() ? error->sqlstate + " " + error->message : "ok";
}

TEST(CheckStatementTextTest, RefusesTheBytesPostgresRefusesWithItsMessage) {
  using namespace std::string_literals;
  const std::string kPrefix = "22021 invalid byte sequence for encoding \"UTF8\": ";
  EXPECT_EQ(Refusal("select 'a\xff"
                    "b';"),
            kPrefix + "0xff");
  EXPECT_EQ(Refusal("select 1 as \"a\xc3\";"), kPrefix + "0xc3 0x22");
  EXPECT_EQ(Refusal("select 'a\xed\xa0\x80"
                    "b';"),
            kPrefix + "0xed 0xa0 0x80");
  EXPECT_EQ(Refusal("select 'a\xf4\x90\x80\x80"
                    "b';"),
            kPrefix + "0xf4 0x90 0x80 0x80");
  EXPECT_EQ(Refusal("select 'a\xc0\xaf"
                    "b';"),
            kPrefix + "0xc0 0xaf");
  EXPECT_EQ(Refusal("select 'a\0b';"s), kPrefix + "0x00");
  // A lone continuation byte, bytes that begin nothing, a character cut
  // short (by the end, or by a byte that does not continue it).
  EXPECT_EQ(Refusal("\x80"), kPrefix + "0x80");
  EXPECT_EQ(Refusal("a\xf8\x88\x80\x80\x80"), kPrefix + "0xf8");
  EXPECT_EQ(Refusal("x = '\xe2\x82"), kPrefix + "0xe2 0x82");
  EXPECT_EQ(Refusal("\xe2\x28\xa1"), kPrefix + "0xe2 0x28 0xa1");
  EXPECT_EQ(Refusal("\xf0\x8f\xbf\xbf"), kPrefix + "0xf0 0x8f 0xbf 0xbf");  // overlong
  // The first bad byte is the one named.
  EXPECT_EQ(Refusal("ok \xc3\xa9 then \xfe and \xff"), kPrefix + "0xfe");
}

TEST(CheckStatementTextTest, AcceptsEveryValidCharacter) {
  EXPECT_EQ(Refusal(""), "ok");
  EXPECT_EQ(Refusal("SELECT 'plain', \"caf\xc3\xa9\", '\xe6\x97\xa5\xe6\x9c\xac';"), "ok");
  EXPECT_EQ(Refusal("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"), "ok");
  EXPECT_EQ(Refusal("\xf0\x90\x80\x80 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf \x7f"), "ok");
  // Every code point, encoded: all accepted, surrogates excepted.
  std::string text;
  for (uint32_t cp = 1; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (cp < 0x80) {
      text += static_cast<char>(cp);
    } else if (cp < 0x800) {
      text += static_cast<char>(0xC0 | (cp >> 6));
      text += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      text += static_cast<char>(0xE0 | (cp >> 12));
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      text += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      text += static_cast<char>(0xF0 | (cp >> 18));
      text += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      text += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  EXPECT_EQ(sql::FindInvalidUtf8(text), std::string_view::npos);
}

TEST(CheckStatementTextTest, RefusesAStatementOverTheLimitWith54000) {
  std::string text(sql::kMaxStatementBytes, ' ');
  EXPECT_EQ(Refusal(text), "ok");
  text += ' ';
  EXPECT_EQ(Refusal(text), "54000 statement is too long (67108865 bytes, the maximum is 67108864)");
}

class SessionTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.sync = SyncMode::kOff;
    auto db = sql::SqlDatabase::Open(dir_.path(), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    session_ = db_->NewSession();
  }
  std::string Run(std::string_view sql) {
    const sql::Outcome outcome = session_->ExecuteText(sql);
    if (!outcome.ok()) return outcome.error.sqlstate + " " + outcome.error.message;
    std::string text = outcome.result->tag;
    if (outcome.result->rows.has_value()) {
      for (const auto& row : outcome.result->rows->rows) {
        for (const sql::Value& value : row) {
          text += ' ';  // piece by piece: GCC 12 warns falsely about " " + ...
          text += FormatValue(value);
        }
      }
    }
    return text;
  }

  testing::TempDir dir_{"input-test"};
  std::unique_ptr<sql::SqlDatabase> db_;
  std::unique_ptr<sql::Session> session_;
};

TEST_F(SessionTextTest, InvalidTextIsRefusedBeforeAnythingRunsOrIsStored) {
  using namespace std::string_literals;
  const std::string kInvalid = "22021 invalid byte sequence for encoding \"UTF8\": ";
  ASSERT_EQ(Run("CREATE TABLE t (id int PRIMARY KEY, s text)"), "CREATE TABLE");
  EXPECT_EQ(Run("INSERT INTO t VALUES (1, 'a\xff"
                "b')"),
            kInvalid + "0xff");
  EXPECT_EQ(Run("INSERT INTO t VALUES (2, 'a\0b')"s), kInvalid + "0x00");
  // A script of several statements runs none of them.
  EXPECT_EQ(Run("INSERT INTO t VALUES (3, 'ok'); INSERT INTO t VALUES (4, '\xc3')"),
            kInvalid + "0xc3 0x27");
  EXPECT_EQ(Run("CREATE TABLE \"caf\xe9\" (x int)"), kInvalid + "0xe9 0x22 0x20");
  EXPECT_EQ(Run("SELECT count(*) FROM t"), "SELECT 1 0");
  // Valid UTF-8 is stored and read back byte for byte.
  EXPECT_EQ(Run("INSERT INTO t VALUES (5, 'caf\xc3\xa9 \xf0\x9f\x98\x80')"), "INSERT 0 1");
  EXPECT_EQ(Run("SELECT s FROM t"), "SELECT 1 caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST_F(SessionTextTest, InvalidTextFailsATransactionBlockAsInPostgres) {
  EXPECT_EQ(Run("BEGIN"), "BEGIN");
  EXPECT_EQ(Run("SELECT 'a\xff"
                "b'"),
            "22021 invalid byte sequence for encoding \"UTF8\": 0xff");
  EXPECT_EQ(Run("SELECT 1"),
            "25P02 current transaction is aborted, commands ignored until end of transaction "
            "block");
  EXPECT_EQ(Run("ROLLBACK"), "ROLLBACK");
}

TEST_F(SessionTextTest, AStatementOverTheLimitIsRefusedWith54000) {
  std::string text = "SELECT '" + std::string(sql::kMaxStatementBytes, 'x') + "'";
  EXPECT_EQ(Run(text).substr(0, 33), "54000 statement is too long (6710");
}

// --- Splitting text that arrives a line at a time --------------------------------

// SplitStatement as it was before StatementSplitter: the lexer's tokens,
// a ';' outside parentheses. The reference the splitter must agree with.
bool LexerSplit(std::string_view buffer, size_t* end) {
  sql::Lexer lexer(buffer);
  int depth = 0;
  while (true) {
    const sql::Token token = lexer.Next();
    if (token.kind == sql::TokenKind::kEnd || token.kind == sql::TokenKind::kUnterminated) {
      return false;
    }
    if (token.kind != sql::TokenKind::kOperator) continue;
    if (token.text == "(") {
      ++depth;
    } else if (token.text == ")") {
      if (depth > 0) --depth;
    } else if (token.text == ";" && depth == 0) {
      *end = token.offset + 1;
      return true;
    }
  }
}

struct Split {
  std::vector<std::string> statements;
  std::string rest;
};

Split SplitWhole(std::string_view text) {
  Split split;
  size_t end = 0;
  while (LexerSplit(text, &end)) {
    split.statements.emplace_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  split.rest = std::string(text);
  return split;
}

// As the shell feeds it: pieces appended, complete statements taken off.
Split SplitInPieces(std::string_view text, std::mt19937_64& random) {
  Split split;
  sql::StatementSplitter splitter;
  std::string buffer;
  size_t fed = 0;
  while (fed < text.size()) {
    const size_t piece = 1 + random() % 8;
    buffer.append(text.substr(fed, piece));
    fed += std::min(piece, text.size() - fed);
    size_t end = 0;
    while (splitter.FindEnd(buffer, &end)) {
      split.statements.push_back(buffer.substr(0, end));
      buffer.erase(0, end);
      splitter.Reset();
    }
  }
  split.rest = buffer;
  return split;
}

TEST(StatementSplitterTest, SplitsTextFedInPiecesAsTheLexerSplitsItWhole) {
  const uint64_t seed = mvdb::testing::TestSeed(20261207);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  const std::vector<std::string> pieces = {"SELECT 1", "'a;b'",
                                           "'it''s;'", "\"x;\"\"y\"",
                                           "-- c;\n",  "/* a /* b; */ c; */",
                                           "(",        ")",
                                           ";",        ";",
                                           "-",        "/",
                                           "*",        "\n",
                                           " ",        "'",
                                           "\"",       "/*",
                                           "*/",       "--",
                                           "e",        "caf\xc3\xa9",
                                           "$1",       "1.5e-3",
                                           "<>",       std::string(1, '\0'),
                                           "''",       "\"\"",
                                           "--\n",     "/**/",
                                           "/*/"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int count = 1 + static_cast<int>(random() % 24);
    for (int i = 0; i < count; ++i) text += pieces[random() % pieces.size()];
    const Split whole = SplitWhole(text);
    const Split fed = SplitInPieces(text, random);
    ASSERT_EQ(fed.statements, whole.statements) << text;
    ASSERT_EQ(fed.rest, whole.rest) << text;
    size_t end = 0;
    size_t lexer_end = 0;
    ASSERT_EQ(sql::SplitStatement(text, &end), LexerSplit(text, &lexer_end)) << text;
  }
}

// --- LineReader ------------------------------------------------------------------

TEST(LineReaderTest, ReadsLinesAndALastLineWithoutNewline) {
  testing::TempDir dir("input-test");
  std::ofstream(dir.File("script")) << "SELECT 1;\n\n  \\d\nlast";
  auto reader = LineReader::Open(dir.File("script"), 100);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string line;
  std::vector<std::string> lines;
  while ((*reader)->ReadLine(&line) == LineReader::Read::kLine) lines.push_back(line);
  EXPECT_EQ(lines, (std::vector<std::string>{"SELECT 1;", "", "  \\d", "last"}));
  EXPECT_EQ((*reader)->ReadLine(&line), LineReader::Read::kEnd);
}

TEST(LineReaderTest, ALineOverTheLimitStopsTheReadingWithBoundedMemory) {
  const int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    LineReader reader(fd, 1 << 20);
    std::string line;
    EXPECT_EQ(reader.ReadLine(&line), LineReader::Read::kTooLong);
    EXPECT_TRUE(line.empty());
    EXPECT_LE(line.capacity(), size_t{2} << 20);
    EXPECT_EQ(reader.ReadLine(&line), LineReader::Read::kTooLong);
  }
  close(fd);
  // Exactly at the limit is still a line.
  testing::TempDir dir("input-test");
  std::ofstream(dir.File("script")) << std::string(100, 'x') << "\n" << std::string(101, 'y');
  auto reader = LineReader::Open(dir.File("script"), 100);
  ASSERT_TRUE(reader.ok());
  std::string line;
  EXPECT_EQ((*reader)->ReadLine(&line), LineReader::Read::kLine);
  EXPECT_EQ(line, std::string(100, 'x'));
  EXPECT_EQ((*reader)->ReadLine(&line), LineReader::Read::kTooLong);
}

TEST(LineReaderTest, ADirectoryOrAMissingFileIsAnErrorNotAnEmptyScript) {
  testing::TempDir dir("input-test");
  auto opened = LineReader::Open(dir.path(), 100);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().message(),
            dir.path() + ": could not read from input file: Is a directory");
  opened = LineReader::Open(dir.File("none"), 100);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().message(), dir.File("none") + ": No such file or directory");
  // A read error (EISDIR from a descriptor) is kError, never the end.
  const int fd = open(dir.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    LineReader reader(fd, 100);
    std::string line;
    EXPECT_EQ(reader.ReadLine(&line), LineReader::Read::kError);
    EXPECT_EQ(reader.error(), "Is a directory");
  }
  close(fd);
}

// --- FdOutputBuffer --------------------------------------------------------------

TEST(FdOutputBufferTest, WritesEverythingInOrder) {
  testing::TempDir dir("input-test");
  const int fd = open(dir.File("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  std::string expected;
  {
    FdOutputBuffer buffer(fd);
    std::ostream out(&buffer);
    for (int i = 0; i < 20000; ++i) {
      const std::string piece = std::to_string(i) + (i % 1000 == 0 ? std::string(70000, 'z') : "");
      out << piece << '\n';
      expected += piece + '\n';
    }
    out.flush();
    EXPECT_TRUE(out.good());
    EXPECT_EQ(buffer.error(), 0);
  }
  close(fd);
  std::ifstream in(dir.File("out"));
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, expected);
}

TEST(FdOutputBufferTest, AFullDiskFailsTheStreamAndSaysWhy) {
  const int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "/dev/full is needed";
  FdOutputBuffer buffer(fd);
  std::ostream out(&buffer);
  out << "SELECT 1\n";
  EXPECT_TRUE(out.good());  // buffered so far
  out.flush();
  EXPECT_FALSE(out.good());
  EXPECT_EQ(buffer.error(), ENOSPC);
  close(fd);
}

TEST(FdOutputBufferTest, AClosedPipeIsEpipe) {
  std::signal(SIGPIPE, SIG_IGN);  // as main.cc
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  FdOutputBuffer buffer(fds[1]);
  std::ostream out(&buffer);
  out << std::string(200000, 'x');  // more than the buffer: written at once
  EXPECT_FALSE(out.good());
  EXPECT_EQ(buffer.error(), EPIPE);
  close(fds[1]);
}

}  // namespace
}  // namespace mvdb::shell
