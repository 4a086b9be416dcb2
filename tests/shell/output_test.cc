// The shell's result layouts (shell/output.h) against what psql and
// PostgreSQL 15 print: float8out's shortest exact floats, the aligned table
// with its centered header and trailing space, the "+" of a multi-line
// cell, the expanded record header, and CSV's NULL versus empty string.
#include "shell/output.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

namespace mvdb::shell {
namespace {

TEST(FormatFloatTest, PrintsWhatPostgresFloat8OutPrints) {
  EXPECT_EQ(FormatFloat(1.5), "1.5");
  EXPECT_EQ(FormatFloat(0.1), "0.1");
  EXPECT_EQ(FormatFloat(1.0), "1");
  EXPECT_EQ(FormatFloat(-0.0), "-0");
  EXPECT_EQ(FormatFloat(1e16), "1e+16");
  EXPECT_EQ(FormatFloat(1e15), "1e+15");
  EXPECT_EQ(FormatFloat(123456789012345.0), "123456789012345");
  EXPECT_EQ(FormatFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatFloat(0.00001), "1e-05");
  EXPECT_EQ(FormatFloat(-2.5e-07), "-2.5e-07");
  EXPECT_EQ(FormatFloat(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(FormatFloat(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_EQ(FormatFloat(std::nan("")), "NaN");
}

TEST(FormatValueTest, BooleansIntegersTextAndNull) {
  EXPECT_EQ(FormatValue(sql::Value::Bool(true)), "t");
  EXPECT_EQ(FormatValue(sql::Value::Bool(false)), "f");
  EXPECT_EQ(FormatValue(sql::Value::Int(std::numeric_limits<int64_t>::min())),
            "-9223372036854775808");
  EXPECT_EQ(FormatValue(sql::Value::Text("a b")), "a b");
  EXPECT_EQ(FormatValue(sql::Value::Null()), "");
}

sql::ResultSet SampleRows() {
  sql::ResultSet rows;
  rows.columns = {"id", "owner"};
  rows.types = {sql::TypeId::kInt, sql::TypeId::kText};
  rows.rows = {{sql::Value::Int(1), sql::Value::Text("alice")},
               {sql::Value::Int(22), sql::Value::Null()},
               {sql::Value::Int(3), sql::Value::Text("")}};
  return rows;
}

TEST(PrintTableTest, AlignedAsPsql) {
  std::ostringstream out;
  PrintTable(ToTextTable(SampleRows()), OutputOptions{}, out);
  EXPECT_EQ(out.str(),
            " id | owner \n"
            "----+-------\n"
            "  1 | alice\n"
            " 22 | \n"
            "  3 | \n"
            "(3 rows)\n"
            "\n");
}

TEST(PrintTableTest, MultiLineCellsCarryAPlus) {
  TextTable table;
  table.columns = {"a", "b"};
  table.right_aligned = {false, false};
  table.rows = {{"x\nyy", "z"}};
  std::ostringstream out;
  PrintTable(table, OutputOptions{}, out);
  EXPECT_EQ(out.str(),
            " a  | b \n"
            "----+---\n"
            " x +| z\n"
            " yy | \n"
            "(1 row)\n"
            "\n");
}

TEST(PrintTableTest, ExpandedAsPsqlWithBorderOne) {
  OutputOptions options;
  options.expanded = true;
  std::ostringstream out;
  PrintTable(ToTextTable(SampleRows()), options, out);
  EXPECT_EQ(out.str(),
            "-[ RECORD 1 ]\n"
            "id    | 1\n"
            "owner | alice\n"
            "-[ RECORD 2 ]\n"
            "id    | 22\n"
            "owner | \n"
            "-[ RECORD 3 ]\n"
            "id    | 3\n"
            "owner | \n"
            "\n");
  std::ostringstream empty;
  sql::ResultSet none = SampleRows();
  none.rows.clear();
  PrintTable(ToTextTable(none), options, empty);
  EXPECT_EQ(empty.str(), "(0 rows)\n\n");
}

TEST(PrintTableTest, CsvTellsNullFromTheEmptyString) {
  OutputOptions options;
  options.csv = true;
  sql::ResultSet rows = SampleRows();
  std::vector<sql::Value> quoted;
  quoted.push_back(sql::Value::Int(4));
  quoted.push_back(sql::Value::Text("say \"hi\", twice\n"));
  rows.rows.push_back(std::move(quoted));
  std::ostringstream out;
  PrintTable(ToTextTable(rows), options, out);
  EXPECT_EQ(out.str(),
            "id,owner\n"
            "1,alice\n"
            "22,\n"
            "3,\"\"\n"
            "4,\"say \"\"hi\"\", twice\n\"\n");
}

TEST(PrintStatementResultTest, TagsUnlessQuietTablesAlways) {
  sql::StatementResult insert{"INSERT 0 1", std::nullopt};
  std::ostringstream out;
  PrintStatementResult(insert, OutputOptions{}, out);
  EXPECT_EQ(out.str(), "INSERT 0 1\n");
  OutputOptions quiet;
  quiet.quiet = true;
  std::ostringstream silent;
  PrintStatementResult(insert, quiet, silent);
  EXPECT_EQ(silent.str(), "");
  std::ostringstream table;
  PrintStatementResult(sql::StatementResult{"SELECT 3", SampleRows()}, quiet, table);
  EXPECT_NE(table.str().find("(3 rows)"), std::string::npos);
  EXPECT_EQ(table.str().find("SELECT 3"), std::string::npos);
}

TEST(FormatErrorTest, TwoSpacesThenSqlstate) {
  EXPECT_EQ(FormatError({"40001", "could not serialize access due to concurrent update"}),
            "ERROR:  40001 could not serialize access due to concurrent update");
}

}  // namespace
}  // namespace mvdb::shell
