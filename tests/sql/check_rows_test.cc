// The SQL level of `mvdb check` (sql/check.h, issue 11 item 10): every row
// decoded against the catalog, every index entry matched with its row and
// back. The damage is made through the storage engine's API, under the SQL
// layer, as a bug or a bad byte that kept its page checksum would leave it.
#include "sql/check.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "mvcc/version_store.h"
#include "sql/catalog.h"
#include "sql/index.h"
#include "sql/key_codec.h"
#include "sql/row_codec.h"
#include "tests/sql/session_test_util.h"

namespace mvdb::sql {
namespace {

class CheckRowsTest : public testing::SqlTest {
 protected:
  // CheckDatabase with the row check, as `mvdb check` runs it.
  Status Check(std::string* report, RowCheckReport* rows) {
    return CheckDatabase(
        dir_.path(), report, nullptr, nullptr, [&](TreeStore* store, std::string* lines) {
          MVDB_ASSIGN_OR_RETURN(*rows, CheckRows(store));
          for (const std::string& p : rows->problems) *lines += p + "\n";
          return rows->problems.empty() ? Status::OK() : Status::Corruption(rows->problems[0]);
        });
  }

  static std::string RowKey(int64_t id) {
    std::string key;
    const Value values[] = {Value::Int(id)};
    const KeyColumn columns[] = {KeyColumn{TypeId::kInt, false}};
    EXPECT_TRUE(AppendCompositeKey(values, columns, &key).ok());
    return key;
  }
};

TEST_F(CheckRowsTest, FindsABadRowAndADanglingIndexEntry) {
  Ok("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, n int)");
  Ok("CREATE INDEX t_n ON t (n)");
  Ok("CREATE UNIQUE INDEX t_name ON t (name)");
  Ok("INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', NULL)");
  Ok("DELETE FROM t WHERE id = 3");
  Close();

  std::string report;
  RowCheckReport rows;
  ASSERT_TRUE(Check(&report, &rows).ok()) << report;
  EXPECT_EQ(rows.tables, 1u);
  EXPECT_EQ(rows.rows, 2u);
  EXPECT_EQ(rows.index_entries, 6u);  // two entries in each index, two claims

  {
    EngineOptions options;
    options.background_checkpoints = false;
    auto engine = Engine::Open(dir_.path(), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    std::string raw;
    ASSERT_TRUE((*engine)->Get("t", RowKey(2), &raw).ok());
    Result<EntryView> entry = DecodeEntry(raw, RowKey(2));
    ASSERT_TRUE(entry.ok());
    const Timestamp ts = entry->ts;
    TreeBatch batch;
    // Row 2's bytes no longer decode: a row of four columns in a table of
    // three.
    const Value four[] = {Value::Int(2), Value::Text("b"), Value::Int(20), Value::Int(0)};
    batch.Put("t", RowKey(2), EncodeEntry(ts, false, EncodeRow(1, four)));
    // An entry of index t_n for a row 99 that does not exist.
    std::string dangling;
    AppendKey(Value::Int(40), false, &dangling);
    dangling += RowKey(99);
    batch.Put(IndexTableName("t_n"), dangling, EncodeEntry(ts, false, kEntryValue));
    ASSERT_TRUE((*engine)->Write(batch).ok());
    ASSERT_TRUE((*engine)->Close().ok());
  }

  const Status checked = Check(&report, &rows);
  EXPECT_TRUE(checked.IsCorruption()) << report;
  // Row 2 does not decode (its entries are not reported again), and the
  // entry for row 99 dangles.
  EXPECT_EQ(rows.problems.size(), 2u) << report;
  auto mentions = [&](const std::string& text) { return report.find(text) != std::string::npos; };
  EXPECT_TRUE(mentions("table t, key (2): row: column count 4 exceeds the table's 3 columns"))
      << report;
  EXPECT_TRUE(
      mentions("index t_n of table t, entry (40) for row (99): no row of the table has "
               "it (a dangling index entry)"))
      << report;
}

TEST_F(CheckRowsTest, FindsARowMissingFromAnIndexAndAKeyThatIsNotItsRow) {
  Ok("CREATE TABLE u (id int PRIMARY KEY, v text)");
  Ok("CREATE INDEX u_v ON u (v)");
  Ok("INSERT INTO u VALUES (1, 'x'), (2, 'y')");
  Close();
  {
    EngineOptions options;
    options.background_checkpoints = false;
    auto engine = Engine::Open(dir_.path(), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    std::string raw;
    ASSERT_TRUE((*engine)->Get("u", RowKey(1), &raw).ok());
    const Timestamp ts = DecodeEntry(raw, RowKey(1))->ts;
    TreeBatch batch;
    // Row 1's entry in u_v is gone; row 2's bytes say id 7.
    std::string entry;
    AppendKey(Value::Text("x"), false, &entry);
    entry += RowKey(1);
    batch.Delete(IndexTableName("u_v"), entry);
    const Value seven[] = {Value::Int(7), Value::Text("y")};
    batch.Put("u", RowKey(2), EncodeEntry(ts, false, EncodeRow(1, seven)));
    ASSERT_TRUE((*engine)->Write(batch).ok());
    ASSERT_TRUE((*engine)->Close().ok());
  }
  std::string report;
  RowCheckReport rows;
  EXPECT_TRUE(Check(&report, &rows).IsCorruption()) << report;
  EXPECT_NE(report.find("table u, key (1): no entry in index u_v"), std::string::npos) << report;
  EXPECT_NE(report.find("table u, key (2): the row's primary key columns do not give its key"),
            std::string::npos)
      << report;
}

}  // namespace
}  // namespace mvdb::sql
