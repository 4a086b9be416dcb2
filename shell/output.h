// How the SQL shell prints results: psql's aligned tables (and its expanded
// \x form), RFC 4180 CSV for --csv, and values as PostgreSQL 15 prints them
// (docs/output.md). Scripts outside the code compare this
// output byte for byte, so the layout follows psql's print.c, not taste.
//
// Threading: the functions are pure functions of their arguments; call them
// from any thread.
#pragma once

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "sql/session.h"
#include "sql/value.h"

namespace mvdb::shell {

struct OutputOptions {
  bool csv = false;       // --csv
  bool expanded = false;  // \x
  bool quiet = false;     // -q: no command tags
};

// A value as PostgreSQL's output functions write it: t/f, integers in
// decimal, floats as float8out (shortest exact: 1.5, 1e+16, -2.5e-07,
// Infinity, NaN), text as is. NULL is the empty string.
std::string FormatValue(const sql::Value& value);
std::string FormatFloat(double value);

// A table of text cells, already formatted. `right_aligned[i]` puts column
// i's cells to the right, as psql does for numbers.
struct TextTable {
  std::string title;  // printed centered above an aligned table; may be empty
  std::vector<std::string> columns;
  std::vector<bool> right_aligned;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<bool>> nulls;  // optional; CSV leaves NULLs unquoted
  bool row_count_footer = true;          // "(N rows)"
  std::vector<std::string> footers;      // lines after the table (\d's "Indexes:")
};

TextTable ToTextTable(const sql::ResultSet& result);

// psql's aligned layout (header, separator, rows, "(N rows)" footer and a
// blank line), its expanded layout, or CSV (header line, no footer).
void PrintTable(const TextTable& table, const OutputOptions& options, std::ostream& out);

// The table of a statement that returns rows, else its command tag (unless
// quiet).
void PrintStatementResult(const sql::StatementResult& result, const OutputOptions& options,
                          std::ostream& out);

// "ERROR:  SQLSTATE message", as the contract writes errors.
std::string FormatError(const sql::SqlError& error);

// A field of a CSV record (RFC 4180): quoted when it holds a comma, a quote,
// CR or LF, or is empty (so that the empty string differs from NULL).
std::string CsvField(std::string_view text);

// The program's standard output (main.cc puts it under std::cout): a
// buffer written to a file descriptor that remembers the first failed
// write. std::cout over stdio only says that something failed; the shell
// must say what ("No space left on device") and end with a non-zero exit
// status (README, "Limits, errors and signals"), so a full disk or a closed pipe never
// passes silently. After a failure every later write fails too, and the
// stream that uses the buffer goes bad.
//
// Threading: one thread at a time, as for any stream.
class FdOutputBuffer : public std::streambuf {
 public:
  explicit FdOutputBuffer(int fd);
  ~FdOutputBuffer() override;  // writes what is left (check error() after pubsync() first)
  FdOutputBuffer(const FdOutputBuffer&) = delete;
  FdOutputBuffer& operator=(const FdOutputBuffer&) = delete;

  // errno of the first failed write, or 0.
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* data, std::streamsize size) override;
  int sync() override;

 private:
  // Writes the buffered bytes; false once a write has failed.
  bool Drain();
  bool WriteAll(const char* data, size_t size);

  const int fd_;
  int error_ = 0;
  std::vector<char> buffer_;
};

}  // namespace mvdb::shell
