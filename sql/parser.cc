// The SQL parser (see parser.h): recursive descent for statements here,
// precedence climbing for expressions in expr_parser.cc.
//
// Failure handling without exceptions: the first error is recorded in
// `error_` and every parse function returns false (or a null ExprPtr), which
// its callers pass up unchanged, so the first error is the one reported.
//
// Stack depth is bounded: every ParseExpr call counts one level of
// `depth_`, and one level of nesting in the text (a parenthesis, NOT, unary
// minus, an operand of an operator) costs at most one ParseExpr call, so the
// recursion never goes deeper than kMaxExpressionDepth levels of a few frames
// each. Expression trees are bounded the same way through Expr::height,
// which catches long chains like 1+1+...+1 that need no recursion to parse
// but would need it to evaluate or destroy. Queries (set operations and
// parenthesized queries) are bounded the same way by kMaxQueryDepth:
// query_depth_ for the parser's recursion, Select::height for chains.
#include "sql/parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "sql/lexer.h"
#include "sql/parser_internal.h"

namespace mvdb::sql {
namespace {
using namespace parser_internal;  // NOLINT(google-build-using-namespace): this file implements it
}  // namespace

namespace parser_internal {

Parser::Parser(std::string_view text) : text_(text) {
  // Tokens first, each with its line and column, counted in one pass.
  Lexer lexer(text);
  uint32_t line = 1;
  uint32_t column = 1;
  size_t counted = 0;
  for (;;) {
    PositionedToken t{lexer.Next(), {}};
    for (; counted < t.token.offset; ++counted) {
      const char c = text[counted];
      if (c == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
        ++column;
      }
    }
    t.pos = {static_cast<uint32_t>(t.token.offset), line, column};
    // PostgreSQL's lexer refuses "" itself; here it ends the tokens as the
    // other lexical errors do, so it is reported when the parser reaches it.
    if (t.token.kind == TokenKind::kQuotedIdentifier && t.token.text.empty()) {
      t.token.kind = TokenKind::kUnterminated;
      t.token.text = "zero-length delimited identifier";
    }
    const TokenKind kind = t.token.kind;
    tokens_.push_back(std::move(t));
    if (kind == TokenKind::kEnd || kind == TokenKind::kUnterminated) break;
  }
}

bool Parser::AcceptWord(std::string_view word) {
  if (!IsWord(Peek(), word)) return false;
  Advance();
  return true;
}

bool Parser::AcceptOp(std::string_view op) {
  if (!IsOp(Peek(), op)) return false;
  Advance();
  return true;
}

bool Parser::ExpectWord(std::string_view word) { return AcceptWord(word) || SyntaxError(Peek()); }

bool Parser::ExpectOp(std::string_view op) { return AcceptOp(op) || SyntaxError(Peek()); }

bool Parser::Fail(std::string_view sqlstate, std::string message, const SourcePos& pos) {
  if (!failed_) {
    failed_ = true;
    error_.sqlstate = std::string(sqlstate);
    error_.message = std::move(message);
    error_.line = pos.line;
    error_.column = pos.column;
    error_.offset = pos.offset;
  }
  return false;
}

std::string Parser::Quote(size_t offset, size_t length) const {
  if (length > kMaxQuotedBytes) {
    length = kMaxQuotedBytes;
    // Cut before a character, not inside one.
    while (length > 0 && (static_cast<unsigned char>(text_[offset + length]) & 0xC0) == 0x80) {
      --length;
    }
  }
  return "\"" + std::string(text_.substr(offset, length)) + "\"";
}

bool Parser::SyntaxError(const PositionedToken& at) {
  switch (at.token.kind) {
    case TokenKind::kEnd:
      return Fail("42601", "syntax error at end of input", at.pos);
    case TokenKind::kUnterminated:
      return Fail("42601", at.token.text + " at or near " + Quote(at.token.offset, at.token.length),
                  at.pos);
    default:
      return Fail("42601", "syntax error at or near " + Quote(at.token.offset, at.token.length),
                  at.pos);
  }
}

bool Parser::ParseScript(std::vector<Statement>* statements) {
  for (;;) {
    while (AcceptOp(";")) {
    }
    const PositionedToken& first = Peek();
    if (first.token.kind == TokenKind::kEnd) return true;
    Statement statement;
    statement.pos = first.pos;
    if (!ParseStatement(&statement.node)) return false;
    const Token& last = tokens_[next_ - 1].token;
    statement.text = std::string(
        text_.substr(statement.pos.offset, last.offset + last.length - statement.pos.offset));
    statements->push_back(std::move(statement));
    if (!AcceptOp(";") && Peek().token.kind != TokenKind::kEnd) return SyntaxError(Peek());
  }
}

bool Parser::ParseStatement(StatementNode* out) {
  const PositionedToken& first = Peek();
  if (IsOp(first, "(")) return ParseSelect(out);  // (SELECT ...) UNION ...
  if (first.token.kind != TokenKind::kIdentifier) return SyntaxError(first);
  const std::string& word = first.token.text;
  if (word == "create") return ParseCreate(out);
  if (word == "drop") return ParseDrop(out);
  if (word == "alter") return ParseAlter(out);
  if (word == "insert") return ParseInsert(out);
  if (word == "select") return ParseSelect(out);
  if (word == "update") return ParseUpdate(out);
  if (word == "delete") return ParseDelete(out);
  if (word == "explain") return ParseExplain(out);
  if (word == "set") return ParseSet(out);
  if (word == "show") return ParseShow(out);
  if (word == "begin") {
    Advance();
    if (!AcceptWord("transaction")) AcceptWord("work");
    return ParseBeginTail(out);
  }
  if (word == "start") {
    Advance();
    return ExpectWord("transaction") && ParseBeginTail(out);
  }
  if (word == "commit" || word == "end" || word == "rollback" || word == "abort") {
    Advance();
    if (!AcceptWord("transaction")) AcceptWord("work");
    if (word == "commit" || word == "end") {
      *out = Commit{};
    } else {
      *out = Rollback{};
    }
    return true;
  }
  return SyntaxError(first);
}

bool Parser::ParseName(std::string* name) {
  const PositionedToken& t = Peek();
  if (t.token.kind == TokenKind::kQuotedIdentifier ||
      (t.token.kind == TokenKind::kIdentifier && !IsReserved(t.token.text))) {
    *name = Advance().token.text;
    return true;
  }
  return SyntaxError(t);
}

bool Parser::ParseNameList(std::vector<std::string>* names) {
  if (!ExpectOp("(")) return false;
  do {
    names->emplace_back();
    if (!ParseName(&names->back())) return false;
  } while (AcceptOp(","));
  return ExpectOp(")");
}

bool Parser::ParseWhere(ExprPtr* where) {
  if (!AcceptWord("where")) return true;
  *where = ParseExpr(0);
  return *where != nullptr;
}

// --- Data definition --------------------------------------------------------

bool Parser::ParseCreate(StatementNode* out) {
  Advance();  // CREATE
  if (IsWord(Peek(), "table")) return ParseCreateTable(out);
  CreateIndex index;
  index.unique = AcceptWord("unique");
  if (!ExpectWord("index") || !ParseName(&index.index) || !ExpectWord("on") ||
      !ParseName(&index.table) || !ParseNameList(&index.columns)) {
    return false;
  }
  *out = std::move(index);
  return true;
}

bool Parser::ParseCreateTable(StatementNode* out) {
  Advance();  // TABLE
  CreateTable create;
  if (!ParseName(&create.table) || !ExpectOp("(")) return false;
  if (!AcceptOp(")")) {
    bool has_primary_key = false;
    do {
      const PositionedToken& element = Peek();
      if (IsWord(element, "primary")) {
        Advance();
        std::vector<std::string> key;
        if (!ExpectWord("key") || !ParseNameList(&key)) return false;
        if (has_primary_key) {
          return Fail("42P16",
                      "multiple primary keys for table \"" + create.table + "\" are not allowed",
                      element.pos);
        }
        has_primary_key = true;
        create.primary_key = std::move(key);
        continue;
      }
      ColumnDef column;
      SourcePos primary_key_pos;
      if (!ParseColumnDef(&column, &primary_key_pos)) return false;
      if (column.primary_key) {
        if (has_primary_key) {
          return Fail("42P16",
                      "multiple primary keys for table \"" + create.table + "\" are not allowed",
                      primary_key_pos);
        }
        has_primary_key = true;
        create.primary_key = {column.name};
      }
      create.columns.push_back(std::move(column));
    } while (AcceptOp(","));
    if (!ExpectOp(")")) return false;
  }
  *out = std::move(create);
  return true;
}

bool Parser::ParseColumnDef(ColumnDef* column, SourcePos* primary_key_pos) {
  column->pos = Peek().pos;
  if (!ParseName(&column->name) || !ParseType(column)) return false;
  for (;;) {
    const PositionedToken& t = Peek();
    if (IsWord(t, "primary")) {
      Advance();
      if (!ExpectWord("key")) return false;
      if (column->primary_key) {
        return Fail("42P16", "multiple primary keys are not allowed", t.pos);
      }
      column->primary_key = true;
      *primary_key_pos = t.pos;
    } else if (IsWord(t, "not")) {
      Advance();
      if (!ExpectWord("null")) return false;
      column->not_null = true;
    } else if (IsWord(t, "null")) {
      Advance();  // PostgreSQL accepts an explicit NULL: the default
    } else if (IsWord(t, "unique")) {
      Advance();
      column->unique = true;
    } else {
      return true;
    }
  }
}

bool Parser::ParseType(ColumnDef* column) {
  const PositionedToken& t = Peek();
  if (t.token.kind != TokenKind::kIdentifier && t.token.kind != TokenKind::kQuotedIdentifier) {
    return SyntaxError(t);
  }
  const std::string& name = t.token.text;
  bool has_length = false;
  if (t.token.kind == TokenKind::kIdentifier) {
    if (name == "int" || name == "integer" || name == "bigint") {
      column->type = TypeId::kInt;
    } else if (name == "text") {
      column->type = TypeId::kText;
    } else if (name == "varchar") {
      column->type = TypeId::kText;
      has_length = true;
    } else if (name == "character" && IsWord(Peek(1), "varying")) {
      Advance();
      column->type = TypeId::kText;
      has_length = true;
    } else if (name == "boolean" || name == "bool") {
      column->type = TypeId::kBool;
    } else if (name == "double" && IsWord(Peek(1), "precision")) {
      Advance();
      column->type = TypeId::kFloat;
    } else if (name == "float" || name == "float8" || name == "real") {
      column->type = TypeId::kFloat;
    } else if (IsReserved(name)) {
      return SyntaxError(t);
    } else {
      return Fail("42704", "type \"" + name + "\" does not exist", t.pos);
    }
  } else {
    return Fail("42704", "type \"" + name + "\" does not exist", t.pos);
  }
  Advance();
  if (has_length && AcceptOp("(")) {
    const PositionedToken& length = Peek();
    if (length.token.kind != TokenKind::kInteger) return SyntaxError(length);
    int64_t n = 0;
    const std::string& digits = length.token.text;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || n > kMaxVarcharLength) {
      return Fail("54000", "length for type varchar cannot exceed 10485760", length.pos);
    }
    if (n < 1) return Fail("22023", "length for type varchar must be at least 1", length.pos);
    Advance();
    column->max_length = static_cast<int32_t>(n);
    if (!ExpectOp(")")) return false;
  }
  return true;
}

bool Parser::ParseDrop(StatementNode* out) {
  Advance();  // DROP
  const bool is_table = IsWord(Peek(), "table");
  if (!is_table && !IsWord(Peek(), "index")) return SyntaxError(Peek());
  Advance();
  bool if_exists = false;
  if (AcceptWord("if")) {
    if (!ExpectWord("exists")) return false;
    if_exists = true;
  }
  std::string name;
  if (!ParseName(&name)) return false;
  if (is_table) {
    *out = DropTable{std::move(name), if_exists};
  } else {
    *out = DropIndex{std::move(name), if_exists};
  }
  return true;
}

bool Parser::ParseAlter(StatementNode* out) {
  Advance();  // ALTER
  AddColumn add;
  if (!ExpectWord("table") || !ParseName(&add.table) || !ExpectWord("add")) return false;
  AcceptWord("column");
  SourcePos unused;
  if (!ParseColumnDef(&add.column, &unused)) return false;
  *out = std::move(add);
  return true;
}

// --- Data manipulation ------------------------------------------------------

bool Parser::ParseInsert(StatementNode* out) {
  Advance();  // INSERT
  Insert insert;
  if (!ExpectWord("into") || !ParseName(&insert.table)) return false;
  if (IsOp(Peek(), "(") && !ParseNameList(&insert.columns)) return false;
  if (!ExpectWord("values")) return false;
  do {
    const PositionedToken& row_start = Peek();
    if (!ExpectOp("(")) return false;
    std::vector<ExprPtr> row;
    do {
      const PositionedToken& value_start = Peek();
      ExprPtr value = ParseExpr(0);
      if (value == nullptr) return false;
      if (!insert.columns.empty() && row.size() == insert.columns.size()) {
        return Fail("42601", "INSERT has more expressions than target columns", value_start.pos);
      }
      row.push_back(std::move(value));
    } while (AcceptOp(","));
    if (!ExpectOp(")")) return false;
    if (!insert.rows.empty() && row.size() != insert.rows.front().size()) {
      return Fail("42601", "VALUES lists must all be the same length", row_start.pos);
    }
    if (!insert.columns.empty() && row.size() < insert.columns.size()) {
      return Fail("42601", "INSERT has more target columns than expressions", row_start.pos);
    }
    insert.rows.push_back(std::move(row));
  } while (AcceptOp(","));
  *out = std::move(insert);
  return true;
}

bool Parser::ParseSelect(StatementNode* out) {
  Select select;
  if (!ParseQuery(&select)) return false;
  *out = std::move(select);
  return true;
}

bool Parser::ParseQuery(Select* select) {
  return ParseSetOperations(0, select) && ParseQueryTail(select);
}

bool Parser::ParseSetOperations(int min_prec, Select* select) {
  struct DepthGuard {
    int& depth;
    ~DepthGuard() { --depth; }
  } guard{++query_depth_};
  const auto too_deep = [this] {
    Fail("54001",
         "stack depth limit exceeded: query nested more than " + std::to_string(kMaxQueryDepth) +
             " levels deep",
         Peek().pos);
    return false;
  };
  if (query_depth_ > kMaxQueryDepth) return too_deep();
  Select left;
  if (AcceptOp("(")) {
    if (!ParseQuery(&left) || !ExpectOp(")")) return false;
  } else if (IsWord(Peek(), "select")) {
    if (!ParseSelectCore(&left)) return false;
  } else {
    return SyntaxError(Peek());
  }
  for (;;) {
    const PositionedToken& t = Peek();
    SetOp op = SetOp::kNone;
    int prec = 0;
    if (IsWord(t, "union")) {
      op = SetOp::kUnion;
      prec = 1;
    } else if (IsWord(t, "except")) {
      op = SetOp::kExcept;
      prec = 1;
    } else if (IsWord(t, "intersect")) {
      op = SetOp::kIntersect;
      prec = 2;
    }
    if (op == SetOp::kNone || prec < min_prec) break;
    Advance();
    Select combined;
    combined.set_op = op;
    combined.set_all = AcceptWord("all");
    if (!combined.set_all) AcceptWord("distinct");
    combined.left = std::make_unique<Select>(std::move(left));
    combined.right = std::make_unique<Select>();
    if (!ParseSetOperations(prec + 1, combined.right.get())) return false;
    combined.height = std::max(combined.left->height, combined.right->height) + 1;
    if (combined.height > kMaxQueryDepth) return too_deep();
    left = std::move(combined);
  }
  *select = std::move(left);
  return true;
}

bool Parser::ParseSelectCore(Select* out) {
  Advance();  // SELECT
  Select& select = *out;
  if (AcceptWord("distinct")) {
    if (AcceptWord("on")) {
      if (!ExpectOp("(") || !ParseExprList(&select.distinct_on) || !ExpectOp(")")) return false;
    } else {
      select.distinct = true;
    }
  } else {
    AcceptWord("all");  // the default: keep duplicates
  }
  do {
    select.items.emplace_back();
    if (!ParseSelectItem(&select.items.back())) return false;
  } while (AcceptOp(","));
  if (AcceptWord("from")) {
    if (!ParseName(&select.table)) return false;
    if (AcceptWord("as")) {
      if (!ParseName(&select.table_alias)) return false;
    } else if (Peek().token.kind == TokenKind::kQuotedIdentifier ||
               (Peek().token.kind == TokenKind::kIdentifier && !IsReserved(Peek().token.text))) {
      select.table_alias = Advance().token.text;
    }
  }
  if (!ParseWhere(&select.where)) return false;
  if (AcceptWord("group")) {
    if (!ExpectWord("by") || !ParseExprList(&select.group_by)) return false;
  }
  if (AcceptWord("having")) {
    select.having = ParseExpr(0);
    if (select.having == nullptr) return false;
  }
  return true;
}

bool Parser::ParseQueryTail(Select* out) {
  Select& select = *out;
  if (IsWord(Peek(), "order")) {
    const PositionedToken& order = Advance();
    if (!select.order_by.empty()) {  // (SELECT ... ORDER BY a) ORDER BY b
      return Fail("42601", "multiple ORDER BY clauses not allowed", order.pos);
    }
    if (select.limit.has_value() || select.offset.has_value()) {
      // (SELECT ... LIMIT n) ORDER BY b sorts the n rows; a Select node
      // sorts before it limits.
      return Fail("0A000", "ORDER BY after a parenthesized LIMIT or OFFSET is not supported",
                  order.pos);
    }
    if (!ExpectWord("by")) return false;
    do {
      select.order_by.emplace_back();
      if (!ParseOrderItem(&select.order_by.back())) return false;
    } while (AcceptOp(","));
  }
  // PostgreSQL takes LIMIT and OFFSET in either order, each at most once.
  bool seen_limit = false;
  bool seen_offset = false;
  for (;;) {
    const PositionedToken& t = Peek();
    if (!seen_limit && AcceptWord("limit")) {
      seen_limit = true;
      if (select.limit.has_value()) {
        return Fail("42601", "multiple LIMIT clauses not allowed", t.pos);
      }
      if (AcceptWord("all")) continue;
      if (!ParseLimitValue("LIMIT", &select.limit)) return false;
    } else if (!seen_offset && AcceptWord("offset")) {
      seen_offset = true;
      if (select.offset.has_value()) {
        return Fail("42601", "multiple OFFSET clauses not allowed", t.pos);
      }
      if (!ParseLimitValue("OFFSET", &select.offset)) return false;
    } else {
      break;
    }
  }
  if (AcceptWord("for")) {
    if (!ExpectWord("update")) return false;
    select.for_update = true;
  }
  return true;
}

bool Parser::ParseSelectItem(SelectItem* item) {
  if (AcceptOp("*")) return true;
  const PositionedToken& first = Peek();
  const bool name = first.token.kind == TokenKind::kQuotedIdentifier ||
                    (first.token.kind == TokenKind::kIdentifier && !IsReserved(first.token.text));
  if (name && IsOp(Peek(1), ".") && IsOp(Peek(2), "*")) {  // t.*
    item->star_table = first.token.text;
    Advance();
    Advance();
    Advance();
    return true;
  }
  item->expr = ParseExpr(0);
  if (item->expr == nullptr) return false;
  const PositionedToken& t = Peek();
  if (AcceptWord("as")) {
    // After AS any word is a name, even a reserved one (PostgreSQL's ColLabel).
    const PositionedToken& alias = Peek();
    if (alias.token.kind != TokenKind::kIdentifier &&
        alias.token.kind != TokenKind::kQuotedIdentifier) {
      return SyntaxError(alias);
    }
    item->output_name = Advance().token.text;
    return true;
  }
  if (t.token.kind == TokenKind::kQuotedIdentifier ||
      (t.token.kind == TokenKind::kIdentifier && !IsReserved(t.token.text))) {
    item->output_name = Advance().token.text;  // a bare alias: SELECT a b
    return true;
  }
  item->output_name = "?column?";
  FigureColumnName(*item->expr, &item->output_name);
  return true;
}

// PostgreSQL's FigureColnameInternal: the name a result column gets from
// its expression, and how strong that name is (2 a column's or function's
// name, 1 a type's, 0 none: *name is left alone).
int FigureColumnName(const Expr& e, std::string* name) {
  static constexpr std::array<std::string_view, 5> kAggregateNames = {"count", "sum", "min", "max",
                                                                      "avg"};
  switch (e.kind) {
    case ExprKind::kColumn:
      *name = e.column;
      return 2;
    case ExprKind::kAggregate:
      *name = std::string(kAggregateNames[static_cast<size_t>(e.aggregate)]);
      return 2;
    case ExprKind::kFunction:
      *name = std::string(ScalarFuncName(e.function));
      return 2;
    case ExprKind::kLiteral:
      if (e.literal.type() != TypeId::kBool) return 0;
      *name = "bool";  // PostgreSQL reads TRUE as 'true'::boolean
      return 1;
    case ExprKind::kCast: {
      const int strength = FigureColumnName(*e.operands[0], name);
      if (strength > 1) return strength;
      *name = e.cast_type_name;
      return 1;
    }
    case ExprKind::kCase: {
      const int strength = e.case_else ? FigureColumnName(*e.operands.back(), name) : 0;
      if (strength > 1) return strength;
      *name = "case";
      return 1;
    }
    default:
      return 0;
  }
}

bool Parser::ParseOrderItem(OrderItem* item) {
  item->expr = ParseExpr(0);
  if (item->expr == nullptr) return false;
  if (AcceptWord("desc")) {
    item->descending = true;
  } else {
    AcceptWord("asc");
  }
  if (AcceptWord("nulls")) {
    if (AcceptWord("first")) {
      item->nulls_first = true;
    } else if (AcceptWord("last")) {
      item->nulls_first = false;
    } else {
      return SyntaxError(Peek());
    }
  }
  return true;
}

bool Parser::ParseLimitValue(std::string_view clause, std::optional<int64_t>* value) {
  if (AcceptWord("null")) return true;  // as PostgreSQL: no limit, no offset
  const PositionedToken& start = Peek();
  const bool negative = AcceptOp("-");
  const PositionedToken& number = Peek();
  if (number.token.kind != TokenKind::kInteger) return SyntaxError(number);
  ExprPtr literal = ParseNumber(number, negative, start.pos);
  if (literal == nullptr) return false;
  Advance();
  if (literal->literal.int_value() < 0) {
    return Fail("2201W", std::string(clause) + " must not be negative", start.pos);
  }
  *value = literal->literal.int_value();
  return true;
}

bool Parser::ParseUpdate(StatementNode* out) {
  Advance();  // UPDATE
  Update update;
  if (!ParseName(&update.table) || !ExpectWord("set")) return false;
  do {
    Assignment assignment;
    assignment.pos = Peek().pos;
    if (!ParseName(&assignment.column) || !ExpectOp("=")) return false;
    assignment.value = ParseExpr(0);
    if (assignment.value == nullptr) return false;
    update.assignments.push_back(std::move(assignment));
  } while (AcceptOp(","));
  if (!ParseWhere(&update.where)) return false;
  *out = std::move(update);
  return true;
}

bool Parser::ParseDelete(StatementNode* out) {
  Advance();  // DELETE
  Delete del;
  if (!ExpectWord("from") || !ParseName(&del.table) || !ParseWhere(&del.where)) return false;
  *out = std::move(del);
  return true;
}

bool Parser::ParseExplain(StatementNode* out) {
  Advance();  // EXPLAIN
  const PositionedToken& t = Peek();
  if (!IsWord(t, "select") && !IsWord(t, "insert") && !IsWord(t, "update") &&
      !IsWord(t, "delete")) {
    return SyntaxError(t);
  }
  auto statement = std::make_unique<Statement>();
  statement->pos = t.pos;
  if (!ParseStatement(&statement->node)) return false;
  const Token& last = tokens_[next_ - 1].token;
  statement->text =
      std::string(text_.substr(t.token.offset, last.offset + last.length - t.token.offset));
  *out = Explain{std::move(statement)};
  return true;
}

// --- Transactions and settings ----------------------------------------------

bool Parser::ParseIsolationLevel(IsolationLevel* level) {
  if (!ExpectWord("isolation") || !ExpectWord("level")) return false;
  if (AcceptWord("serializable")) {
    *level = IsolationLevel::kSerializable;
  } else if (AcceptWord("repeatable")) {
    if (!ExpectWord("read")) return false;
    *level = IsolationLevel::kRepeatableRead;
  } else if (AcceptWord("read")) {
    if (AcceptWord("committed")) {
      *level = IsolationLevel::kReadCommitted;
    } else if (AcceptWord("uncommitted")) {
      *level = IsolationLevel::kReadUncommitted;
    } else {
      return SyntaxError(Peek());
    }
  } else {
    return SyntaxError(Peek());
  }
  return true;
}

bool Parser::ParseBeginTail(StatementNode* out) {
  Begin begin;
  if (IsWord(Peek(), "isolation")) {
    IsolationLevel level;
    if (!ParseIsolationLevel(&level)) return false;
    begin.isolation = level;
  }
  *out = begin;
  return true;
}

bool Parser::ParseSet(StatementNode* out) {
  Advance();  // SET
  SetIsolation set;
  if (AcceptWord("session")) {
    if (!ExpectWord("characteristics") || !ExpectWord("as")) return false;
    set.session_default = true;
  }
  if (!ExpectWord("transaction") || !ParseIsolationLevel(&set.level)) return false;
  *out = set;
  return true;
}

bool Parser::ParseShow(StatementNode* out) {
  Advance();  // SHOW
  const PositionedToken& t = Peek();
  if (IsWord(t, "transaction")) {
    Advance();
    if (!ExpectWord("isolation") || !ExpectWord("level")) return false;
    *out = Show{"transaction_isolation"};
    return true;
  }
  if (t.token.kind != TokenKind::kIdentifier && t.token.kind != TokenKind::kQuotedIdentifier) {
    return SyntaxError(t);
  }
  *out = Show{Advance().token.text};
  return true;
}

}  // namespace parser_internal

Result<std::vector<Statement>> ParseScript(std::string_view text, ParseError* error) {
  if (text.size() > kMaxTextBytes) {
    if (error != nullptr) *error = ParseError{"54000", "SQL text longer than 1 GiB", 1, 1, 0};
    return Status::InvalidArgument("SQL text longer than 1 GiB");
  }
  Parser parser(text);
  std::vector<Statement> statements;
  if (parser.ParseScript(&statements)) return statements;
  const ParseError& e = parser.error();
  if (error != nullptr) *error = e;
  return Status::InvalidArgument(e.message + " (line " + std::to_string(e.line) + ", column " +
                                 std::to_string(e.column) + ")");
}

}  // namespace mvdb::sql
