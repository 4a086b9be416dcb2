// The row encoding (sql/encoding_format.md, "Rows"): varints, a null
// bitmap and the non-NULL values. The decoder checks every length against
// the bytes left before reading, so a damaged row is a Corruption, never an
// out-of-bounds read or a huge allocation.
#include "sql/row_codec.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "common/coding.h"

namespace mvdb::sql {
namespace {

constexpr size_t kMaxVarint64Bytes = 10;

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Reads `bytes` front to back, reporting offsets from the row's start.
class RowReader {
 public:
  explicit RowReader(std::string_view bytes) : bytes_(bytes) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  Status Corruption(const std::string& what, size_t at) const {
    return Status::Corruption("row: " + what + " at byte " + std::to_string(at) + " of " +
                              std::to_string(bytes_.size()));
  }

  // A minimal varint (the encoder never writes a redundant trailing 0x00
  // group), at most `max` in value.
  Result<uint64_t> Varint(std::string_view what, uint64_t max) {
    const size_t start = pos_;
    uint64_t v = 0;
    for (size_t i = 0; i < kMaxVarint64Bytes; ++i) {
      if (pos_ == bytes_.size()) return Corruption(std::string(what) + " cut short", start);
      const uint8_t byte = static_cast<uint8_t>(bytes_[pos_++]);
      if (i == kMaxVarint64Bytes - 1 && byte > 1) break;  // bits past 64
      v |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
      if ((byte & 0x80) != 0) continue;
      if (byte == 0 && i > 0) return Corruption(std::string(what) + " not minimal", start);
      if (v > max) {
        return Corruption(
            std::string(what) + " " + std::to_string(v) + " exceeds " + std::to_string(max), start);
      }
      return v;
    }
    return Corruption(std::string(what) + " longer than 64 bits", start);
  }

  // REQUIRES: n <= remaining().
  std::string_view Take(size_t n) {
    std::string_view taken = bytes_.substr(pos_, n);
    pos_ += n;
    return taken;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

Result<Value> DecodeColumn(RowReader* reader, size_t column, TypeId type) {
  const size_t start = reader->offset();
  const std::string name = "column " + std::to_string(column);
  switch (type) {
    case TypeId::kBool: {
      if (reader->remaining() < 1) return reader->Corruption(name + " (boolean) cut short", start);
      const uint8_t b = static_cast<uint8_t>(reader->Take(1)[0]);
      if (b > 1) return reader->Corruption(name + " boolean byte " + std::to_string(b), start);
      return Value::Bool(b == 1);
    }
    case TypeId::kInt: {
      MVDB_ASSIGN_OR_RETURN(
          const uint64_t zigzag,
          reader->Varint(name + " (bigint)", std::numeric_limits<uint64_t>::max()));
      return Value::Int(UnZigZag(zigzag));
    }
    case TypeId::kFloat: {
      if (reader->remaining() < 8) {
        return reader->Corruption(name + " (double precision) needs 8 bytes, " +
                                      std::to_string(reader->remaining()) + " left",
                                  start);
      }
      const uint64_t bits =
          DecodeFixed64(reinterpret_cast<const std::byte*>(reader->Take(8).data()));
      return Value::Float(std::bit_cast<double>(bits));
    }
    case TypeId::kText: {
      MVDB_ASSIGN_OR_RETURN(
          const uint64_t length,
          reader->Varint(name + " (text) length", std::numeric_limits<uint64_t>::max()));
      if (length > reader->remaining()) {
        return reader->Corruption(name + " text of " + std::to_string(length) + " bytes with " +
                                      std::to_string(reader->remaining()) + " left",
                                  start);
      }
      return Value::Text(std::string(reader->Take(static_cast<size_t>(length))));
    }
    case TypeId::kNull:
      break;
  }
  return Status::InvalidArgument("row: " + name + " holds a value but its type is unknown");
}

}  // namespace

std::string EncodeRow(uint32_t schema_version, std::span<const Value> columns) {
  std::string out;
  AppendVarint(schema_version, &out);
  AppendVarint(columns.size(), &out);
  const size_t bitmap_at = out.size();
  out.append((columns.size() + 7) / 8, '\0');
  for (size_t i = 0; i < columns.size(); ++i) {
    const Value& value = columns[i];
    switch (value.type()) {
      case TypeId::kNull:
        out[bitmap_at + i / 8] = static_cast<char>(out[bitmap_at + i / 8] | (1 << (i % 8)));
        break;
      case TypeId::kBool:
        out.push_back(value.bool_value() ? 1 : 0);
        break;
      case TypeId::kInt:
        AppendVarint(ZigZag(value.int_value()), &out);
        break;
      case TypeId::kFloat: {
        std::byte bytes[8];
        EncodeFixed64(bytes, std::bit_cast<uint64_t>(value.float_value()));
        out.append(reinterpret_cast<const char*>(bytes), sizeof(bytes));
        break;
      }
      case TypeId::kText:
        AppendVarint(value.text_value().size(), &out);
        out.append(value.text_value());
        break;
    }
  }
  return out;
}

Result<DecodedRow> DecodeRow(std::string_view bytes, std::span<const TypeId> column_types) {
  RowReader reader(bytes);
  DecodedRow row;
  MVDB_ASSIGN_OR_RETURN(const uint64_t version,
                        reader.Varint("schema version", std::numeric_limits<uint32_t>::max()));
  row.schema_version = static_cast<uint32_t>(version);
  const size_t count_at = reader.offset();
  MVDB_ASSIGN_OR_RETURN(const uint64_t count,
                        reader.Varint("column count", std::numeric_limits<uint32_t>::max()));
  if (count > column_types.size()) {
    return reader.Corruption("column count " + std::to_string(count) + " exceeds the table's " +
                                 std::to_string(column_types.size()) + " columns",
                             count_at);
  }
  const size_t bitmap_size = (static_cast<size_t>(count) + 7) / 8;
  const size_t bitmap_at = reader.offset();
  if (reader.remaining() < bitmap_size) {
    return reader.Corruption("null bitmap of " + std::to_string(bitmap_size) + " bytes cut short",
                             bitmap_at);
  }
  const std::string_view bitmap = reader.Take(bitmap_size);
  if (count % 8 != 0 && (static_cast<uint8_t>(bitmap.back()) >> (count % 8)) != 0) {
    return reader.Corruption("null bitmap bits set past column " + std::to_string(count),
                             bitmap_at + bitmap_size - 1);
  }
  row.columns.reserve(column_types.size());
  for (size_t i = 0; i < count; ++i) {
    if ((static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1) {
      row.columns.push_back(Value::Null());
      continue;
    }
    MVDB_ASSIGN_OR_RETURN(Value value, DecodeColumn(&reader, i, column_types[i]));
    row.columns.push_back(std::move(value));
  }
  if (reader.remaining() != 0) {
    return reader.Corruption(std::to_string(reader.remaining()) + " bytes after the last column",
                             reader.offset());
  }
  // Columns added after this row was written read NULL.
  row.columns.resize(column_types.size());
  return row;
}

}  // namespace mvdb::sql
