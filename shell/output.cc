// The SQL shell's output (shell/output.h). The aligned layouts follow
// psql's print.c with its default border 1: a header line whose names are
// centered (and which keeps a trailing space), a separator of dashes with
// '+' between columns, cells padded to the column width except a
// left-aligned last column, a "+" where a cell continues on the next line,
// and a footer. Only the characters are counted, never bytes, so UTF-8 text
// lines up.
#include "shell/output.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

namespace mvdb::shell {
namespace {

// Characters of UTF-8 text (continuation bytes do not count).
size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    const size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, newline - start));
    start = newline + 1;
  }
}

void Pad(std::ostream& out, size_t count, char c = ' ') {
  for (size_t i = 0; i < count; ++i) out << c;
}

std::string RowCountFooter(size_t rows) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about
  // "(" + std::to_string(n).
  std::string footer = "(";
  footer += std::to_string(rows);
  footer += rows == 1 ? " row)" : " rows)";
  return footer;
}

bool IsNull(const TextTable& table, size_t row, size_t column) {
  return row < table.nulls.size() && column < table.nulls[row].size() && table.nulls[row][column];
}

void PrintAligned(const TextTable& table, std::ostream& out) {
  const size_t columns = table.columns.size();
  std::vector<std::vector<std::vector<std::string_view>>> cells(table.rows.size());
  std::vector<size_t> widths(columns);
  for (size_t c = 0; c < columns; ++c) {
    for (std::string_view line : SplitLines(table.columns[c])) {
      widths[c] = std::max(widths[c], DisplayWidth(line));
    }
  }
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (size_t c = 0; c < columns; ++c) {
      const std::string_view cell =
          c < table.rows[r].size() ? std::string_view(table.rows[r][c]) : std::string_view();
      cells[r].push_back(SplitLines(cell));
      for (std::string_view line : cells[r].back()) {
        widths[c] = std::max(widths[c], DisplayWidth(line));
      }
    }
  }
  if (!table.title.empty()) {
    size_t total = 0;
    for (size_t width : widths) total += width + 3;
    total = total > 0 ? total - 1 : 0;
    const size_t title_width = DisplayWidth(table.title);
    if (title_width < total) Pad(out, (total - title_width) / 2);
    out << table.title << '\n';
  }
  // Header: every name centered, each followed by a space (psql keeps the
  // one after the last name too).
  for (size_t c = 0; c < columns; ++c) {
    const size_t width = DisplayWidth(table.columns[c]);
    out << (c == 0 ? " " : "| ");
    Pad(out, (widths[c] - width) / 2);
    out << table.columns[c];
    Pad(out, (widths[c] - width + 1) / 2);
    out << ' ';
  }
  out << '\n';
  for (size_t c = 0; c < columns; ++c) {
    if (c > 0) out << '+';
    Pad(out, widths[c] + 2, '-');
  }
  out << '\n';
  for (size_t r = 0; r < cells.size(); ++r) {
    size_t height = 1;
    for (const auto& lines : cells[r]) height = std::max(height, lines.size());
    for (size_t line = 0; line < height; ++line) {
      for (size_t c = 0; c < columns; ++c) {
        const auto& lines = cells[r][c];
        const std::string_view text = line < lines.size() ? lines[line] : std::string_view();
        const bool continues = line + 1 < lines.size();
        const bool last = c + 1 == columns;
        const size_t padding = widths[c] - DisplayWidth(text);
        out << (c == 0 ? " " : "| ");
        if (table.right_aligned[c]) {
          Pad(out, padding);
          out << text;
        } else {
          out << text;
          if (!last || continues) Pad(out, padding);
        }
        if (!last) {
          out << (continues ? '+' : ' ');
        } else if (continues) {
          out << '+';
        }
      }
      out << '\n';
    }
  }
  if (table.row_count_footer) out << RowCountFooter(table.rows.size()) << '\n';
  for (const std::string& footer : table.footers) out << footer << '\n';
  out << '\n';
}

// psql's print_aligned_vertical_line with border 1.
void PrintRecordHeader(size_t record, size_t name_width, size_t value_width, std::ostream& out) {
  const std::string label = "[ RECORD " + std::to_string(record) + " ]";
  out << '-' << label;
  long reclen = static_cast<long>(label.size()) + 1;
  for (long i = reclen; i < static_cast<long>(name_width); ++i) out << '-';
  reclen -= static_cast<long>(name_width);
  if (reclen-- <= 0) out << '-';
  if (reclen-- <= 0) out << '+';
  if (reclen-- <= 0) out << '-';
  if (reclen < 0) reclen = 0;
  for (long i = reclen; i < static_cast<long>(value_width); ++i) out << '-';
  out << '\n';
}

void PrintExpanded(const TextTable& table, std::ostream& out) {
  if (!table.title.empty()) out << table.title << '\n';
  if (table.rows.empty()) {
    out << "(0 rows)\n\n";
    return;
  }
  size_t name_width = 0;
  size_t value_width = 0;
  for (const std::string& column : table.columns) {
    name_width = std::max(name_width, DisplayWidth(column));
  }
  for (const auto& row : table.rows) {
    for (const std::string& cell : row) {
      for (std::string_view line : SplitLines(cell)) {
        value_width = std::max(value_width, DisplayWidth(line));
      }
    }
  }
  for (size_t r = 0; r < table.rows.size(); ++r) {
    PrintRecordHeader(r + 1, name_width, value_width, out);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const std::vector<std::string_view> lines = SplitLines(
          c < table.rows[r].size() ? std::string_view(table.rows[r][c]) : std::string_view());
      for (size_t line = 0; line < lines.size(); ++line) {
        const std::string_view name = line == 0 ? std::string_view(table.columns[c]) : "";
        out << name;
        Pad(out, name_width - DisplayWidth(name));
        out << " | " << lines[line];
        if (line + 1 < lines.size()) {
          Pad(out, value_width - DisplayWidth(lines[line]));
          out << '+';
        }
        out << '\n';
      }
    }
  }
  for (const std::string& footer : table.footers) out << footer << '\n';
  out << '\n';
}

void PrintCsv(const TextTable& table, std::ostream& out) {
  for (size_t c = 0; c < table.columns.size(); ++c) {
    out << (c > 0 ? "," : "") << CsvField(table.columns[c]);
  }
  out << '\n';
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (size_t c = 0; c < table.rows[r].size(); ++c) {
      if (c > 0) out << ',';
      if (!IsNull(table, r, c)) out << CsvField(table.rows[r][c]);
    }
    out << '\n';
  }
}

}  // namespace

std::string FormatFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  // float8out's rule (PostgreSQL's d2s.c): the shortest digits that read
  // back exactly, in fixed notation when the decimal exponent is in
  // [-4, 15), else as d.ddde+XX.
  char scientific[64];
  const auto written = std::to_chars(scientific, scientific + sizeof(scientific), value,
                                     std::chars_format::scientific);
  const std::string text(scientific, written.ptr);
  const size_t e = text.find('e');
  const int exponent = std::atoi(text.c_str() + e + 1);
  if (exponent < -4 || exponent >= 15) return text;
  char fixed[64];
  const auto fixed_written =
      std::to_chars(fixed, fixed + sizeof(fixed), value, std::chars_format::fixed);
  return std::string(fixed, fixed_written.ptr);
}

std::string FormatValue(const sql::Value& value) {
  switch (value.type()) {
    case sql::TypeId::kNull:
      return "";
    case sql::TypeId::kBool:
      return value.bool_value() ? "t" : "f";
    case sql::TypeId::kInt:
      return std::to_string(value.int_value());
    case sql::TypeId::kFloat:
      return FormatFloat(value.float_value());
    case sql::TypeId::kText:
      return value.text_value();
  }
  return "";
}

std::string CsvField(std::string_view text) {
  if (!text.empty() && text.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(text);
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

TextTable ToTextTable(const sql::ResultSet& result) {
  TextTable table;
  table.columns = result.columns;
  for (size_t c = 0; c < result.columns.size(); ++c) {
    const sql::TypeId type = c < result.types.size() ? result.types[c] : sql::TypeId::kNull;
    table.right_aligned.push_back(type == sql::TypeId::kInt || type == sql::TypeId::kFloat);
  }
  for (const auto& row : result.rows) {
    std::vector<std::string> cells;
    std::vector<bool> nulls;
    for (const sql::Value& value : row) {
      cells.push_back(FormatValue(value));
      nulls.push_back(value.is_null());
    }
    table.rows.push_back(std::move(cells));
    table.nulls.push_back(std::move(nulls));
  }
  return table;
}

void PrintTable(const TextTable& table, const OutputOptions& options, std::ostream& out) {
  if (options.csv) {
    PrintCsv(table, out);
  } else if (options.expanded) {
    PrintExpanded(table, out);
  } else {
    PrintAligned(table, out);
  }
}

void PrintStatementResult(const sql::StatementResult& result, const OutputOptions& options,
                          std::ostream& out) {
  if (result.rows.has_value()) {
    PrintTable(ToTextTable(*result.rows), options, out);
  } else if (!options.quiet) {
    out << result.tag << '\n';
  }
}

std::string FormatError(const sql::SqlError& error) {
  return "ERROR:  " + error.sqlstate + " " + error.message;
}

FdOutputBuffer::FdOutputBuffer(int fd) : fd_(fd), buffer_(size_t{64} << 10) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

FdOutputBuffer::~FdOutputBuffer() { (void)Drain(); }

bool FdOutputBuffer::WriteAll(const char* data, size_t size) {
  while (size > 0 && error_ == 0) {
    const ssize_t written = write(fd_, data, size);
    if (written > 0) {
      data += written;
      size -= static_cast<size_t>(written);
    } else if (written < 0 && errno == EINTR) {
      continue;
    } else {
      error_ = written < 0 ? errno : EIO;
    }
  }
  return error_ == 0;
}

bool FdOutputBuffer::Drain() {
  const bool ok = WriteAll(pbase(), static_cast<size_t>(pptr() - pbase()));
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return ok;
}

FdOutputBuffer::int_type FdOutputBuffer::overflow(int_type c) {
  if (!Drain()) return traits_type::eof();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  return c;
}

std::streamsize FdOutputBuffer::xsputn(const char* data, std::streamsize size) {
  if (error_ != 0) return 0;
  const auto count = static_cast<size_t>(size);
  if (count <= static_cast<size_t>(epptr() - pptr())) {
    std::copy(data, data + count, pptr());
    pbump(static_cast<int>(count));
    return size;
  }
  // More than fits: what is buffered, then this straight through.
  if (!Drain() || !WriteAll(data, count)) return 0;
  return size;
}

int FdOutputBuffer::sync() { return Drain() ? 0 : -1; }

}  // namespace mvdb::shell
