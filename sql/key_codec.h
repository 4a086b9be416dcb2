// Order-preserving encoding of SQL values into B+tree keys, and the SQL
// order of values it preserves.
//
// The trees compare keys byte-wise (memcmp), so primary keys and index keys
// are stored in an encoding whose byte order is the SQL order of the values:
// for values x and y of one column type,
//
//   sign(memcmp(AppendKey(x), AppendKey(y))) == sign(CompareValues(x, y)),
//
// and the encodings of tuples concatenate, so a composite key compares like
// the tuple, column by column, each column ascending or descending. The
// bytes are specified in sql/encoding_format.md.
//
// Threading: pure functions, safe from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/status.h"
#include "sql/value.h"

namespace mvdb::sql {

// The SQL order of two values: negative when a sorts before b, zero when
// they are equal in that order, positive when after. This is ORDER BY's
// ascending order with PostgreSQL's defaults:
//   - NULL sorts after every non-NULL value (ASC NULLS LAST) and equals NULL;
//   - false < true; integers by value; text byte-wise (the C collation);
//   - floats by value with -0 == 0, and NaN equal to NaN and greater than
//     every number, +infinity included;
//   - an integer and a float compare exactly by numeric value, which keeps
//     the order total. This is not SQL's comparison operator, which casts
//     the integer to a double first as PostgreSQL does (CompareSql in
//     sql/compare.h); sorting never meets the two types in one column.
// Other mixes of types (a boolean against text, say) are not comparable in
// SQL; they order by type (boolean < numbers < text) only so that the order
// stays total and sorting never misbehaves. The key encoding preserves this
// order for values of the same type or NULL only.
int CompareValues(const Value& a, const Value& b);

// Appends the order-preserving encoding of `value` to `*out`. With
// `descending` every byte of this value's encoding is inverted, which
// reverses its order (so NULL then sorts first, as PostgreSQL's DESC NULLS
// FIRST) without affecting the columns before or after it.
void AppendKey(const Value& value, bool descending, std::string* out);

// Decodes one value of column type `type` (or NULL) from the front of
// `*in`, encoded with the same `descending`, and advances `*in` past it.
// Returns Corruption, naming what is wrong and the byte offset within
// `*in`, when the bytes are not exactly what AppendKey writes for such a
// value (a wrong type tag, a truncated payload, a bad text escape, a float
// other than the canonical zero or NaN); `*in` is then unspecified.
Result<Value> DecodeKey(std::string_view* in, TypeId type, bool descending);

// One column of a composite key.
struct KeyColumn {
  TypeId type = TypeId::kNull;
  bool descending = false;
};

// Appends the encoding of the tuple `values`, column i with `columns[i]`'s
// direction, to `*out`: the concatenation of the values' encodings.
// InvalidArgument (and `*out` unchanged) when the counts differ or a
// non-NULL value's type is not its column's type.
Status AppendCompositeKey(std::span<const Value> values, std::span<const KeyColumn> columns,
                          std::string* out);

// Decodes one value per column from the front of `*in`, advancing it past
// them; bytes after the last column are left in `*in` (an index key holds
// the row's primary key after the indexed columns). Corruption names the
// column and its byte offset.
Result<std::vector<Value>> DecodeCompositeKey(std::string_view* in,
                                              std::span<const KeyColumn> columns);

// Compares two tuples column by column in the columns' directions (a
// descending column compares as -CompareValues); the first difference
// decides. REQUIRES: a.size() == b.size() == columns.size().
int CompareTuples(std::span<const Value> a, std::span<const Value> b,
                  std::span<const KeyColumn> columns);

}  // namespace mvdb::sql
