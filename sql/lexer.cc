// The SQL lexer (see lexer.h for the rules it follows).
#include "sql/lexer.h"

#include <utility>

namespace mvdb::sql {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsWordPart(char c) { return IsWordStart(c) || IsDigit(c) || c == '$'; }
char FoldAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

Token Lexer::Make(TokenKind kind, size_t start, std::string text) {
  Token token;
  token.kind = kind;
  token.text = std::move(text);
  token.offset = start;
  token.length = pos_ - start;
  return token;
}

bool Lexer::SkipSpaceAndComments(size_t* comment_start) {
  const size_t n = input_.size();
  while (pos_ < n) {
    char c = input_[pos_];
    if (IsSpace(c)) {
      ++pos_;
    } else if (c == '-' && pos_ + 1 < n && input_[pos_ + 1] == '-') {
      while (pos_ < n && input_[pos_] != '\n') ++pos_;
    } else if (c == '/' && pos_ + 1 < n && input_[pos_ + 1] == '*') {
      // PostgreSQL's block comments nest: /* a /* b */ c */ is one comment.
      *comment_start = pos_;
      pos_ += 2;
      int depth = 1;
      while (depth > 0) {
        if (pos_ + 1 >= n) {
          pos_ = n;
          return false;
        }
        if (input_[pos_] == '/' && input_[pos_ + 1] == '*') {
          ++depth;
          pos_ += 2;
        } else if (input_[pos_] == '*' && input_[pos_ + 1] == '/') {
          --depth;
          pos_ += 2;
        } else {
          ++pos_;
        }
      }
    } else {
      break;
    }
  }
  return true;
}

Token Lexer::Next() {
  if (done_) return Make(TokenKind::kEnd, input_.size(), "");
  size_t comment_start = 0;
  if (!SkipSpaceAndComments(&comment_start)) {
    done_ = true;
    Token token = Make(TokenKind::kUnterminated, comment_start, "unterminated /* comment");
    return token;
  }
  const size_t start = pos_;
  if (pos_ >= input_.size()) {
    done_ = true;
    return Make(TokenKind::kEnd, start, "");
  }
  char c = input_[pos_];
  if (IsWordStart(c)) return Word(start);
  if (c == '"') return QuotedIdentifier(start);
  if (c == '\'') return String(start);
  if (IsDigit(c) || (c == '.' && pos_ + 1 < input_.size() && IsDigit(input_[pos_ + 1]))) {
    return Number(start);
  }
  return Operator(start);
}

Token Lexer::Word(size_t start) {
  std::string text;
  while (pos_ < input_.size() && IsWordPart(input_[pos_]))
    text.push_back(FoldAscii(input_[pos_++]));
  return Make(TokenKind::kIdentifier, start, std::move(text));
}

Token Lexer::QuotedIdentifier(size_t start) {
  std::string text;
  ++pos_;
  while (pos_ < input_.size()) {
    if (input_[pos_] == '"') {
      if (pos_ + 1 < input_.size() && input_[pos_ + 1] == '"') {
        text.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;
      return Make(TokenKind::kQuotedIdentifier, start, std::move(text));
    }
    text.push_back(input_[pos_++]);
  }
  done_ = true;
  return Make(TokenKind::kUnterminated, start, "unterminated quoted identifier");
}

Token Lexer::String(size_t start) {
  std::string text;
  ++pos_;
  while (pos_ < input_.size()) {
    if (input_[pos_] == '\'') {
      if (pos_ + 1 < input_.size() && input_[pos_ + 1] == '\'') {
        text.push_back('\'');
        pos_ += 2;
        continue;
      }
      ++pos_;
      return Make(TokenKind::kString, start, std::move(text));
    }
    text.push_back(input_[pos_++]);
  }
  done_ = true;
  return Make(TokenKind::kUnterminated, start, "unterminated quoted string");
}

Token Lexer::Number(size_t start) {
  const size_t n = input_.size();
  bool is_float = false;
  while (pos_ < n && IsDigit(input_[pos_])) ++pos_;
  if (pos_ < n && input_[pos_] == '.') {
    is_float = true;
    ++pos_;
    while (pos_ < n && IsDigit(input_[pos_])) ++pos_;
  }
  // An exponent only when digits follow: "1e" is 1 and then the word e.
  if (pos_ < n && (input_[pos_] == 'e' || input_[pos_] == 'E')) {
    size_t digits = pos_ + 1;
    if (digits < n && (input_[digits] == '+' || input_[digits] == '-')) ++digits;
    if (digits < n && IsDigit(input_[digits])) {
      is_float = true;
      pos_ = digits;
      while (pos_ < n && IsDigit(input_[pos_])) ++pos_;
    }
  }
  return Make(is_float ? TokenKind::kFloat : TokenKind::kInteger, start,
              std::string(input_.substr(start, pos_ - start)));
}

Token Lexer::Operator(size_t start) {
  const char c = input_[pos_++];
  const char next = pos_ < input_.size() ? input_[pos_] : '\0';
  switch (c) {
    case '<':
      if (next == '=' || next == '>') {
        ++pos_;
        return Make(TokenKind::kOperator, start, next == '=' ? "<=" : "<>");
      }
      return Make(TokenKind::kOperator, start, "<");
    case '>':
      if (next == '=') {
        ++pos_;
        return Make(TokenKind::kOperator, start, ">=");
      }
      return Make(TokenKind::kOperator, start, ">");
    case '!':
      if (next == '=') {
        ++pos_;
        return Make(TokenKind::kOperator, start, "<>");
      }
      break;
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '=':
    case '(':
    case ')':
    case ',':
    case ';':
    case '.':
      return Make(TokenKind::kOperator, start, std::string(1, c));
    default:
      break;
  }
  // A whole UTF-8 character, so the error message quotes it intact.
  while (pos_ < input_.size() && (static_cast<unsigned char>(input_[pos_]) & 0xC0) == 0x80 &&
         (static_cast<unsigned char>(c) & 0x80) != 0) {
    ++pos_;
  }
  return Make(TokenKind::kUnknown, start, std::string(input_.substr(start, pos_ - start)));
}

bool SplitStatement(std::string_view buffer, size_t* end) {
  Lexer lexer(buffer);
  int paren_depth = 0;
  for (;;) {
    Token token = lexer.Next();
    switch (token.kind) {
      case TokenKind::kEnd:
      case TokenKind::kUnterminated:
        return false;
      case TokenKind::kOperator:
        if (token.text == "(") {
          ++paren_depth;
        } else if (token.text == ")") {
          if (paren_depth > 0) --paren_depth;
        } else if (token.text == ";" && paren_depth == 0) {
          *end = token.offset + 1;
          return true;
        }
        break;
      default:
        break;
    }
  }
}

void LineAndColumn(std::string_view text, size_t offset, uint32_t* line, uint32_t* column) {
  if (offset > text.size()) offset = text.size();
  uint32_t l = 1;
  uint32_t c = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++l;
      c = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++c;  // count characters, not the continuation bytes of UTF-8
    }
  }
  *line = l;
  *column = c;
}

}  // namespace mvdb::sql
