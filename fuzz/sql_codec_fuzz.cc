// libFuzzer target: the decoders of the SQL value encodings
// (sql/row_codec.h, sql/key_codec.h; bytes in sql/encoding_format.md) over
// arbitrary bytes.
//
// The first byte gives a column count n (0-8), the next n bytes a column
// each (bits 0-1: boolean, bigint, double precision, text; bit 2:
// descending), and the rest is decoded three ways:
//   1. as a row of those column types. What DecodeRow accepts must
//      re-encode to a row that decodes to the same values, bit for bit,
//      and re-encodes to the same bytes again.
//   2. as a composite key of those columns. The key decoder accepts only
//      what the encoder writes, so the bytes it consumed must be exactly
//      the re-encoding of what it returned, and decode to it again.
//   3. as a run of single keys of the first column: each pair of
//      neighbours must compare by memcmp of their encodings as the values
//      compare in SQL (reversed for a descending column).
// Besides the sanitizers' checks, a broken rule traps.
//
//   build-fuzz/bin/sql_codec_fuzz -max_total_time=60 /tmp/sql-codec-fuzz fuzz/corpus/sql_codec
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sql/key_codec.h"
#include "sql/row_codec.h"
#include "sql/value.h"

namespace {

using mvdb::sql::KeyColumn;
using mvdb::sql::TypeId;
using mvdb::sql::Value;

constexpr TypeId kColumnTypes[] = {TypeId::kBool, TypeId::kInt, TypeId::kFloat, TypeId::kText};

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Identity of values, floats by their bits.
bool Same(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  if (a.type() == TypeId::kFloat) {
    return std::bit_cast<uint64_t>(a.float_value()) == std::bit_cast<uint64_t>(b.float_value());
  }
  return a == b;
}

bool SameAll(const std::vector<Value>& a, const std::vector<Value>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!Same(a[i], b[i])) return false;
  }
  return true;
}

int Sign(int v) { return (v > 0) - (v < 0); }

void FuzzRow(std::string_view bytes, const std::vector<TypeId>& types) {
  mvdb::Result<mvdb::sql::DecodedRow> row = mvdb::sql::DecodeRow(bytes, types);
  if (!row.ok()) {
    Check(row.status().IsCorruption());
    return;
  }
  Check(row->columns.size() == types.size());
  const std::string encoded = mvdb::sql::EncodeRow(row->schema_version, row->columns);
  mvdb::Result<mvdb::sql::DecodedRow> again = mvdb::sql::DecodeRow(encoded, types);
  Check(again.ok());
  Check(again->schema_version == row->schema_version);
  Check(SameAll(again->columns, row->columns));
  Check(mvdb::sql::EncodeRow(again->schema_version, again->columns) == encoded);
}

void FuzzCompositeKey(std::string_view bytes, const std::vector<KeyColumn>& columns) {
  std::string_view in = bytes;
  mvdb::Result<std::vector<Value>> values = mvdb::sql::DecodeCompositeKey(&in, columns);
  if (!values.ok()) {
    Check(values.status().IsCorruption());
    return;
  }
  const std::string_view consumed = bytes.substr(0, bytes.size() - in.size());
  std::string encoded;
  Check(mvdb::sql::AppendCompositeKey(*values, columns, &encoded).ok());
  Check(encoded == consumed);
  std::string_view reread = encoded;
  mvdb::Result<std::vector<Value>> again = mvdb::sql::DecodeCompositeKey(&reread, columns);
  Check(again.ok() && reread.empty() && SameAll(*again, *values));
}

void FuzzKeyOrder(std::string_view bytes, KeyColumn column) {
  std::string_view in = bytes;
  Value previous;
  std::string previous_key;
  for (bool first = true;; first = false) {
    mvdb::Result<Value> value = mvdb::sql::DecodeKey(&in, column.type, column.descending);
    if (!value.ok()) return;
    std::string key;
    mvdb::sql::AppendKey(*value, column.descending, &key);
    if (!first) {
      const int sql = Sign(mvdb::sql::CompareValues(previous, *value));
      Check(Sign(previous_key.compare(key)) == (column.descending ? -sql : sql));
    }
    previous = std::move(*value);
    previous_key = std::move(key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.empty()) return 0;
  const size_t n = static_cast<uint8_t>(input[0]) % 9;
  input.remove_prefix(1);
  if (input.size() < n) return 0;
  std::vector<KeyColumn> columns;
  std::vector<TypeId> types;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t spec = static_cast<uint8_t>(input[i]);
    columns.push_back({kColumnTypes[spec & 3], (spec & 4) != 0});
    types.push_back(columns.back().type);
  }
  input.remove_prefix(n);

  FuzzRow(input, types);
  FuzzCompositeKey(input, columns);
  if (!columns.empty()) FuzzKeyOrder(input, columns[0]);
  return 0;
}
