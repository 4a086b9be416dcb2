// The SQL value encodings (sql/key_codec.h, sql/row_codec.h): key bytes
// sort exactly as the SQL order of the values (randomized over single
// values of every type and over mixed composite tuples, ascending and
// descending), both encodings round-trip, old rows read NULL for added
// columns, and damaged bytes are Corruption, never a crash. The byte
// layouts of sql/encoding_format.md are pinned by its examples.
//
// Randomized tests take MVDB_SEED and print the seed they ran with.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sql/key_codec.h"
#include "sql/row_codec.h"
#include "sql/value.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::sql {
namespace {

using Limits = std::numeric_limits<double>;
constexpr int64_t kIntMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kIntMax = std::numeric_limits<int64_t>::max();
constexpr TypeId kColumnTypes[] = {TypeId::kBool, TypeId::kInt, TypeId::kFloat, TypeId::kText};

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::string Key(const Value& v, bool descending = false) {
  std::string out;
  AppendKey(v, descending, &out);
  return out;
}

int Sign(int v) { return (v > 0) - (v < 0); }

int MemcmpSign(const std::string& a, const std::string& b) { return Sign(a.compare(b)); }

// Identity of values, floats by their bits (NaN == NaN, -0 != 0): what a
// round trip must preserve. Value's == follows double's == instead.
bool Same(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  if (a.type() == TypeId::kFloat) {
    return std::bit_cast<uint64_t>(a.float_value()) == std::bit_cast<uint64_t>(b.float_value());
  }
  return a == b;
}

// What a key round trip must give back: the same value, except that -0
// comes back as 0 and every NaN as the canonical one.
bool SameInKey(const Value& original, const Value& decoded) {
  if (original.type() == TypeId::kFloat && decoded.type() == TypeId::kFloat) {
    const double o = original.float_value();
    const double d = decoded.float_value();
    if (std::isnan(o)) return std::isnan(d) && !std::signbit(d);
    return o == d && !std::signbit(d == 0 ? d : 1.0);
  }
  return Same(original, decoded);
}

std::string Describe(const Value& v) {
  switch (v.type()) {
    case TypeId::kNull:
      return "NULL";
    case TypeId::kBool:
      return v.bool_value() ? "true" : "false";
    case TypeId::kInt:
      return std::to_string(v.int_value());
    case TypeId::kFloat: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%a", v.float_value());
      return buf;
    }
    case TypeId::kText: {
      std::string s = "'";
      for (unsigned char c : v.text_value()) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
        s += buf;
      }
      return s + "'";
    }
  }
  return "?";
}

std::string Describe(const std::vector<Value>& values) {
  std::string s = "(";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + Describe(values[i]);
  return s + ")";
}

// Random values biased towards edges and collisions: small alphabets and
// short texts make equal values and prefixes common.
class ValueSource {
 public:
  explicit ValueSource(uint64_t seed) : rng_(seed) {}

  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  Value Of(TypeId type, int null_percent = 10) {
    if (Below(100) < null_percent) return Value::Null();
    switch (type) {
      case TypeId::kBool:
        return Value::Bool(Below(2) == 1);
      case TypeId::kInt:
        return Value::Int(Int());
      case TypeId::kFloat:
        return Value::Float(Float());
      case TypeId::kText:
        return Value::Text(Text());
      case TypeId::kNull:
        break;
    }
    return Value::Null();
  }

  TypeId AnyColumnType() { return kColumnTypes[Below(4)]; }

 private:
  int64_t Int() {
    static constexpr int64_t kEdges[] = {kIntMin, kIntMin + 1, -256, -1,          0,
                                         1,       255,         256,  kIntMax - 1, kIntMax};
    switch (Below(4)) {
      case 0:
        return kEdges[Below(std::size(kEdges))];
      case 1:
        return Below(9) - 4;
      case 2:  // any magnitude
        return static_cast<int64_t>(rng_() >> Below(64));
      default:
        return static_cast<int64_t>(rng_());
    }
  }

  double Float() {
    static const double kEdges[] = {-Limits::infinity(),
                                    -Limits::max(),
                                    -1.0,
                                    -Limits::min(),
                                    -Limits::denorm_min(),
                                    -0.0,
                                    0.0,
                                    Limits::denorm_min(),
                                    Limits::min(),
                                    0.5,
                                    1.0,
                                    Limits::max(),
                                    Limits::infinity(),
                                    Limits::quiet_NaN(),
                                    -Limits::quiet_NaN(),
                                    std::bit_cast<double>(uint64_t{0x7FF0000000000123})};
    switch (Below(4)) {
      case 0:
        return kEdges[Below(std::size(kEdges))];
      case 1:
        return (Below(9) - 4) / 2.0;
      case 2:  // any bit pattern: NaN payloads, denormals, everything
        return std::bit_cast<double>(rng_());
      default:
        return std::ldexp(static_cast<double>(static_cast<int64_t>(rng_() >> 11)) / (1LL << 52),
                          Below(200) - 100) *
               (Below(2) ? 1 : -1);
    }
  }

  std::string Text() {
    static constexpr char kAlphabet[] = {'\0', '\x01', 'a', 'b', '\xFE', '\xFF'};
    std::string s(Below(6), ' ');
    for (char& c : s) c = kAlphabet[Below(std::size(kAlphabet))];
    return s;
  }

  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------
// SQL order

TEST(CompareValuesTest, NullsLastAndEqualToEachOther) {
  EXPECT_EQ(CompareValues(Value::Null(), Value::Null()), 0);
  for (const Value& v : {Value::Bool(true), Value::Int(kIntMax), Value::Float(Limits::quiet_NaN()),
                         Value::Text("\xFF\xFF")}) {
    EXPECT_GT(CompareValues(Value::Null(), v), 0) << Describe(v);
    EXPECT_LT(CompareValues(v, Value::Null()), 0) << Describe(v);
  }
}

TEST(CompareValuesTest, FloatsNegativeZeroEqualsZeroAndNaNIsLargest) {
  EXPECT_EQ(CompareValues(Value::Float(-0.0), Value::Float(0.0)), 0);
  EXPECT_EQ(CompareValues(Value::Float(Limits::quiet_NaN()), Value::Float(-Limits::quiet_NaN())),
            0);
  EXPECT_GT(CompareValues(Value::Float(Limits::quiet_NaN()), Value::Float(Limits::infinity())), 0);
  EXPECT_LT(CompareValues(Value::Float(-Limits::infinity()), Value::Float(-Limits::max())), 0);
}

TEST(CompareValuesTest, TextIsByteWiseUnsigned) {
  EXPECT_LT(CompareValues(Value::Text("a"), Value::Text("\xC3\xA9")), 0);  // 'a' < 0xC3
  EXPECT_LT(CompareValues(Value::Text("ab"), Value::Text(std::string("ab\0", 3))), 0);
}

TEST(CompareValuesTest, IntegerAgainstFloatIsExact) {
  const double two_53 = 9007199254740992.0;  // 2^53: 2^53 + 1 is not a double
  EXPECT_GT(CompareValues(Value::Int((int64_t{1} << 53) + 1), Value::Float(two_53)), 0);
  EXPECT_LT(CompareValues(Value::Float(two_53), Value::Int((int64_t{1} << 53) + 1)), 0);
  EXPECT_EQ(CompareValues(Value::Int(int64_t{1} << 53), Value::Float(two_53)), 0);
  EXPECT_LT(CompareValues(Value::Int(kIntMax), Value::Float(9223372036854775808.0)), 0);
  EXPECT_EQ(CompareValues(Value::Int(kIntMin), Value::Float(-9223372036854775808.0)), 0);
  EXPECT_GT(CompareValues(Value::Int(kIntMin), Value::Float(-Limits::infinity())), 0);
  EXPECT_LT(CompareValues(Value::Int(1), Value::Float(1.5)), 0);
  EXPECT_GT(CompareValues(Value::Int(-1), Value::Float(-1.5)), 0);
  EXPECT_LT(CompareValues(Value::Int(-1), Value::Float(-0.5)), 0);
  EXPECT_EQ(CompareValues(Value::Int(0), Value::Float(-0.0)), 0);
  EXPECT_LT(CompareValues(Value::Int(kIntMax), Value::Float(Limits::quiet_NaN())), 0);
}

TEST(CompareValuesTest, IsATotalOrderOverMixedValues) {
  const uint64_t seed = testing::TestSeed(11);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  ValueSource source(seed);
  std::vector<Value> values;
  for (int i = 0; i < 300; ++i) values.push_back(source.Of(source.AnyColumnType(), 15));
  for (const Value& a : values) {
    for (const Value& b : values) {
      ASSERT_EQ(Sign(CompareValues(a, b)), -Sign(CompareValues(b, a)))
          << Describe(a) << " vs " << Describe(b);
    }
  }
  // Transitivity, on the sorted sequence: every later value is >= every
  // earlier one.
  std::sort(values.begin(), values.end(),
            [](const Value& a, const Value& b) { return CompareValues(a, b) < 0; });
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = i + 1; j < values.size(); ++j) {
      ASSERT_LE(CompareValues(values[i], values[j]), 0)
          << Describe(values[i]) << " vs " << Describe(values[j]);
    }
  }
}

// ---------------------------------------------------------------------------
// Keys: order

// Each list is strictly increasing in SQL order; the encodings must be too,
// ascending, and strictly decreasing descending.
void ExpectStrictlyIncreasingKeys(const std::vector<Value>& values) {
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    EXPECT_LT(CompareValues(values[i], values[i + 1]), 0)
        << Describe(values[i]) << " vs " << Describe(values[i + 1]);
    EXPECT_LT(Key(values[i]), Key(values[i + 1]))
        << Describe(values[i]) << " vs " << Describe(values[i + 1]);
    EXPECT_GT(Key(values[i], true), Key(values[i + 1], true))
        << Describe(values[i]) << " vs " << Describe(values[i + 1]);
  }
}

TEST(KeyOrderTest, EdgeCasesOfEveryType) {
  ExpectStrictlyIncreasingKeys({Value::Bool(false), Value::Bool(true), Value::Null()});
  ExpectStrictlyIncreasingKeys({Value::Int(kIntMin), Value::Int(kIntMin + 1), Value::Int(-256),
                                Value::Int(-1), Value::Int(0), Value::Int(1), Value::Int(256),
                                Value::Int(kIntMax - 1), Value::Int(kIntMax), Value::Null()});
  ExpectStrictlyIncreasingKeys(
      {Value::Float(-Limits::infinity()), Value::Float(-Limits::max()), Value::Float(-1.0),
       Value::Float(-Limits::min()), Value::Float(-Limits::denorm_min()), Value::Float(0.0),
       Value::Float(Limits::denorm_min()), Value::Float(2 * Limits::denorm_min()),
       Value::Float(Limits::min()), Value::Float(1.0), Value::Float(std::nextafter(1.0, 2.0)),
       Value::Float(Limits::max()), Value::Float(Limits::infinity()),
       Value::Float(Limits::quiet_NaN()), Value::Null()});
  using std::string_literals::operator""s;
  ExpectStrictlyIncreasingKeys({Value::Text(""), Value::Text("\0"s), Value::Text("\0\0"s),
                                Value::Text("\0\x01"s), Value::Text("\x01"), Value::Text("a"),
                                Value::Text("a\0"s), Value::Text("a\0b"s), Value::Text("a\x01"),
                                Value::Text("ab"), Value::Text("b"), Value::Text("\xFE"),
                                Value::Text("\xFF"), Value::Text("\xFF\xFF"), Value::Null()});
}

TEST(KeyOrderTest, NegativeZeroAndNaNsHaveOneEncoding) {
  EXPECT_EQ(Key(Value::Float(-0.0)), Key(Value::Float(0.0)));
  const std::string nan = Key(Value::Float(Limits::quiet_NaN()));
  EXPECT_EQ(Key(Value::Float(-Limits::quiet_NaN())), nan);
  EXPECT_EQ(Key(Value::Float(Limits::signaling_NaN())), nan);
  EXPECT_EQ(Key(Value::Float(std::bit_cast<double>(uint64_t{0xFFF0000000000001}))), nan);
}

TEST(KeyOrderTest, DescendingPutsNullFirst) {
  EXPECT_LT(Key(Value::Null(), true), Key(Value::Int(kIntMax), true));
  EXPECT_LT(Key(Value::Null(), true), Key(Value::Text("\xFF"), true));
}

TEST(KeyOrderTest, RandomPairsOfEachTypeSortAsTheValues) {
  const uint64_t seed = testing::TestSeed(1);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  ValueSource source(seed);
  for (TypeId type : kColumnTypes) {
    for (int i = 0; i < 5000; ++i) {
      const Value x = source.Of(type);
      const Value y = source.Of(type);
      const int expected = Sign(CompareValues(x, y));
      ASSERT_EQ(MemcmpSign(Key(x), Key(y)), expected) << Describe(x) << " vs " << Describe(y);
      ASSERT_EQ(MemcmpSign(Key(x, true), Key(y, true)), -expected)
          << Describe(x) << " vs " << Describe(y) << " descending";
    }
  }
}

// A random schema of 1-4 columns of mixed types and directions, and pairs
// of tuples that often share a prefix, so every column gets to decide.
TEST(KeyOrderTest, RandomCompositeTuplesSortAsTheTuples) {
  const uint64_t seed = testing::TestSeed(2);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  ValueSource source(seed);
  for (int schema = 0; schema < 200; ++schema) {
    std::vector<KeyColumn> columns(1 + source.Below(4));
    for (KeyColumn& c : columns) c = {source.AnyColumnType(), source.Below(2) == 1};
    for (int i = 0; i < 50; ++i) {
      std::vector<Value> x, y;
      for (const KeyColumn& c : columns) x.push_back(source.Of(c.type, 20));
      const size_t shared = source.Below(static_cast<int>(columns.size()) + 1);
      for (size_t k = 0; k < columns.size(); ++k) {
        y.push_back(k < shared ? x[k] : source.Of(columns[k].type, 20));
      }
      std::string kx, ky;
      ASSERT_TRUE(AppendCompositeKey(x, columns, &kx).ok());
      ASSERT_TRUE(AppendCompositeKey(y, columns, &ky).ok());
      ASSERT_EQ(MemcmpSign(kx, ky), Sign(CompareTuples(x, y, columns)))
          << Describe(x) << " vs " << Describe(y);

      std::string_view in = kx;
      Result<std::vector<Value>> decoded = DecodeCompositeKey(&in, columns);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString() << " " << Describe(x);
      EXPECT_TRUE(in.empty());
      for (size_t k = 0; k < columns.size(); ++k) {
        ASSERT_TRUE(SameInKey(x[k], (*decoded)[k])) << Describe(x) << " -> " << Describe(*decoded);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Keys: round trips and the format

TEST(KeyRoundTripTest, RandomValuesDecodeToThemselves) {
  const uint64_t seed = testing::TestSeed(3);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  ValueSource source(seed);
  for (TypeId type : kColumnTypes) {
    for (bool descending : {false, true}) {
      for (int i = 0; i < 2000; ++i) {
        const Value v = source.Of(type);
        const std::string key = Key(v, descending) + "tail";
        std::string_view in = key;
        Result<Value> decoded = DecodeKey(&in, type, descending);
        ASSERT_TRUE(decoded.ok()) << decoded.status().ToString() << " " << Describe(v);
        ASSERT_TRUE(SameInKey(v, *decoded)) << Describe(v) << " -> " << Describe(*decoded);
        ASSERT_EQ(in, "tail") << Describe(v);
      }
    }
  }
}

TEST(KeyRoundTripTest, NaNStaysNaNAndNegativeZeroBecomesZero) {
  std::string key = Key(Value::Float(-Limits::quiet_NaN()));
  std::string_view in = key;
  Result<Value> nan = DecodeKey(&in, TypeId::kFloat, false);
  ASSERT_TRUE(nan.ok());
  EXPECT_TRUE(std::isnan(nan->float_value()));

  key = Key(Value::Float(-0.0), true);
  in = key;
  Result<Value> zero = DecodeKey(&in, TypeId::kFloat, true);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->float_value(), 0.0);
  EXPECT_FALSE(std::signbit(zero->float_value()));
}

// The examples of sql/encoding_format.md, byte for byte.
TEST(KeyFormatTest, MatchesTheDocumentedBytes) {
  EXPECT_EQ(Key(Value::Null()), Bytes({0xFE}));
  EXPECT_EQ(Key(Value::Null(), true), Bytes({0x01}));
  EXPECT_EQ(Key(Value::Bool(true)), Bytes({0x11, 0x01}));
  EXPECT_EQ(Key(Value::Int(1)), Bytes({0x12, 0x80, 0, 0, 0, 0, 0, 0, 0x01}));
  EXPECT_EQ(Key(Value::Int(-1)), Bytes({0x12, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(Key(Value::Float(1.0)), Bytes({0x13, 0xBF, 0xF0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Key(Value::Float(-1.0)), Bytes({0x13, 0x40, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(Key(Value::Float(0.0)), Bytes({0x13, 0x80, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Key(Value::Float(Limits::quiet_NaN())), Bytes({0x13, 0xFF, 0xF8, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Key(Value::Text(std::string("a\0b", 3))),
            Bytes({0x14, 'a', 0x00, 0xFF, 'b', 0x00, 0x01}));
  EXPECT_EQ(Key(Value::Text("a"), true), Bytes({0xEB, 0x9E, 0xFF, 0xFE}));
}

// ---------------------------------------------------------------------------
// Keys: damage

void ExpectKeyCorruption(const std::string& bytes, TypeId type, bool descending,
                         std::string_view message_part) {
  std::string_view in = bytes;
  Result<Value> decoded = DecodeKey(&in, type, descending);
  ASSERT_FALSE(decoded.ok()) << "decoded " << Describe(*decoded);
  EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find(message_part), std::string_view::npos)
      << decoded.status().ToString();
}

TEST(KeyDamageTest, MalformedBytesAreCorruption) {
  ExpectKeyCorruption("", TypeId::kInt, false, "missing value at byte 0");
  ExpectKeyCorruption(Bytes({0x14, 'a', 0, 1}), TypeId::kInt, false, "type tag 20 where bigint");
  ExpectKeyCorruption(Bytes({0x12, 0x80, 0}), TypeId::kInt, false,
                      "needs 8 bytes, 2 left at byte 1");
  ExpectKeyCorruption(Bytes({0x11}), TypeId::kBool, false, "missing boolean");
  ExpectKeyCorruption(Bytes({0x11, 0x02}), TypeId::kBool, false, "boolean byte 2 at byte 1");
  ExpectKeyCorruption(Bytes({0x14, 'a', 'b'}), TypeId::kText, false, "without its terminator");
  ExpectKeyCorruption(Bytes({0x14, 'a', 0x00}), TypeId::kText, false, "without its terminator");
  ExpectKeyCorruption(Bytes({0x14, 'a', 0x00, 0x02}), TypeId::kText, false,
                      "escape 0x00 followed by byte 2 at byte 2");
  ExpectKeyCorruption(Bytes({0x13, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), TypeId::kFloat,
                      false, "negative zero");
  ExpectKeyCorruption(Bytes({0x13, 0xFF, 0xF8, 0, 0, 0, 0, 0, 1}), TypeId::kFloat, false,
                      "non-canonical NaN");
  ExpectKeyCorruption(Bytes({0x11, 0x01}), TypeId::kNull, false, "where unknown or NULL");
  // Ascending bytes read as descending: the tag is wrong.
  ExpectKeyCorruption(Key(Value::Int(5)), TypeId::kInt, true, "type tag");
}

TEST(KeyDamageTest, EveryTruncationOfACompositeKeyIsCorruption) {
  const std::vector<KeyColumn> columns = {
      {TypeId::kText, false}, {TypeId::kFloat, true}, {TypeId::kBool, false}, {TypeId::kInt, true}};
  const std::vector<Value> values = {Value::Text(std::string("x\0y", 3)), Value::Float(-2.5),
                                     Value::Bool(false), Value::Int(-7)};
  std::string key;
  ASSERT_TRUE(AppendCompositeKey(values, columns, &key).ok());
  for (size_t n = 0; n < key.size(); ++n) {
    std::string_view in(key.data(), n);
    Result<std::vector<Value>> decoded = DecodeCompositeKey(&in, columns);
    ASSERT_FALSE(decoded.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
    EXPECT_NE(decoded.status().message().find("column "), std::string_view::npos);
  }
}

TEST(CompositeKeyTest, LeavesTrailingBytesAndRejectsMismatchedValues) {
  const std::vector<KeyColumn> columns = {{TypeId::kInt, false}};
  std::string key;
  ASSERT_TRUE(AppendCompositeKey(std::vector<Value>{Value::Int(3)}, columns, &key).ok());
  key += Key(Value::Text("pk"));
  std::string_view in = key;
  Result<std::vector<Value>> decoded = DecodeCompositeKey(&in, columns);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(in, Key(Value::Text("pk")));

  std::string out = "unchanged";
  EXPECT_EQ(AppendCompositeKey(std::vector<Value>{Value::Text("3")}, columns, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AppendCompositeKey(std::vector<Value>{}, columns, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(out, "unchanged");
  EXPECT_TRUE(AppendCompositeKey(std::vector<Value>{Value::Null()}, columns, &out).ok());
}

// ---------------------------------------------------------------------------
// Rows

TEST(RowCodecTest, RandomRowsRoundTrip) {
  const uint64_t seed = testing::TestSeed(4);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  ValueSource source(seed);
  for (int i = 0; i < 3000; ++i) {
    std::vector<TypeId> types(source.Below(20));
    std::vector<Value> row;
    for (TypeId& t : types) {
      t = source.AnyColumnType();
      row.push_back(source.Of(t, 25));
    }
    const uint32_t version =
        source.Below(2) ? source.Below(3) : static_cast<uint32_t>(-1 - source.Below(3));
    const std::string bytes = EncodeRow(version, row);
    Result<DecodedRow> decoded = DecodeRow(bytes, types);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString() << " " << Describe(row);
    EXPECT_EQ(decoded->schema_version, version);
    ASSERT_EQ(decoded->columns.size(), row.size());
    for (size_t k = 0; k < row.size(); ++k) {
      ASSERT_TRUE(Same(row[k], decoded->columns[k]))
          << Describe(row) << " -> " << Describe(decoded->columns);
    }
    // Any strict prefix lacks something the row promises.
    for (size_t n = 0; n < bytes.size(); ++n) {
      Result<DecodedRow> cut = DecodeRow(std::string_view(bytes.data(), n), types);
      ASSERT_FALSE(cut.ok()) << n << " of " << bytes.size() << " bytes of " << Describe(row);
      ASSERT_TRUE(cut.status().IsCorruption()) << cut.status().ToString();
    }
  }
}

TEST(RowCodecTest, RowWrittenBeforeAddColumnReadsNull) {
  const std::vector<Value> old_row = {Value::Int(42), Value::Text("old")};
  const std::vector<TypeId> now = {TypeId::kInt, TypeId::kText, TypeId::kFloat, TypeId::kBool};
  Result<DecodedRow> decoded = DecodeRow(EncodeRow(1, old_row), now);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->schema_version, 1u);
  ASSERT_EQ(decoded->columns.size(), 4u);
  EXPECT_EQ(decoded->columns[0], Value::Int(42));
  EXPECT_EQ(decoded->columns[1], Value::Text("old"));
  EXPECT_TRUE(decoded->columns[2].is_null());
  EXPECT_TRUE(decoded->columns[3].is_null());
}

TEST(RowCodecTest, PreservesNegativeZeroAndNaNPayloads) {
  const double payload_nan = std::bit_cast<double>(uint64_t{0xFFF0000000000123});
  const std::vector<TypeId> types = {TypeId::kFloat, TypeId::kFloat};
  Result<DecodedRow> decoded = DecodeRow(
      EncodeRow(0, std::vector<Value>{Value::Float(-0.0), Value::Float(payload_nan)}), types);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(Same(decoded->columns[0], Value::Float(-0.0)));
  EXPECT_TRUE(Same(decoded->columns[1], Value::Float(payload_nan)));
}

// The example of sql/encoding_format.md, byte for byte.
TEST(RowCodecTest, MatchesTheDocumentedBytes) {
  const std::vector<Value> row = {Value::Int(-1), Value::Null(), Value::Text("hi"),
                                  Value::Bool(true), Value::Float(1.0)};
  EXPECT_EQ(EncodeRow(300, row), Bytes({0xAC, 0x02, 0x05, 0x02, 0x01, 0x02, 'h', 'i', 0x01, 0, 0, 0,
                                        0, 0, 0, 0xF0, 0x3F}));
  EXPECT_EQ(EncodeRow(0, std::vector<Value>{}), Bytes({0x00, 0x00}));
}

void ExpectRowCorruption(const std::string& bytes, const std::vector<TypeId>& types,
                         std::string_view message_part) {
  Result<DecodedRow> decoded = DecodeRow(bytes, types);
  ASSERT_FALSE(decoded.ok()) << "decoded " << Describe(decoded->columns);
  EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find(message_part), std::string_view::npos)
      << decoded.status().ToString();
}

TEST(RowCodecTest, MalformedRowsAreCorruptionNamingTheOffset) {
  const std::vector<TypeId> two = {TypeId::kInt, TypeId::kText};
  ExpectRowCorruption("", two, "schema version cut short at byte 0 of 0");
  ExpectRowCorruption(Bytes({0x00, 0x03, 0x00}), two,
                      "column count 3 exceeds the table's 2 columns at byte 1");
  ExpectRowCorruption(Bytes({0x00, 0x02}), two, "null bitmap of 1 bytes cut short at byte 2");
  ExpectRowCorruption(Bytes({0x00, 0x02, 0x04, 0x02, 0x00}), two,
                      "null bitmap bits set past column 2 at byte 2");
  ExpectRowCorruption(Bytes({0x00, 0x02, 0x00, 0x02, 0x05, 'a', 'b'}), two,
                      "column 1 text of 5 bytes with 2 left at byte 4");
  ExpectRowCorruption(Bytes({0x00, 0x02, 0x03, 0x07}), two,
                      "1 bytes after the last column at byte 3");
  ExpectRowCorruption(Bytes({0x80, 0x00, 0x00}), two, "schema version not minimal at byte 0");
  ExpectRowCorruption(Bytes({0x80, 0x80, 0x80, 0x80, 0x10, 0x00}), two,
                      "schema version 4294967296 exceeds");
  ExpectRowCorruption(
      Bytes({0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}), two,
      "column 0 (bigint) longer than 64 bits at byte 3");
  ExpectRowCorruption(Bytes({0x00, 0x01, 0x00, 0x02}), {TypeId::kBool},
                      "column 0 boolean byte 2 at byte 3");
  ExpectRowCorruption(Bytes({0x00, 0x01, 0x00, 0x00, 0x00}), {TypeId::kFloat},
                      "column 0 (double precision) needs 8 bytes, 2 left at byte 3");
}

TEST(RowCodecTest, ValueUnderAnUnknownColumnTypeIsInvalidArgument) {
  Result<DecodedRow> decoded = DecodeRow(EncodeRow(0, std::vector<Value>{Value::Int(1)}),
                                         std::vector<TypeId>{TypeId::kNull});
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
}

// Garbage never crashes the decoder; whatever it accepts re-encodes to a
// row that decodes to the same values.
TEST(RowCodecTest, RandomGarbageIsRejectedOrConsistent) {
  const uint64_t seed = testing::TestSeed(5);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<TypeId> types(rng() % 6);
    for (TypeId& t : types) t = kColumnTypes[rng() % 4];
    std::string bytes(rng() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? rng() % 4 : rng());
    Result<DecodedRow> decoded = DecodeRow(bytes, types);
    if (!decoded.ok()) {
      ASSERT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
      continue;
    }
    ++accepted;
    Result<DecodedRow> again =
        DecodeRow(EncodeRow(decoded->schema_version, decoded->columns), types);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    for (size_t k = 0; k < types.size(); ++k)
      ASSERT_TRUE(Same(decoded->columns[k], again->columns[k]));
  }
  EXPECT_GT(accepted, 0);  // the check above ran at all
}

}  // namespace
}  // namespace mvdb::sql
