// libFuzzer target: the SQL lexer and parser (sql/lexer.h, sql/parser.h)
// over arbitrary text.
//
// Besides the sanitizers' checks (no crash, no overflow, no leak, bounded
// stack), each input checks what callers rely on, and a violation traps:
// - a failure names a 5-character SQLSTATE, a message, and a place inside
//   the text;
// - a statement's `text` is a piece of the input;
// - every expression in a SELECT list or WHERE prints (ExprToString) as SQL
//   that parses back to the same tree, unless the extra parentheses of the
//   printed form pass the nesting limit (54001);
// - SplitStatement walks the input forwards, each end just past a ';'.
//
//   build-fuzz/bin/sql_parser_fuzz -max_total_time=60 /tmp/sql-fuzz fuzz/corpus/sql_parser
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sql/lexer.h"
#include "sql/parser.h"

namespace {

namespace sql = mvdb::sql;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckRoundTrip(const sql::Expr& expr) {
  Check(expr.height >= 1 && expr.height <= sql::kMaxExpressionDepth);
  const std::string printed = sql::ExprToString(expr);
  sql::ParseError error;
  auto again = sql::ParseScript("SELECT " + printed, &error);
  if (!again.ok()) {
    Check(error.sqlstate == "54001");
    return;
  }
  Check(again->size() == 1);
  const auto* select = std::get_if<sql::Select>(&again->front().node);
  Check(select != nullptr && select->items.size() == 1 && select->items[0].expr != nullptr);
  Check(sql::ExprToString(*select->items[0].expr) == printed);
}

void CheckStatement(const sql::Statement& statement, std::string_view input) {
  Check(statement.pos.offset + statement.text.size() <= input.size());
  Check(input.substr(statement.pos.offset, statement.text.size()) == statement.text);
  if (const auto* select = std::get_if<sql::Select>(&statement.node)) {
    for (const sql::SelectItem& item : select->items) {
      if (item.expr != nullptr) CheckRoundTrip(*item.expr);
      Check(item.is_star() || !item.output_name.empty());
    }
    if (select->where != nullptr) CheckRoundTrip(*select->where);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  sql::ParseError error;
  auto statements = sql::ParseScript(input, &error);
  if (statements.ok()) {
    for (const sql::Statement& statement : *statements) CheckStatement(statement, input);
  } else {
    Check(error.sqlstate.size() == 5);
    Check(!error.message.empty());
    Check(error.line >= 1 && error.column >= 1 && error.offset <= size);
    Check(!statements.status().message().empty());
  }

  size_t start = 0;
  size_t end = 0;
  while (start < size && sql::SplitStatement(input.substr(start), &end)) {
    Check(end >= 1 && start + end <= size && input[start + end - 1] == ';');
    start += end;
  }
  return 0;
}
