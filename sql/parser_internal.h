// The parser's internals, shared by its two files: parser.cc (statements)
// and expr_parser.cc (expressions and printing). Not for other users: the
// interface is parser.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/ast.h"
#include "sql/lexer.h"
#include "sql/parser.h"

namespace mvdb::sql::parser_internal {

// Words that cannot be a table, column or alias name unless quoted: the
// reserved key words of PostgreSQL, plus the operator words of expressions.
// One string, each word between spaces.
constexpr std::string_view kReservedWords =
    " all analyse analyze and any array as asc asymmetric between both case cast check collate "
    " column constraint create current_date current_role current_time current_timestamp "
    " current_user default deferrable desc distinct do else end except false fetch for foreign "
    " from grant group having ilike in initially intersect into is isnull join lateral leading "
    " like limit localtime localtimestamp not notnull null offset on only or order placing "
    " primary references returning select session_user similar some symmetric table then to "
    " trailing true union unique user using variadic when where window with ";

inline bool IsReserved(std::string_view word) {
  if (word.empty() || word.find(' ') != std::string_view::npos) return false;
  return kReservedWords.find(" " + std::string(word) + " ") != std::string_view::npos;
}

// Precedence levels, loosest first (PostgreSQL's, see parser.h).
enum Precedence : int {
  kPrecOr = 1,
  kPrecAnd = 2,
  kPrecNot = 3,
  kPrecIs = 4,
  kPrecComparison = 5,
  kPrecPattern = 6,  // BETWEEN, IN, LIKE
  kPrecAdditive = 7,
  kPrecMultiplicative = 8,
  kPrecUnaryMinus = 9,
  kPrecCast = 10,  // x::type
};

inline bool IsNonAssociative(int prec) {
  return prec == kPrecIs || prec == kPrecComparison || prec == kPrecPattern;
}

// The longest quoted excerpt of the source an error message carries.
constexpr size_t kMaxQuotedBytes = 100;
// Longer texts are refused, so every offset fits the 32 bits of SourcePos.
constexpr size_t kMaxTextBytes = size_t{1} << 30;
// PostgreSQL's limit for varchar(n).
constexpr int64_t kMaxVarcharLength = 10485760;

// The name PostgreSQL gives a result column computing `e` (see parser.cc);
// returns the name's strength, 0 when `e` gives none.
int FigureColumnName(const Expr& e, std::string* name);

struct PositionedToken {
  Token token;
  SourcePos pos;
};

class Parser {
 public:
  explicit Parser(std::string_view text);

  bool ParseScript(std::vector<Statement>* statements);
  const ParseError& error() const { return error_; }

 private:
  // Token access.
  const PositionedToken& Peek(size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
  }
  const PositionedToken& Advance() {
    const PositionedToken& token = Peek();
    if (next_ < tokens_.size() - 1) ++next_;
    return token;
  }
  static bool IsWord(const PositionedToken& t, std::string_view word) {
    return t.token.kind == TokenKind::kIdentifier && t.token.text == word;
  }
  static bool IsOp(const PositionedToken& t, std::string_view op) {
    return t.token.kind == TokenKind::kOperator && t.token.text == op;
  }
  bool AcceptWord(std::string_view word);
  bool AcceptOp(std::string_view op);
  bool ExpectWord(std::string_view word);
  bool ExpectOp(std::string_view op);

  // Errors: record the first, return false.
  bool Fail(std::string_view sqlstate, std::string message, const SourcePos& pos);
  bool SyntaxError(const PositionedToken& at);
  std::string Quote(size_t offset, size_t length) const;

  // Statements.
  bool ParseStatement(StatementNode* out);
  bool ParseCreate(StatementNode* out);
  bool ParseCreateTable(StatementNode* out);
  // *primary_key_pos: where a PRIMARY KEY constraint of the column is.
  bool ParseColumnDef(ColumnDef* column, SourcePos* primary_key_pos);
  bool ParseType(ColumnDef* column);
  bool ParseDrop(StatementNode* out);
  bool ParseAlter(StatementNode* out);
  bool ParseInsert(StatementNode* out);
  bool ParseSelect(StatementNode* out);
  // A query: set operations of SELECTs and parenthesized queries, then
  // ORDER BY, LIMIT, OFFSET, FOR UPDATE for the whole.
  bool ParseQuery(Select* select);
  // Set operations binding at least as tight as `min_prec` (UNION and
  // EXCEPT 1, INTERSECT 2, as in PostgreSQL; each associates left).
  bool ParseSetOperations(int min_prec, Select* select);
  bool ParseSelectCore(Select* select);  // SELECT ... [HAVING e]
  bool ParseQueryTail(Select* select);   // [ORDER BY] [LIMIT] [OFFSET] [FOR UPDATE]
  bool ParseSelectItem(SelectItem* item);
  bool ParseOrderItem(OrderItem* item);
  bool ParseLimitValue(std::string_view clause, std::optional<int64_t>* value);
  bool ParseUpdate(StatementNode* out);
  bool ParseDelete(StatementNode* out);
  bool ParseExplain(StatementNode* out);
  bool ParseBeginTail(StatementNode* out);
  bool ParseSet(StatementNode* out);
  bool ParseShow(StatementNode* out);
  bool ParseIsolationLevel(IsolationLevel* level);
  bool ParseName(std::string* name);
  bool ParseNameList(std::vector<std::string>* names);
  bool ParseWhere(ExprPtr* where);

  // Expressions.
  ExprPtr ParseExpr(int min_prec);
  // expr {, expr}, appended to *out; false (error recorded) on failure.
  bool ParseExprList(std::vector<ExprPtr>* out);
  ExprPtr ParsePrefix();
  ExprPtr ParseNumber(const PositionedToken& token, bool negative, const SourcePos& pos);
  ExprPtr ParseFunction();
  ExprPtr ParseCase();
  // CAST(x AS type) after the CAST, or what follows x:: (`operand` is x).
  ExprPtr ParseCastType(ExprPtr operand, const SourcePos& pos);
  ExprPtr ParseInfix(ExprPtr left, int prec);
  ExprPtr MakeNode(ExprKind kind, const SourcePos& pos, std::vector<ExprPtr> operands);

  std::string_view text_;
  std::vector<PositionedToken> tokens_;  // ends with kEnd or kUnterminated
  size_t next_ = 0;
  int depth_ = 0;
  int query_depth_ = 0;  // ParseSetOperations calls under way (kMaxQueryDepth)
  bool failed_ = false;
  ParseError error_;
};

}  // namespace mvdb::sql::parser_internal
