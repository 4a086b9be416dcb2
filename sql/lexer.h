// The SQL lexer: text to tokens, PostgreSQL's lexical rules for the subset
// mvdb speaks (docs/sql.md).
//
// - Unquoted identifiers and keywords: letters, digits, '_' and '$' (not
//   first), bytes >= 0x80 (so UTF-8 names pass through); folded to lower
//   case (ASCII only, as PostgreSQL does). Keywords are identifiers here;
//   the parser decides which words are keywords where.
// - "Quoted identifiers" keep their case; "" inside is one ".
// - 'strings' with '' for a quote; numbers: 12, 1.5, .5, 1., 1e10, 2.5E-3.
// - Comments: -- to the end of the line, and /* */, which nest as in
//   PostgreSQL.
// - Operators: + - * / % = <> != < <= > >= ( ) , ; . :: — any other character
//   is a kUnknown token, which the parser reports as a syntax error there.
//
// The only lexical errors are unterminated strings, quoted identifiers and
// comments: the input ends inside one (so the shell reads more lines). Text
// that is not valid UTF-8, holds a NUL byte or is too long is refused by
// CheckStatementText (below), which Session::ExecuteText runs before it
// parses; the lexer itself accepts any bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mvdb::sql {

enum class TokenKind : uint8_t {
  kEnd,               // end of input
  kIdentifier,        // unquoted word, folded to lower case in `text`
  kQuotedIdentifier,  // "word", unescaped in `text` (may be empty: an error)
  kInteger,           // digits only; `text` holds them
  kFloat,             // a number with '.' or an exponent; `text` holds it
  kString,            // 'text', unescaped in `text`
  kOperator,          // `text`: one of + - * / % = <> < <= > >= ( ) , ; . :: (!= reads as <>)
  kUnknown,           // a character that starts no token
  kUnterminated,      // input ended inside a string, quoted identifier or comment
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  size_t offset = 0;  // of the token's first byte in the input
  size_t length = 0;  // bytes of input the token spans
};

// Reads tokens one at a time. The input must outlive the lexer.
class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  // The next token, skipping white space and comments. After kEnd or
  // kUnterminated, returns kEnd again.
  Token Next();

  size_t position() const { return pos_; }

 private:
  // Skips spaces and comments; false when a /* comment does not end (then
  // *comment_start is where it began).
  bool SkipSpaceAndComments(size_t* comment_start);
  Token Word(size_t start);
  Token QuotedIdentifier(size_t start);
  Token String(size_t start);
  Token Number(size_t start);
  Token Operator(size_t start);
  Token Make(TokenKind kind, size_t start, std::string text);

  std::string_view input_;
  size_t pos_ = 0;
  bool done_ = false;
};

// For a shell reading a line at a time: true when `buffer` holds a complete
// statement, a ';' outside quotes, comments and parentheses (as psql
// splits), and then *end is the offset just past that ';'. False when more
// input is needed (no such ';' yet, or it ends inside a string or comment).
// Text before *end may hold nothing but spaces and comments (an empty
// statement).
bool SplitStatement(std::string_view buffer, size_t* end);

// SplitStatement for text that arrives a piece at a time: it remembers how
// far it has scanned and in what state (inside a string, a quoted
// identifier, a comment, parentheses), so each byte is read once however
// many lines a statement spans. The rules are the lexer's.
//
//   StatementSplitter splitter;
//   buffer += line;                        // the statement so far, and more
//   while (splitter.FindEnd(buffer, &end)) {
//     run buffer[0, end); buffer.erase(0, end); splitter.Reset();
//   }
class StatementSplitter {
 public:
  // Scans `text` from where the last call stopped. REQUIRES: `text` starts
  // with the text of the previous calls since Reset (more may follow it).
  bool FindEnd(std::string_view text, size_t* end);
  // For the text of the next statement.
  void Reset() { *this = StatementSplitter(); }

 private:
  enum class State : uint8_t {
    kCode,
    kString,
    kQuotedIdentifier,
    kLineComment,
    kBlockComment,
  };
  size_t pos_ = 0;
  State state_ = State::kCode;
  int paren_depth_ = 0;
  int comment_depth_ = 0;
};

// --- What text the SQL layer accepts -------------------------------------------

// The longest statement, in bytes: 64 MiB. (PostgreSQL refuses a query past
// 1 GB; mvdb keeps a statement's text, its tokens and its tree in memory at
// once, and the shell a line of input.) Longer text is error 54000.
inline constexpr size_t kMaxStatementBytes = size_t{64} << 20;

// The offset of the first byte of `text` that does not begin a valid UTF-8
// character (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), or of its first NUL byte; npos when there is none. PostgreSQL's
// UTF8 server encoding refuses exactly these (pg_utf8_verifystr).
size_t FindInvalidUtf8(std::string_view text);

// PostgreSQL's message for the invalid byte at `offset` (22021):
//   invalid byte sequence for encoding "UTF8": 0xc3 0x28
// naming the bytes the character would take, as report_invalid_encoding
// does (at most the bytes that are left, at most 8).
std::string InvalidUtf8Message(std::string_view text, size_t offset);

// An error in the text of statements, found before it is parsed.
struct TextError {
  std::string sqlstate;  // 22021 or 54000
  std::string message;
};

// What every path from text into the SQL layer checks first
// (Session::ExecuteText): the text is at most kMaxStatementBytes long
// (54000) and valid UTF-8 without NUL bytes (22021), so nothing stored or
// printed later differs from what the user wrote.
std::optional<TextError> CheckStatementText(std::string_view text);

// 1-based line and column (in UTF-8 characters) of byte `offset` of `text`.
void LineAndColumn(std::string_view text, size_t offset, uint32_t* line, uint32_t* column);

}  // namespace mvdb::sql
