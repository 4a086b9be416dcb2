// The SQL parser: text to Statements (sql/ast.h) for the subset of
// docs/sql.md, in PostgreSQL's spelling.
//
// Operator precedence is PostgreSQL's, loosest first:
//   OR < AND < NOT < IS < comparisons (= <> != < <= > >=)
//      < BETWEEN, IN, LIKE < + - < * / % < unary minus and plus < ::
// and for queries: UNION, EXCEPT < INTERSECT.
// OR, AND, + - * / % associate to the left; comparisons, IS, BETWEEN, IN and
// LIKE do not associate (`a = b = c` is a syntax error, as in PostgreSQL).
//
// Errors. A failed parse returns a Status (InvalidArgument) whose message is
// PostgreSQL's followed by the place, e.g.
//   syntax error at or near "FROM" (line 2, column 8)
//   syntax error at end of input (line 1, column 15)
// and, when the caller passes a ParseError, fills it with the parts the
// shell needs to print `ERROR:  SQLSTATE message` and point at the place.
// The first error in the text wins; nothing is returned for the statements
// before it.
//
// Any input is safe: the parser does not crash and its recursion is bounded
// (expressions nested beyond kMaxExpressionDepth are error 54001).
//
// Threading: the functions are pure; call them from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/status.h"
#include "sql/ast.h"

namespace mvdb::sql {

struct ParseError {
  // PostgreSQL's SQLSTATE:
  //   42601 syntax error (also unterminated strings, comments, identifiers,
  //         and zero-length "" identifiers)
  //   22003 a numeric literal out of range (an integer beyond 64 bits, a
  //         float beyond double precision)
  //   54001 expression nested deeper than kMaxExpressionDepth
  //   42704 unknown type name;  42883 unknown function (the aggregates
  //         count sum min max avg and coalesce nullif abs exist)
  //   0A000 ORDER BY after a parenthesized LIMIT or OFFSET
  //   42P16 more than one primary key;  2201W negative LIMIT/OFFSET
  std::string sqlstate;
  std::string message;  // PostgreSQL's text, without the place
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in UTF-8 characters
  uint32_t offset = 0;  // byte offset in the text
};

// Parses a script of statements separated by ';' (empty statements are
// skipped; the last ';' is optional). On failure returns the error's Status
// and, if `error` is not null, fills *error.
Result<std::vector<Statement>> ParseScript(std::string_view text, ParseError* error = nullptr);

// The expression fully parenthesized, in SQL that parses back to the same
// tree: `a OR b AND c` gives "(a OR (b AND c))". For tests, EXPLAIN and
// messages.
std::string ExprToString(const Expr& expr);

// ExprToString without the qualifiers of columns: in a query over one
// table, `t.a + 1` and `a + 1` are the same expression, and the texts
// match. What GROUP BY, ORDER BY and DISTINCT compare expressions by.
std::string ExprToUnqualifiedString(const Expr& expr);

// "coalesce", "nullif", "abs".
std::string_view ScalarFuncName(ScalarFunc function);

// A value as the SQL literal that reads back as it: NULL, TRUE, 42, 1.5,
// 'NaN' (as a float column reads it), 'it''s'.
std::string LiteralToString(const Value& value);

}  // namespace mvdb::sql
