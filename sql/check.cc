// CheckRows (sql/check.h).
#include "sql/check.h"

#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "btree/btree.h"
#include "mvcc/version_store.h"
#include "sql/catalog.h"
#include "sql/index.h"
#include "sql/key_codec.h"
#include "sql/parser.h"
#include "sql/row_codec.h"

namespace mvdb::sql {

namespace {

std::string Hex(std::string_view bytes) {
  std::string out = "x'";
  char buf[4];
  for (char c : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned char>(c));
    out += buf;
  }
  return out + "'";
}

// The key as its columns' values, "(1, 'a')", or its bytes when they do
// not decode.
std::string KeyText(std::string_view key, std::span<const KeyColumn> columns) {
  std::string_view in = key;
  Result<std::vector<Value>> values = DecodeCompositeKey(&in, columns);
  if (!values.ok() || !in.empty()) return Hex(key);
  std::string out = "(";
  for (size_t i = 0; i < values->size(); ++i) {
    if (i > 0) out += ", ";
    out += LiteralToString((*values)[i]);
  }
  return out + ")";
}

// Calls visit(key, value) for every live (not tombstoned) version entry of
// `tree`; a malformed entry goes to `bad`.
template <typename Visit, typename Bad>
Status ForEachLive(BTree* tree, Visit visit, Bad bad) {
  const std::unique_ptr<BTreeCursor> cursor = tree->NewCursor();
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    const std::string_view key = cursor->key();
    Result<EntryView> entry = DecodeEntry(cursor->value(), key);
    if (!entry.ok()) {
      bad(key, std::string(entry.status().message()));
      continue;
    }
    if (!entry->tombstone) visit(key, entry->value);
  }
  return cursor->status();
}

class RowChecker {
 public:
  explicit RowChecker(TreeStore* store) : store_(store) {}

  Result<RowCheckReport> Run() {
    Result<BTree*> catalog = store_->OpenTree(kCatalogTable);
    if (catalog.status().IsNotFound()) return report_;
    MVDB_RETURN_IF_ERROR(catalog.status());
    std::vector<TableSchema> schemas;
    MVDB_RETURN_IF_ERROR(ForEachLive(
        *catalog,
        [&](std::string_view key, std::string_view value) {
          Result<TableSchema> schema = DecodeTableSchema(value);
          if (!schema.ok()) {
            Problem("catalog row '" + std::string(key) +
                    "': " + std::string(schema.status().message()));
          } else if (schema->name != key) {
            Problem("catalog row '" + std::string(key) + "' describes table '" + schema->name +
                    "'");
          } else {
            schemas.push_back(std::move(*schema));
          }
        },
        [&](std::string_view key, const std::string& what) {
          Problem("catalog row '" + std::string(key) + "': " + what);
        }));
    for (const TableSchema& schema : schemas) MVDB_RETURN_IF_ERROR(CheckTable(schema));
    return report_;
  }

 private:
  void Problem(std::string line) { report_.problems.push_back(std::move(line)); }

  Status CheckTable(const TableSchema& schema) {
    ++report_.tables;
    unreadable_.clear();
    Result<BTree*> tree = store_->OpenTree(schema.name);
    if (tree.status().IsNotFound()) {
      Problem("table " + schema.name + ": the catalog lists it but its tree is missing");
      return Status::OK();
    }
    MVDB_RETURN_IF_ERROR(tree.status());
    const std::vector<TypeId> types = schema.ColumnTypes();
    const std::vector<KeyColumn> key_columns = schema.KeyColumns();
    // Per index: the entry keys and claims the rows call for.
    std::vector<std::set<std::string>> entries(schema.indexes.size());
    std::vector<std::map<std::string, std::string>> claims(schema.indexes.size());
    const std::string table = "table " + schema.name + ", key ";
    MVDB_RETURN_IF_ERROR(ForEachLive(
        *tree,
        [&](std::string_view key, std::string_view value) {
          ++report_.rows;
          const std::string where = table + KeyText(key, key_columns) + ": ";
          Result<DecodedRow> row = DecodeRow(value, types);
          if (!row.ok()) {
            Problem(where + std::string(row.status().message()));
            unreadable_.insert(std::string(key));
            return;
          }
          if (row->schema_version > schema.schema_version) {
            Problem(where + "written under schema version " + std::to_string(row->schema_version) +
                    ", newer than the table's " + std::to_string(schema.schema_version));
          }
          if (std::string problem = CheckRowValues(schema, row->columns, key, key_columns);
              !problem.empty()) {
            Problem(where + problem);
            return;
          }
          for (size_t i = 0; i < schema.indexes.size(); ++i) {
            const IndexSchema& index = schema.indexes[i];
            const std::string values = IndexValuesKey(index, row->columns);
            entries[i].insert(values + std::string(key));
            if (index.unique && !HasNullIndexValue(index, row->columns)) {
              if (!claims[i].emplace(values, std::string(key)).second) {
                Problem(where + "holds the same values as another row in unique index " +
                        index.name);
              }
            }
          }
        },
        [&](std::string_view key, const std::string& what) {
          Problem(table + KeyText(key, key_columns) + ": " + what);
          unreadable_.insert(std::string(key));
        }));
    for (size_t i = 0; i < schema.indexes.size(); ++i) {
      MVDB_RETURN_IF_ERROR(
          CheckIndex(schema, schema.indexes[i], key_columns, &entries[i], &claims[i]));
    }
    return Status::OK();
  }

  // What is wrong with a decoded row's values, or "".
  static std::string CheckRowValues(const TableSchema& schema, const std::vector<Value>& values,
                                    std::string_view key,
                                    const std::vector<KeyColumn>& key_columns) {
    for (size_t c = 0; c < schema.columns.size(); ++c) {
      const ColumnSchema& column = schema.columns[c];
      if (column.not_null && values[c].is_null()) {
        return "column " + column.name + " is NULL but declared NOT NULL";
      }
    }
    if (!schema.has_primary_key()) {
      std::string_view in = key;
      Result<std::vector<Value>> id = DecodeCompositeKey(&in, key_columns);
      if (!id.ok() || !in.empty()) return "the key is not a row id";
      return "";
    }
    std::vector<Value> key_values;
    for (int c : schema.primary_key) key_values.push_back(values[c]);
    std::string expected;
    const Status encoded = AppendCompositeKey(key_values, key_columns, &expected);
    if (!encoded.ok() || expected != key) {
      return "the row's primary key columns do not give its key (they give " +
             (encoded.ok() ? KeyText(expected, key_columns) : std::string(encoded.message())) + ")";
    }
    return "";
  }

  Status CheckIndex(const TableSchema& schema, const IndexSchema& index,
                    const std::vector<KeyColumn>& key_columns, std::set<std::string>* entries,
                    std::map<std::string, std::string>* claims) {
    const std::string where = "index " + index.name + " of table " + schema.name + ", ";
    Result<BTree*> tree = store_->OpenTree(IndexTableName(index.name));
    if (tree.status().IsNotFound()) {
      Problem(where + "its tree is missing");
      return Status::OK();
    }
    MVDB_RETURN_IF_ERROR(tree.status());
    MVDB_RETURN_IF_ERROR(ForEachLive(
        *tree,
        [&](std::string_view key, std::string_view value) {
          ++report_.index_entries;
          if (value == kEntryValue) {
            // The entries of a row that did not decode were reported with it.
            const size_t row_key = RowKeySize(key, index, schema);
            if (unreadable_.contains(std::string(key.substr(key.size() - row_key)))) return;
            if (entries->erase(std::string(key)) == 0) {
              Problem(where + "entry " + EntryText(key, index, schema, key_columns) +
                      ": no row of the table has it (a dangling index entry)");
            }
            return;
          }
          if (unreadable_.contains(std::string(value))) return;
          auto claim = claims->find(std::string(key));
          if (!index.unique || claim == claims->end()) {
            Problem(where + "claim " + KeyText(key, IndexColumns(index, schema)) + " for row " +
                    KeyText(value, key_columns) + ": no row of the table holds these values");
          } else if (claim->second != value) {
            Problem(where + "claim " + KeyText(key, IndexColumns(index, schema)) + " names row " +
                    KeyText(value, key_columns) + ", but row " +
                    KeyText(claim->second, key_columns) + " holds the values");
            claims->erase(claim);
          } else {
            claims->erase(claim);
          }
        },
        [&](std::string_view key, const std::string& what) {
          Problem(where + "entry " + Hex(key) + ": " + what);
        }));
    for (const std::string& missing : *entries) {
      const std::string_view row_key =
          std::string_view(missing).substr(missing.size() - RowKeySize(missing, index, schema));
      Problem("table " + schema.name + ", key " + KeyText(row_key, key_columns) +
              ": no entry in index " + index.name);
    }
    for (const auto& [values, row_key] : *claims) {
      Problem("table " + schema.name + ", key " + KeyText(row_key, key_columns) +
              ": no claim in unique index " + index.name);
    }
    return Status::OK();
  }

  static std::vector<KeyColumn> IndexColumns(const IndexSchema& index, const TableSchema& schema) {
    std::vector<KeyColumn> columns;
    for (int c : index.columns) columns.push_back({schema.columns[c].type, false});
    return columns;
  }

  // The length of the row key at the end of an index entry key.
  static size_t RowKeySize(std::string_view entry, const IndexSchema& index,
                           const TableSchema& schema) {
    std::string_view in = entry;
    if (!DecodeCompositeKey(&in, IndexColumns(index, schema)).ok()) return entry.size();
    return in.size();
  }

  // "(20) for row (2)", or the bytes when they do not decode.
  static std::string EntryText(std::string_view entry, const IndexSchema& index,
                               const TableSchema& schema,
                               const std::vector<KeyColumn>& key_columns) {
    const size_t row_key = RowKeySize(entry, index, schema);
    if (row_key == entry.size()) return Hex(entry);
    return KeyText(entry.substr(0, entry.size() - row_key), IndexColumns(index, schema)) +
           " for row " + KeyText(entry.substr(entry.size() - row_key), key_columns);
  }

  TreeStore* store_;
  RowCheckReport report_;
  // Keys of the current table's rows that did not decode.
  std::set<std::string> unreadable_;
};

}  // namespace

Result<RowCheckReport> CheckRows(TreeStore* store) { return RowChecker(store).Run(); }

}  // namespace mvdb::sql
