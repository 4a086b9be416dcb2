// The SQL lexer (see lexer.h for the rules it follows).
#include "sql/lexer.h"

#include <algorithm>
#include <cstdio>
#include <string>
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
    case ':':
      if (next == ':') {  // a cast, x::type
        ++pos_;
        return Make(TokenKind::kOperator, start, "::");
      }
      break;
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
  StatementSplitter splitter;
  return splitter.FindEnd(buffer, end);
}

// The lexer's rules, byte by byte: outside strings and comments, "--" and
// "/*" always start a comment (the lexer skips comments before every token,
// and no token holds '-' or '/'), ' and " always open a string or a quoted
// identifier, and '' inside a string is its end and a new start, which
// splits the same. A '-' or '/' at the end of the text, or the last byte of
// a block comment, may pair with the byte after it: the scan waits there.
bool StatementSplitter::FindEnd(std::string_view text, size_t* end) {
  const size_t n = text.size();
  while (pos_ < n) {
    const char c = text[pos_];
    const bool has_next = pos_ + 1 < n;
    const char next = has_next ? text[pos_ + 1] : '\0';
    switch (state_) {
      case State::kCode:
        if (c == '-' || c == '/') {
          if (!has_next) return false;
          if (c == '-' && next == '-') {
            state_ = State::kLineComment;
            pos_ += 2;
            continue;
          }
          if (c == '/' && next == '*') {
            state_ = State::kBlockComment;
            comment_depth_ = 1;
            pos_ += 2;
            continue;
          }
        } else if (c == '\'') {
          state_ = State::kString;
        } else if (c == '"') {
          state_ = State::kQuotedIdentifier;
        } else if (c == '(') {
          ++paren_depth_;
        } else if (c == ')') {
          if (paren_depth_ > 0) --paren_depth_;
        } else if (c == ';' && paren_depth_ == 0) {
          *end = ++pos_;
          return true;
        }
        ++pos_;
        break;
      case State::kString:
        if (c == '\'') state_ = State::kCode;
        ++pos_;
        break;
      case State::kQuotedIdentifier:
        if (c == '"') state_ = State::kCode;
        ++pos_;
        break;
      case State::kLineComment:
        if (c == '\n') state_ = State::kCode;
        ++pos_;
        break;
      case State::kBlockComment:
        if (!has_next) return false;
        if (c == '/' && next == '*') {
          ++comment_depth_;
          pos_ += 2;
        } else if (c == '*' && next == '/') {
          if (--comment_depth_ == 0) state_ = State::kCode;
          pos_ += 2;
        } else {
          ++pos_;
        }
        break;
    }
  }
  return false;
}

size_t FindInvalidUtf8(std::string_view text) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == 0) return i;
      ++i;
      continue;
    }
    // RFC 3629's table: the length from the first byte, and the range of
    // the second, which rules out overlong forms, surrogates (U+D800 to
    // U+DFFF) and anything past U+10FFFF.
    size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;  // a continuation byte, C0, C1 or F5 to FF
    }
    if (n - i < length) return i;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return i;
    for (size_t k = 2; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string InvalidUtf8Message(std::string_view text, size_t offset) {
  // report_invalid_encoding: as many bytes as pg_utf_mblen says the first
  // one announces (1 for a byte that begins no character), of those left.
  const auto first = static_cast<unsigned char>(text[offset]);
  size_t length = 1;
  if ((first & 0xE0) == 0xC0) {
    length = 2;
  } else if ((first & 0xF0) == 0xE0) {
    length = 3;
  } else if ((first & 0xF8) == 0xF0) {
    length = 4;
  }
  length = std::min(length, text.size() - offset);
  std::string message = "invalid byte sequence for encoding \"UTF8\":";
  for (size_t i = 0; i < length; ++i) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), " 0x%02x", static_cast<unsigned char>(text[offset + i]));
    message += hex;
  }
  return message;
}

std::optional<TextError> CheckStatementText(std::string_view text) {
  if (text.size() > kMaxStatementBytes) {
    return TextError{"54000", "statement is too long (" + std::to_string(text.size()) +
                                  " bytes, the maximum is " + std::to_string(kMaxStatementBytes) +
                                  ")"};
  }
  const size_t invalid = FindInvalidUtf8(text);
  if (invalid != std::string_view::npos) {
    return TextError{"22021", InvalidUtf8Message(text, invalid)};
  }
  return std::nullopt;
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
