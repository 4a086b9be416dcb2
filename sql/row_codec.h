// The compact encoding of one table row: the value stored under the row's
// key in the table's tree (sql/encoding_format.md, "Rows").
//
// A row records the schema version it was written under and its column
// count, not the column types: the reader supplies the table's current
// types. A row written before `ALTER TABLE ... ADD COLUMN` holds fewer
// columns than the table and reads NULL for the added ones, so adding a
// column rewrites nothing.
//
// Threading: pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/status.h"
#include "sql/value.h"

namespace mvdb::sql {

struct DecodedRow {
  uint32_t schema_version = 0;
  std::vector<Value> columns;  // one per column type given to DecodeRow
};

// Encodes a row of `columns.size()` values, each by its own type (a float
// keeps its exact bits, -0 and NaN payloads included).
std::string EncodeRow(uint32_t schema_version, std::span<const Value> columns);

// Decodes a row of a table whose columns have `column_types` (none kNull).
// The result has exactly column_types.size() columns; those past the row's
// own count are NULL. Corruption, naming what is wrong and its byte offset
// in `bytes`, when the row holds more columns than types, when a length,
// varint or boolean is malformed or runs past the end, when the null
// bitmap's unused bits are set, or when bytes follow the last value.
// InvalidArgument when a non-NULL value meets a kNull column type.
Result<DecodedRow> DecodeRow(std::string_view bytes, std::span<const TypeId> column_types);

}  // namespace mvdb::sql
