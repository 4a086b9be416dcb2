// The catalog's rows in `__catalog` and their in-memory copy (catalog.h).
//
// A catalog row is, in order (varint = LEB128, string = varint length then
// bytes):
//   byte 1 (format version), string table name, varint schema version,
//   varint column count, per column: string name, byte TypeId,
//   varint (max_length + 1), byte not_null (0/1),
//   varint primary key column count, varint column index each,
//   and from format version 2 on: varint index count, per index: string
//   name, byte unique (0/1), varint column count, varint column index each.
// Version 1 rows (before indexes) are still read.
//
// DDL is not one atomic unit across the API's CreateTable/DropTable and the
// catalog row, so Load repairs what a crash between the two can leave: an
// mvdb table without a catalog row (CREATE crashed before its row) is
// dropped, and a catalog row without its mvdb table (DROP crashed after the
// table) is deleted. The same goes for indexes: an index table no catalog
// row names (CREATE INDEX crashed before its commit, DROP INDEX or DROP
// TABLE before dropping it) is dropped.
#include "sql/catalog.h"

#include <algorithm>
#include <set>
#include <utility>

namespace mvdb::sql {
namespace {

constexpr uint8_t kFormatVersion = 2;
constexpr uint8_t kFormatVersionWithoutIndexes = 1;
constexpr std::string_view kIndexTablePrefix = "__index/";
// The mvdb layer's own marker table (db/database.cc); not a SQL table.
constexpr std::string_view kReservedPrefix = "__";

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

// Reads the fields back; any overrun sets failed and returns zeros.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool failed() const { return failed_; }
  bool at_end() const { return in_.empty(); }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) break;
      const auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    failed_ = true;
    return 0;
  }
  uint8_t Byte() {
    if (in_.empty()) {
      failed_ = true;
      return 0;
    }
    const auto byte = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return byte;
  }
  std::string String() {
    const uint64_t size = Varint();
    if (failed_ || size > in_.size()) {
      failed_ = true;
      return {};
    }
    std::string s(in_.substr(0, size));
    in_.remove_prefix(size);
    return s;
  }

 private:
  std::string_view in_;
  bool failed_ = false;
};

}  // namespace

int TableSchema::ColumnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

const IndexSchema* TableSchema::FindIndex(std::string_view index) const {
  for (const IndexSchema& candidate : indexes) {
    if (candidate.name == index) return &candidate;
  }
  return nullptr;
}

std::vector<TypeId> TableSchema::ColumnTypes() const {
  std::vector<TypeId> types;
  types.reserve(columns.size());
  for (const ColumnSchema& column : columns) types.push_back(column.type);
  return types;
}

std::vector<KeyColumn> TableSchema::KeyColumns() const {
  if (!has_primary_key()) return {KeyColumn{TypeId::kInt, false}};
  std::vector<KeyColumn> key;
  for (int index : primary_key) key.push_back(KeyColumn{columns[index].type, false});
  return key;
}

std::string EncodeTableSchema(const TableSchema& schema) {
  std::string out;
  out.push_back(static_cast<char>(kFormatVersion));
  PutString(schema.name, &out);
  PutVarint(schema.schema_version, &out);
  PutVarint(schema.columns.size(), &out);
  for (const ColumnSchema& column : schema.columns) {
    PutString(column.name, &out);
    out.push_back(static_cast<char>(column.type));
    PutVarint(static_cast<uint64_t>(column.max_length + 1), &out);
    out.push_back(column.not_null ? 1 : 0);
  }
  PutVarint(schema.primary_key.size(), &out);
  for (int index : schema.primary_key) PutVarint(static_cast<uint64_t>(index), &out);
  PutVarint(schema.indexes.size(), &out);
  for (const IndexSchema& index : schema.indexes) {
    PutString(index.name, &out);
    out.push_back(index.unique ? 1 : 0);
    PutVarint(index.columns.size(), &out);
    for (int column : index.columns) PutVarint(static_cast<uint64_t>(column), &out);
  }
  return out;
}

Result<TableSchema> DecodeTableSchema(std::string_view bytes) {
  Reader in(bytes);
  const uint8_t version = in.Byte();
  if (version != kFormatVersion && version != kFormatVersionWithoutIndexes) {
    return Status::Corruption("catalog row: unknown format version");
  }
  TableSchema schema;
  schema.name = in.String();
  schema.schema_version = static_cast<uint32_t>(in.Varint());
  const uint64_t column_count = in.Varint();
  for (uint64_t i = 0; i < column_count && !in.failed(); ++i) {
    ColumnSchema column;
    column.name = in.String();
    const uint8_t type = in.Byte();
    if (type < static_cast<uint8_t>(TypeId::kBool) || type > static_cast<uint8_t>(TypeId::kText)) {
      return Status::Corruption("catalog row of \"" + schema.name + "\": bad column type");
    }
    column.type = static_cast<TypeId>(type);
    column.max_length = static_cast<int32_t>(in.Varint()) - 1;
    column.not_null = in.Byte() != 0;
    schema.columns.push_back(std::move(column));
  }
  const uint64_t key_count = in.Varint();
  for (uint64_t i = 0; i < key_count && !in.failed(); ++i) {
    const uint64_t index = in.Varint();
    if (index >= schema.columns.size()) {
      return Status::Corruption("catalog row of \"" + schema.name + "\": bad key column");
    }
    schema.primary_key.push_back(static_cast<int>(index));
  }
  const uint64_t index_count = version == kFormatVersion ? in.Varint() : 0;
  for (uint64_t i = 0; i < index_count && !in.failed(); ++i) {
    IndexSchema index;
    index.name = in.String();
    index.unique = in.Byte() != 0;
    const uint64_t count = in.Varint();
    for (uint64_t c = 0; c < count && !in.failed(); ++c) {
      const uint64_t column = in.Varint();
      if (column >= schema.columns.size()) {
        return Status::Corruption("catalog row of \"" + schema.name + "\": bad index column");
      }
      index.columns.push_back(static_cast<int>(column));
    }
    if (index.columns.empty() && !in.failed()) {
      return Status::Corruption("catalog row of \"" + schema.name + "\": index without columns");
    }
    schema.indexes.push_back(std::move(index));
  }
  if (in.failed() || !in.at_end()) {
    return Status::Corruption("catalog row of \"" + schema.name + "\": malformed");
  }
  return schema;
}

Result<int64_t> MaxRowId(Database* db, std::string_view table) {
  auto txn = db->Begin();
  auto it = txn->NewIterator(table);
  it->SeekToLast();
  int64_t max_id = 0;
  if (it->Valid()) {
    std::string_view key = it->key();
    MVDB_ASSIGN_OR_RETURN(Value id, DecodeKey(&key, TypeId::kInt, false));
    if (!id.is_null()) max_id = id.int_value();
  }
  MVDB_RETURN_IF_ERROR(it->status());
  it.reset();
  (void)txn->Rollback();
  return max_id;
}

Result<std::unique_ptr<Catalog>> Catalog::Load(Database* db) {
  std::unique_ptr<Catalog> catalog(new Catalog(db));
  MVDB_ASSIGN_OR_RETURN(std::vector<std::string> names, db->ListTables());
  const std::set<std::string> existing(names.begin(), names.end());
  if (!existing.contains(kCatalogTable)) MVDB_RETURN_IF_ERROR(db->CreateTable(kCatalogTable));

  std::vector<TableSchema> schemas;
  {
    auto txn = db->Begin();
    auto it = txn->NewIterator(kCatalogTable);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      MVDB_ASSIGN_OR_RETURN(TableSchema schema, DecodeTableSchema(it->value()));
      schemas.push_back(std::move(schema));
    }
    MVDB_RETURN_IF_ERROR(it->status());
  }
  for (TableSchema& schema : schemas) {
    if (!existing.contains(schema.name)) {
      // DROP TABLE crashed between dropping the table and its row.
      MVDB_RETURN_IF_ERROR(catalog->Remove(schema.name));
      continue;
    }
    const size_t index_count = schema.indexes.size();
    std::erase_if(schema.indexes, [&](const IndexSchema& index) {
      return !existing.contains(IndexTableName(index.name));
    });
    if (schema.indexes.size() != index_count) {
      // Only a damaged directory loses an index table its row names: go on
      // without the index rather than fail every write of the table.
      MVDB_RETURN_IF_ERROR(catalog->Store(schema));
    }
    if (!schema.has_primary_key()) {
      MVDB_ASSIGN_OR_RETURN(int64_t max_id, MaxRowId(db, schema.name));
      schema.next_row_id->store(max_id + 1);
    }
    const std::string name = schema.name;
    catalog->tables_[name] = std::make_shared<const TableSchema>(std::move(schema));
  }
  std::set<std::string> index_tables;
  for (const auto& [name, schema] : catalog->tables_) {
    for (const IndexSchema& index : schema->indexes)
      index_tables.insert(IndexTableName(index.name));
  }
  for (const std::string& name : existing) {
    if (name.starts_with(kIndexTablePrefix)) {
      // CREATE INDEX crashed before its commit, or DROP before the table.
      if (!index_tables.contains(name)) MVDB_RETURN_IF_ERROR(db->DropTable(name));
      continue;
    }
    if (name.starts_with(kReservedPrefix) || catalog->tables_.contains(name)) continue;
    // CREATE TABLE crashed between creating the table and writing its row.
    MVDB_RETURN_IF_ERROR(db->DropTable(name));
  }
  return catalog;
}

std::shared_ptr<const TableSchema> Catalog::Find(std::string_view table) const {
  std::shared_lock lock(mu_);
  auto it = tables_.find(table);
  return it == tables_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const TableSchema>> Catalog::List() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const TableSchema>> list;
  for (const auto& [name, schema] : tables_) list.push_back(schema);
  return list;
}

Status Catalog::Store(const TableSchema& schema) {
  MVDB_RETURN_IF_ERROR(db_->Run([&](Transaction& txn) {
    return txn.Put(kCatalogTable, schema.name, EncodeTableSchema(schema));
  }));
  std::unique_lock lock(mu_);
  tables_[schema.name] = std::make_shared<const TableSchema>(schema);
  return Status::OK();
}

Status Catalog::StoreIn(Transaction& txn, const TableSchema& schema) {
  return txn.Put(kCatalogTable, schema.name, EncodeTableSchema(schema));
}

void Catalog::Publish(const TableSchema& schema) {
  std::unique_lock lock(mu_);
  tables_[schema.name] = std::make_shared<const TableSchema>(schema);
}

std::shared_ptr<const TableSchema> Catalog::FindIndexTable(std::string_view index) const {
  std::shared_lock lock(mu_);
  for (const auto& [name, schema] : tables_) {
    if (schema->FindIndex(index) != nullptr) return schema;
  }
  return nullptr;
}

bool Catalog::RelationExists(std::string_view name) const {
  return Find(name) != nullptr || FindIndexTable(name) != nullptr;
}

Status Catalog::Remove(std::string_view table) {
  MVDB_RETURN_IF_ERROR(
      db_->Run([&](Transaction& txn) { return txn.Delete(kCatalogTable, table); }));
  std::unique_lock lock(mu_);
  auto it = tables_.find(table);
  if (it != tables_.end()) tables_.erase(it);
  return Status::OK();
}

}  // namespace mvdb::sql
