// pg-isolation's spec format (shell/isolation_runner.h): the tokenizer and
// parser, the permutations to run, statement splitting and level names,
// each following the Python tool line by line, down to its idea of
// whitespace. The runner itself is isolation_runner.cc.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shell/isolation_runner.h"

namespace mvdb::shell {
namespace {

// --- Python's idea of whitespace (str.isspace, and \s in re) ---------------

bool IsPythonSpace(uint32_t code_point) {
  return (code_point >= 0x09 && code_point <= 0x0d) || (code_point >= 0x1c && code_point <= 0x20) ||
         code_point == 0x85 || code_point == 0xa0 || code_point == 0x1680 ||
         (code_point >= 0x2000 && code_point <= 0x200a) || code_point == 0x2028 ||
         code_point == 0x2029 || code_point == 0x202f || code_point == 0x205f ||
         code_point == 0x3000;
}

// The code point starting at s[i] and its length in bytes; a malformed
// byte counts as itself (never whitespace above 0x7f).
std::pair<uint32_t, size_t> DecodeAt(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (i + length > s.size()) return {lead, 1};
  if (length == 1) return {lead, 1};
  uint32_t code_point = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(s[i + k]);
    if ((next & 0xc0) != 0x80) return {lead, 1};
    code_point = (code_point << 6) | (next & 0x3f);
  }
  return {code_point, length};
}

// Bytes of whitespace at s[i] (0 if none).
size_t SpaceLengthAt(std::string_view s, size_t i) {
  auto [code_point, length] = DecodeAt(s, i);
  return IsPythonSpace(code_point) ? length : 0;
}

// Bytes of whitespace ending at s[end - 1] (0 if none).
size_t SpaceLengthBefore(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) {
    --start;
  }
  auto [code_point, length] = DecodeAt(s, start);
  if (start + length != end) return SpaceLengthAt(s, end - 1);
  return IsPythonSpace(code_point) ? length : 0;
}

// str.strip().

// --- Spec text --------------------------------------------------------------

struct SpecToken {
  bool is_block = false;
  std::string text;  // the word, or the block's content stripped
};

// pg-isolation's tokenizer: #-comments, { ... } blocks (up to the first }),
// words of anything but whitespace and braces; other characters (a lone
// brace) are skipped, as re.finditer skips what matches nothing.
std::vector<SpecToken> TokenizeSpec(std::string_view text) {
  std::vector<SpecToken> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '#') {
      const size_t end = text.find('\n', i);
      i = end == std::string_view::npos ? text.size() : end;
      continue;
    }
    if (c == '{') {
      const size_t close = text.find('}', i + 1);
      if (close != std::string_view::npos) {
        tokens.push_back({true, std::string(PythonStrip(text.substr(i + 1, close - i - 1)))});
        i = close + 1;
        continue;
      }
      ++i;
      continue;
    }
    if (c == '}') {
      ++i;
      continue;
    }
    if (const size_t space = SpaceLengthAt(text, i); space > 0) {
      i += space;
      continue;
    }
    size_t end = i;
    while (end < text.size() && text[end] != '{' && text[end] != '}' &&
           SpaceLengthAt(text, end) == 0) {
      end += DecodeAt(text, end).second;
    }
    tokens.push_back({false, std::string(text.substr(i, end - i))});
    i = end;
  }
  return tokens;
}

bool IsSpecKeyword(std::string_view word) {
  return word == "setup" || word == "teardown" || word == "session" || word == "step" ||
         word == "permutation";
}

Status SpecError(std::string_view what) {
  return Status::InvalidArgument("spec: " + std::string(what));
}

// Every step a permutation names exists, and names are unique (pg-isolation
// keys sessions and steps by name, so a repeated one would silently replace
// the first).
Status CheckSpecNames(const IsolationSpec& spec) {
  std::set<std::string> sessions;
  std::set<std::string> steps;
  for (const IsolationSession& session : spec.sessions) {
    if (!sessions.insert(session.name).second) {
      return SpecError("session " + Quoted(session.name) + " is defined twice");
    }
    for (const IsolationStep& step : session.steps) {
      if (!steps.insert(step.name).second) {
        return SpecError("step " + Quoted(step.name) + " is defined twice");
      }
    }
  }
  for (const std::vector<std::string>& permutation : spec.permutations) {
    for (const std::string& name : permutation) {
      if (steps.count(name) == 0) {
        return SpecError("permutation names step " + Quoted(name) + ", which no session defines");
      }
    }
  }
  return Status::OK();
}

void Interleave(std::vector<std::vector<std::string>>& sequences, std::vector<size_t>& next,
                std::vector<std::string>& prefix, std::vector<std::vector<std::string>>& out) {
  bool any_left = false;
  for (size_t k = 0; k < sequences.size(); ++k) {
    if (next[k] == sequences[k].size()) continue;
    any_left = true;
    prefix.push_back(sequences[k][next[k]++]);
    Interleave(sequences, next, prefix, out);
    --next[k];
    prefix.pop_back();
  }
  if (!any_left) out.push_back(prefix);
}

}  // namespace

std::string_view PythonStrip(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end) {
    const size_t n = SpaceLengthAt(s, begin);
    if (n == 0) break;
    begin += n;
  }
  while (end > begin) {
    const size_t n = SpaceLengthBefore(s, end);
    if (n == 0) break;
    end -= n;
  }
  return s.substr(begin, end - begin);
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

Result<IsolationSpec> ParseIsolationSpec(std::string_view text) {
  const std::vector<SpecToken> tokens = TokenizeSpec(text);
  IsolationSpec spec;
  IsolationSession* session = nullptr;
  size_t i = 0;
  auto next_block = [&](std::string_view after) -> Result<std::string> {
    if (i == tokens.size())
      return SpecError("expected {...} after " + std::string(after) + " at end of spec");
    const SpecToken& token = tokens[i++];
    if (!token.is_block) return SpecError("expected {...} near " + Quoted(token.text));
    return token.text;
  };
  auto next_name = [&](std::string_view after) -> Result<std::string> {
    if (i == tokens.size() || tokens[i].is_block) {
      return SpecError("expected a name after " + std::string(after));
    }
    return tokens[i++].text;
  };
  while (i < tokens.size()) {
    const SpecToken& token = tokens[i++];
    const std::string& word = token.text;
    if (token.is_block) return SpecError("unexpected {" + word + "}");
    if (word == "setup" || word == "teardown") {
      MVDB_ASSIGN_OR_RETURN(std::string block, next_block(word));
      if (session != nullptr) {
        (word == "setup" ? session->setup : session->teardown).push_back(std::move(block));
      } else {
        (word == "setup" ? spec.setup : spec.teardown).push_back(std::move(block));
      }
    } else if (word == "session") {
      MVDB_ASSIGN_OR_RETURN(std::string name, next_name("session"));
      spec.sessions.push_back({std::move(name), {}, {}, {}});
      session = &spec.sessions.back();
    } else if (word == "step") {
      if (session == nullptr) return SpecError("step before any session");
      MVDB_ASSIGN_OR_RETURN(std::string name, next_name("step"));
      MVDB_ASSIGN_OR_RETURN(std::string block, next_block("step " + name));
      session->steps.push_back({std::move(name), std::move(block)});
    } else if (word == "permutation") {
      std::vector<std::string> permutation;
      while (i < tokens.size() && !tokens[i].is_block && !IsSpecKeyword(tokens[i].text)) {
        permutation.push_back(tokens[i++].text);
      }
      spec.permutations.push_back(std::move(permutation));
    } else {
      return SpecError("unexpected " + Quoted(word));
    }
  }
  MVDB_RETURN_IF_ERROR(CheckSpecNames(spec));
  return spec;
}

std::vector<std::vector<std::string>> PermutationsToRun(const IsolationSpec& spec) {
  if (!spec.permutations.empty()) return spec.permutations;
  std::vector<std::vector<std::string>> sequences;
  for (const IsolationSession& session : spec.sessions) {
    std::vector<std::string> names;
    for (const IsolationStep& step : session.steps) names.push_back(step.name);
    sequences.push_back(std::move(names));
  }
  std::vector<size_t> next(sequences.size(), 0);
  std::vector<std::string> prefix;
  std::vector<std::vector<std::string>> out;
  Interleave(sequences, next, prefix, out);
  return out;
}

std::vector<std::string> SplitSpecStatements(std::string_view sql) {
  std::vector<std::string> out;
  std::string buffer;
  bool quoted = false;
  auto flush = [&] {
    std::string_view stripped = PythonStrip(buffer);
    if (!stripped.empty()) out.emplace_back(stripped);
    buffer.clear();
  };
  for (char c : sql) {
    if (c == '\'') quoted = !quoted;
    if (c == ';' && !quoted) {
      flush();
    } else {
      buffer += c;
    }
  }
  flush();
  return out;
}

std::optional<IsolationLevel> ParseIsolationLevelName(std::string_view name) {
  std::string normalized;
  for (char c : PythonStrip(name)) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool separator = lower == ' ' || lower == '_' || lower == '-' || lower == '\t';
    if (separator) {
      if (!normalized.empty() && normalized.back() != ' ') normalized += ' ';
    } else {
      normalized += lower;
    }
  }
  if (normalized == "read committed" || normalized == "rc" || normalized == "read uncommitted") {
    return IsolationLevel::kReadCommitted;
  }
  if (normalized == "repeatable read" || normalized == "rr" || normalized == "snapshot") {
    return IsolationLevel::kSnapshot;
  }
  return std::nullopt;
}

}  // namespace mvdb::shell
