// The order-preserving key encoding (sql/encoding_format.md, "Keys") and
// the SQL order of values it preserves.
#include "sql/key_codec.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace mvdb::sql {
namespace {

// Type tags, the first byte of every encoded value (before inversion for a
// descending column). NULL's tag is above every other, so NULL sorts last.
constexpr uint8_t kTagBool = 0x11;
constexpr uint8_t kTagInt = 0x12;
constexpr uint8_t kTagFloat = 0x13;
constexpr uint8_t kTagText = 0x14;
constexpr uint8_t kTagNull = 0xFE;

// Text: a 0x00 byte is escaped as 0x00 0xFF and the value ends with
// 0x00 0x01, so a prefix sorts before its extensions and the end of a text
// value is unambiguous inside a composite key.
constexpr uint8_t kTextEscape = 0x00;
constexpr uint8_t kTextEscapedZero = 0xFF;
constexpr uint8_t kTextTerminator = 0x01;

constexpr uint64_t kSignBit = uint64_t{1} << 63;
constexpr uint64_t kCanonicalNaNBits = 0x7FF8000000000000;

uint8_t TagOf(TypeId type) {
  switch (type) {
    case TypeId::kBool:
      return kTagBool;
    case TypeId::kInt:
      return kTagInt;
    case TypeId::kFloat:
      return kTagFloat;
    case TypeId::kText:
      return kTagText;
    case TypeId::kNull:
      break;
  }
  return kTagNull;
}

// Rank of a type in the fallback order of values that SQL cannot compare.
int TypeRank(TypeId type) {
  switch (type) {
    case TypeId::kBool:
      return 1;
    case TypeId::kInt:
    case TypeId::kFloat:
      return 2;
    case TypeId::kText:
      return 3;
    case TypeId::kNull:
      break;
  }
  return 4;
}

template <typename T>
int ThreeWay(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareFloats(double a, double b) {
  const bool a_nan = std::isnan(a);
  const bool b_nan = std::isnan(b);
  if (a_nan || b_nan) return static_cast<int>(a_nan) - static_cast<int>(b_nan);
  return ThreeWay(a, b);  // -0.0 == 0.0 here
}

// Exact comparison of an integer with a float: converting the integer to a
// double would round it (2^53 + 1 == 2^53 as doubles).
int CompareIntWithFloat(int64_t i, double d) {
  if (std::isnan(d)) return -1;
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (d >= kTwoTo63) return -1;
  if (d < -kTwoTo63) return 1;
  const double whole = std::trunc(d);  // in [-2^63, 2^63): exact as int64
  const int64_t whole_int = static_cast<int64_t>(whole);
  if (i != whole_int) return ThreeWay(i, whole_int);
  return ThreeWay(0.0, d - whole);  // d - whole is exact
}

void AppendBigEndian64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

// The float's bits mapped so that unsigned order is numeric order: -0
// becomes +0 and every NaN the one canonical NaN (above +infinity);
// non-negative numbers get the sign bit set, negative ones are inverted.
uint64_t OrderedFloatBits(double d) {
  if (d == 0) d = 0.0;
  uint64_t bits = std::isnan(d) ? kCanonicalNaNBits : std::bit_cast<uint64_t>(d);
  return (bits & kSignBit) != 0 ? ~bits : bits | kSignBit;
}

// The bytes of `*in`, read through a descending column's inversion.
class KeyReader {
 public:
  KeyReader(std::string_view in, bool descending) : in_(in), flip_(descending ? 0xFF : 0x00) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  // REQUIRES: remaining() > 0.
  uint8_t Next() { return static_cast<uint8_t>(in_[pos_++]) ^ flip_; }
  std::string_view rest() const { return in_.substr(pos_); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  uint8_t flip_;
};

Status KeyCorruption(const std::string& what, size_t offset) {
  return Status::Corruption("key: " + what + " at byte " + std::to_string(offset));
}

Result<uint64_t> ReadBigEndian64(KeyReader* reader, std::string_view what) {
  if (reader->remaining() < 8) {
    return KeyCorruption(
        std::string(what) + " needs 8 bytes, " + std::to_string(reader->remaining()) + " left",
        reader->offset());
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | reader->Next();
  return v;
}

Result<Value> DecodeFloat(KeyReader* reader) {
  const size_t start = reader->offset();
  MVDB_ASSIGN_OR_RETURN(const uint64_t ordered, ReadBigEndian64(reader, "a double precision"));
  const uint64_t bits = (ordered & kSignBit) != 0 ? ordered & ~kSignBit : ~ordered;
  const double d = std::bit_cast<double>(bits);
  // The encoder writes -0 as 0 and every NaN as the canonical one, so any
  // other such bytes were never written by it.
  if (d == 0 && bits != 0) return KeyCorruption("negative zero double precision", start);
  if (std::isnan(d) && bits != kCanonicalNaNBits) {
    return KeyCorruption("non-canonical NaN double precision", start);
  }
  return Value::Float(d);
}

Result<Value> DecodeText(KeyReader* reader) {
  std::string text;
  while (reader->remaining() > 0) {
    const size_t at = reader->offset();
    const uint8_t byte = reader->Next();
    if (byte != kTextEscape) {
      text.push_back(static_cast<char>(byte));
      continue;
    }
    if (reader->remaining() == 0) break;
    const uint8_t after = reader->Next();
    if (after == kTextTerminator) return Value::Text(std::move(text));
    if (after != kTextEscapedZero) {
      return KeyCorruption("text escape 0x00 followed by byte " + std::to_string(after), at);
    }
    text.push_back('\0');
  }
  return KeyCorruption("text without its terminator", reader->offset());
}

Result<Value> DecodeOne(KeyReader* reader, TypeId type) {
  if (reader->remaining() == 0) return KeyCorruption("missing value", reader->offset());
  const size_t tag_offset = reader->offset();
  const uint8_t tag = reader->Next();
  if (tag == kTagNull) return Value::Null();
  if (type == TypeId::kNull || tag != TagOf(type)) {
    return KeyCorruption("type tag " + std::to_string(tag) + " where " +
                             std::string(TypeName(type)) + " or NULL was expected",
                         tag_offset);
  }
  switch (type) {
    case TypeId::kBool: {
      if (reader->remaining() == 0) return KeyCorruption("missing boolean", reader->offset());
      const size_t at = reader->offset();
      const uint8_t b = reader->Next();
      if (b > 1) return KeyCorruption("boolean byte " + std::to_string(b), at);
      return Value::Bool(b == 1);
    }
    case TypeId::kInt: {
      MVDB_ASSIGN_OR_RETURN(const uint64_t v, ReadBigEndian64(reader, "a bigint"));
      return Value::Int(static_cast<int64_t>(v ^ kSignBit));
    }
    case TypeId::kFloat:
      return DecodeFloat(reader);
    case TypeId::kText:
      return DecodeText(reader);
    case TypeId::kNull:
      break;
  }
  return KeyCorruption("no type to decode", tag_offset);  // unreachable: checked above
}

}  // namespace

int CompareValues(const Value& a, const Value& b) {
  const TypeId ta = a.type();
  const TypeId tb = b.type();
  if (ta == tb) {
    switch (ta) {
      case TypeId::kNull:
        return 0;
      case TypeId::kBool:
        return ThreeWay(a.bool_value(), b.bool_value());
      case TypeId::kInt:
        return ThreeWay(a.int_value(), b.int_value());
      case TypeId::kFloat:
        return CompareFloats(a.float_value(), b.float_value());
      case TypeId::kText:
        // std::string compares as unsigned bytes (char_traits<char>::compare
        // is memcmp), which is the C collation.
        return ThreeWay(a.text_value().compare(b.text_value()), 0);
    }
  }
  if (ta == TypeId::kInt && tb == TypeId::kFloat) {
    return CompareIntWithFloat(a.int_value(), b.float_value());
  }
  if (ta == TypeId::kFloat && tb == TypeId::kInt) {
    return -CompareIntWithFloat(b.int_value(), a.float_value());
  }
  return ThreeWay(TypeRank(ta), TypeRank(tb));
}

void AppendKey(const Value& value, bool descending, std::string* out) {
  const size_t start = out->size();
  out->push_back(static_cast<char>(TagOf(value.type())));
  switch (value.type()) {
    case TypeId::kNull:
      break;
    case TypeId::kBool:
      out->push_back(value.bool_value() ? 1 : 0);
      break;
    case TypeId::kInt:
      AppendBigEndian64(static_cast<uint64_t>(value.int_value()) ^ kSignBit, out);
      break;
    case TypeId::kFloat:
      AppendBigEndian64(OrderedFloatBits(value.float_value()), out);
      break;
    case TypeId::kText:
      for (const char c : value.text_value()) {
        out->push_back(c);
        if (c == static_cast<char>(kTextEscape))
          out->push_back(static_cast<char>(kTextEscapedZero));
      }
      out->push_back(static_cast<char>(kTextEscape));
      out->push_back(static_cast<char>(kTextTerminator));
      break;
  }
  if (descending) {
    for (size_t i = start; i < out->size(); ++i) (*out)[i] = static_cast<char>(~(*out)[i]);
  }
}

Result<Value> DecodeKey(std::string_view* in, TypeId type, bool descending) {
  KeyReader reader(*in, descending);
  MVDB_ASSIGN_OR_RETURN(Value value, DecodeOne(&reader, type));
  *in = reader.rest();
  return value;
}

Status AppendCompositeKey(std::span<const Value> values, std::span<const KeyColumn> columns,
                          std::string* out) {
  if (values.size() != columns.size()) {
    return Status::InvalidArgument("key of " + std::to_string(values.size()) + " values for " +
                                   std::to_string(columns.size()) + " columns");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].is_null() && values[i].type() != columns[i].type) {
      return Status::InvalidArgument("key column " + std::to_string(i) + " is " +
                                     std::string(TypeName(columns[i].type)) + ", the value " +
                                     std::string(TypeName(values[i].type())));
    }
  }
  for (size_t i = 0; i < values.size(); ++i) AppendKey(values[i], columns[i].descending, out);
  return Status::OK();
}

Result<std::vector<Value>> DecodeCompositeKey(std::string_view* in,
                                              std::span<const KeyColumn> columns) {
  std::vector<Value> values;
  values.reserve(columns.size());
  std::string_view rest = *in;
  for (size_t i = 0; i < columns.size(); ++i) {
    const size_t column_offset = in->size() - rest.size();
    Result<Value> value = DecodeKey(&rest, columns[i].type, columns[i].descending);
    if (!value.ok()) {
      return value.status().WithContext("column " + std::to_string(i) + " starting at byte " +
                                        std::to_string(column_offset));
    }
    values.push_back(std::move(*value));
  }
  *in = rest;
  return values;
}

int CompareTuples(std::span<const Value> a, std::span<const Value> b,
                  std::span<const KeyColumn> columns) {
  for (size_t i = 0; i < columns.size(); ++i) {
    const int c = CompareValues(a[i], b[i]);
    if (c != 0) return columns[i].descending ? -c : c;
  }
  return 0;
}

}  // namespace mvdb::sql
