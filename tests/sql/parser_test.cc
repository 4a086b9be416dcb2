// Tests of the SQL lexer and parser (sql/lexer.h, sql/parser.h): every
// statement form of docs/sql.md, operator precedence, names and
// quoting, comments, scripts, errors with their SQLSTATE and place, the
// shell's statement splitter, and every step of the Hermitage specs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sql/lexer.h"
#include "sql/parser.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::sql {
namespace {

std::vector<Statement> ParseOk(std::string_view text) {
  ParseError error;
  Result<std::vector<Statement>> result = ParseScript(text, &error);
  EXPECT_TRUE(result.ok()) << text << "\n  -> " << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

// The one statement of `text`, as T.
template <typename T>
const T& ParseOne(std::string_view text, std::vector<Statement>* keep) {
  *keep = ParseOk(text);
  static const T kEmpty{};
  if (keep->size() != 1) {
    ADD_FAILURE() << text << ": " << keep->size() << " statements";
    return kEmpty;
  }
  const T* node = std::get_if<T>(&keep->front().node);
  if (node == nullptr) {
    ADD_FAILURE() << text << ": another statement kind, index " << keep->front().node.index();
    return kEmpty;
  }
  return *node;
}

// The expression `text` fully parenthesized.
std::string Expr(std::string_view text) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>("SELECT " + std::string(text), &keep);
  if (select.items.size() != 1 || select.items[0].expr == nullptr) return "<no expression>";
  return ExprToString(*select.items[0].expr);
}

ParseError ParseFails(std::string_view text) {
  ParseError error;
  Result<std::vector<Statement>> result = ParseScript(text, &error);
  EXPECT_FALSE(result.ok()) << text << " parsed";
  if (!result.ok()) {
    EXPECT_FALSE(error.message.empty());
    // The Status carries the same message and the place.
    EXPECT_EQ(result.status().message(), error.message + " (line " + std::to_string(error.line) +
                                             ", column " + std::to_string(error.column) + ")");
  }
  return error;
}

// --- Data definition --------------------------------------------------------

TEST(ParserTest, CreateTableWithColumnConstraints) {
  std::vector<Statement> keep;
  const CreateTable& create = ParseOne<CreateTable>(
      "CREATE TABLE accounts (id bigint PRIMARY KEY, name varchar(20) NOT NULL UNIQUE, "
      "balance double precision, active boolean, note text NULL)",
      &keep);
  EXPECT_EQ(create.table, "accounts");
  ASSERT_EQ(create.columns.size(), 5u);
  EXPECT_EQ(create.columns[0].name, "id");
  EXPECT_EQ(create.columns[0].type, TypeId::kInt);
  EXPECT_TRUE(create.columns[0].primary_key);
  EXPECT_EQ(create.columns[1].type, TypeId::kText);
  EXPECT_EQ(create.columns[1].max_length, 20);
  EXPECT_TRUE(create.columns[1].not_null);
  EXPECT_TRUE(create.columns[1].unique);
  EXPECT_FALSE(create.columns[1].primary_key);
  EXPECT_EQ(create.columns[2].type, TypeId::kFloat);
  EXPECT_EQ(create.columns[3].type, TypeId::kBool);
  EXPECT_EQ(create.columns[4].type, TypeId::kText);
  EXPECT_EQ(create.columns[4].max_length, -1);
  EXPECT_FALSE(create.columns[4].not_null);
  EXPECT_EQ(create.primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(create.columns[1].pos.column, 47u);
}

TEST(ParserTest, CreateTableWithCompositeKeyAndWithout) {
  std::vector<Statement> keep;
  const CreateTable& composite =
      ParseOne<CreateTable>("create table t (a int, b text, c real, primary key (b, a))", &keep);
  EXPECT_EQ(composite.primary_key, (std::vector<std::string>{"b", "a"}));
  EXPECT_FALSE(composite.columns[0].primary_key);
  const CreateTable& keyless = ParseOne<CreateTable>("CREATE TABLE log (line text)", &keep);
  EXPECT_TRUE(keyless.primary_key.empty());
}

TEST(ParserTest, EveryTypeSpelling) {
  const std::pair<const char*, TypeId> kTypes[] = {
      {"int", TypeId::kInt},
      {"integer", TypeId::kInt},
      {"bigint", TypeId::kInt},
      {"text", TypeId::kText},
      {"varchar", TypeId::kText},
      {"varchar(5)", TypeId::kText},
      {"character varying(3)", TypeId::kText},
      {"boolean", TypeId::kBool},
      {"bool", TypeId::kBool},
      {"double precision", TypeId::kFloat},
      {"float", TypeId::kFloat},
      {"float8", TypeId::kFloat},
      {"real", TypeId::kFloat},
      {"INTEGER", TypeId::kInt},
      {"DOUBLE   PRECISION", TypeId::kFloat},
  };
  for (const auto& [spelling, type] : kTypes) {
    std::vector<Statement> keep;
    const CreateTable& create =
        ParseOne<CreateTable>("CREATE TABLE t (c " + std::string(spelling) + ")", &keep);
    ASSERT_EQ(create.columns.size(), 1u) << spelling;
    EXPECT_EQ(create.columns[0].type, type) << spelling;
  }
  ParseError unknown = ParseFails("CREATE TABLE t (a int, b money)");
  EXPECT_EQ(unknown.sqlstate, "42704");
  EXPECT_EQ(unknown.message, "type \"money\" does not exist");
  EXPECT_EQ(unknown.column, 26u);
  EXPECT_EQ(ParseFails("CREATE TABLE t (a varchar(0))").sqlstate, "22023");
  EXPECT_EQ(ParseFails("CREATE TABLE t (a double)").sqlstate, "42704");
}

TEST(ParserTest, TwoPrimaryKeysAreRefused) {
  ParseError error = ParseFails("CREATE TABLE t (a int PRIMARY KEY, b int PRIMARY KEY)");
  EXPECT_EQ(error.sqlstate, "42P16");
  EXPECT_EQ(error.message, "multiple primary keys for table \"t\" are not allowed");
  EXPECT_EQ(error.column, 42u);
  EXPECT_EQ(ParseFails("CREATE TABLE t (a int PRIMARY KEY, PRIMARY KEY (a))").sqlstate, "42P16");
}

TEST(ParserTest, DropAlterAndIndexes) {
  std::vector<Statement> keep;
  const DropTable& drop = ParseOne<DropTable>("DROP TABLE t", &keep);
  EXPECT_EQ(drop.table, "t");
  EXPECT_FALSE(drop.if_exists);
  EXPECT_TRUE(ParseOne<DropTable>("drop table if exists t", &keep).if_exists);

  const CreateIndex& index = ParseOne<CreateIndex>("CREATE INDEX t_b ON t (b, a)", &keep);
  EXPECT_EQ(index.index, "t_b");
  EXPECT_EQ(index.table, "t");
  EXPECT_EQ(index.columns, (std::vector<std::string>{"b", "a"}));
  EXPECT_FALSE(index.unique);
  EXPECT_TRUE(ParseOne<CreateIndex>("CREATE UNIQUE INDEX u ON t (a)", &keep).unique);

  const DropIndex& drop_index = ParseOne<DropIndex>("DROP INDEX IF EXISTS t_b", &keep);
  EXPECT_EQ(drop_index.index, "t_b");
  EXPECT_TRUE(drop_index.if_exists);

  const AddColumn& add = ParseOne<AddColumn>("ALTER TABLE t ADD COLUMN c text", &keep);
  EXPECT_EQ(add.table, "t");
  EXPECT_EQ(add.column.name, "c");
  EXPECT_EQ(add.column.type, TypeId::kText);
  EXPECT_EQ(ParseOne<AddColumn>("ALTER TABLE t ADD d boolean", &keep).column.type, TypeId::kBool);
}

// --- Data manipulation ------------------------------------------------------

TEST(ParserTest, InsertRows) {
  std::vector<Statement> keep;
  const Insert& insert =
      ParseOne<Insert>("INSERT INTO test (id, value) VALUES (1, 10), (2, -20), (3, NULL)", &keep);
  EXPECT_EQ(insert.table, "test");
  EXPECT_EQ(insert.columns, (std::vector<std::string>{"id", "value"}));
  ASSERT_EQ(insert.rows.size(), 3u);
  EXPECT_EQ(insert.rows[1][1]->literal, Value::Int(-20));
  EXPECT_TRUE(insert.rows[2][1]->literal.is_null());

  const Insert& all_columns =
      ParseOne<Insert>("insert into t values ('it''s', 1.5, true, 2 * 3)", &keep);
  EXPECT_TRUE(all_columns.columns.empty());
  ASSERT_EQ(all_columns.rows.size(), 1u);
  ASSERT_EQ(all_columns.rows[0].size(), 4u);
  EXPECT_EQ(all_columns.rows[0][0]->literal, Value::Text("it's"));
  EXPECT_EQ(all_columns.rows[0][1]->literal, Value::Float(1.5));
  EXPECT_EQ(all_columns.rows[0][2]->literal, Value::Bool(true));
  EXPECT_EQ(ExprToString(*all_columns.rows[0][3]), "(2 * 3)");

  ParseError ragged = ParseFails("INSERT INTO t VALUES (1, 2), (3)");
  EXPECT_EQ(ragged.message, "VALUES lists must all be the same length");
  EXPECT_EQ(ragged.column, 30u);
  EXPECT_EQ(ParseFails("INSERT INTO t (a) VALUES (1, 2)").message,
            "INSERT has more expressions than target columns");
  EXPECT_EQ(ParseFails("INSERT INTO t (a, b) VALUES (1)").message,
            "INSERT has more target columns than expressions");
}

TEST(ParserTest, SelectWithEveryClause) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>(
      "SELECT a, count(*), sum(b) AS total FROM t WHERE a > 1 GROUP BY a "
      "ORDER BY a DESC, 2 ASC NULLS FIRST LIMIT 10 OFFSET 5 FOR UPDATE",
      &keep);
  ASSERT_EQ(select.items.size(), 3u);
  EXPECT_EQ(select.items[0].output_name, "a");
  EXPECT_EQ(select.items[1].output_name, "count");
  EXPECT_EQ(select.items[1].expr->kind, ExprKind::kAggregate);
  EXPECT_TRUE(select.items[1].expr->operands.empty());
  EXPECT_EQ(select.items[2].output_name, "total");
  EXPECT_EQ(select.table, "t");
  ASSERT_NE(select.where, nullptr);
  EXPECT_EQ(ExprToString(*select.where), "(a > 1)");
  ASSERT_EQ(select.group_by.size(), 1u);
  ASSERT_EQ(select.order_by.size(), 2u);
  EXPECT_TRUE(select.order_by[0].descending);
  EXPECT_FALSE(select.order_by[0].nulls_first.has_value());
  EXPECT_FALSE(select.order_by[1].descending);
  EXPECT_EQ(select.order_by[1].nulls_first, true);
  EXPECT_EQ(select.limit, 10);
  EXPECT_EQ(select.offset, 5);
  EXPECT_TRUE(select.for_update);

  const Select& star = ParseOne<Select>("select * from test", &keep);
  ASSERT_EQ(star.items.size(), 1u);
  EXPECT_TRUE(star.items[0].is_star());
  EXPECT_EQ(star.where, nullptr);
  EXPECT_FALSE(star.limit.has_value());
  EXPECT_FALSE(star.for_update);

  const Select& no_from = ParseOne<Select>("SELECT 1+1", &keep);
  EXPECT_TRUE(no_from.table.empty());
  EXPECT_EQ(no_from.items[0].output_name, "?column?");

  const Select& offset_first = ParseOne<Select>("SELECT a FROM t OFFSET 2 LIMIT ALL", &keep);
  EXPECT_EQ(offset_first.offset, 2);
  EXPECT_FALSE(offset_first.limit.has_value());
  EXPECT_EQ(ParseFails("SELECT a FROM t LIMIT -1").sqlstate, "2201W");
  EXPECT_EQ(ParseFails("SELECT a FROM t LIMIT 1 LIMIT 2").sqlstate, "42601");
}

TEST(ParserTest, OutputColumnNames) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>(
      "SELECT t.a, (b), min(c), max(c), avg(c), count(c), -a, a + 1, 'x', true, 1 AS one, "
      "a \"Mixed\", 2 AS from FROM t",
      &keep);
  std::vector<std::string> names;
  for (const SelectItem& item : select.items) names.push_back(item.output_name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"a", "b", "min", "max", "avg", "count", "?column?",
                                      "?column?", "?column?", "bool", "one", "Mixed", "from"}));
  EXPECT_EQ(select.items[0].expr->table, "t");
}

TEST(ParserTest, UpdateAndDelete) {
  std::vector<Statement> keep;
  const Update& update =
      ParseOne<Update>("UPDATE test SET value = value + 10, id = 3 WHERE id = 2", &keep);
  EXPECT_EQ(update.table, "test");
  ASSERT_EQ(update.assignments.size(), 2u);
  EXPECT_EQ(update.assignments[0].column, "value");
  EXPECT_EQ(ExprToString(*update.assignments[0].value), "(value + 10)");
  EXPECT_EQ(update.assignments[1].column, "id");
  EXPECT_EQ(update.assignments[1].pos.column, 37u);
  ASSERT_NE(update.where, nullptr);
  EXPECT_EQ(ParseOne<Update>("update t set a = 1", &keep).where, nullptr);

  const Delete& del = ParseOne<Delete>("DELETE FROM test WHERE value = 20", &keep);
  EXPECT_EQ(del.table, "test");
  ASSERT_NE(del.where, nullptr);
  EXPECT_EQ(ParseOne<Delete>("delete from test", &keep).where, nullptr);
}

TEST(ParserTest, Explain) {
  std::vector<Statement> keep;
  const Explain& explain = ParseOne<Explain>("EXPLAIN SELECT * FROM t WHERE id = 1", &keep);
  ASSERT_NE(explain.statement, nullptr);
  EXPECT_NE(std::get_if<Select>(&explain.statement->node), nullptr);
  EXPECT_EQ(explain.statement->text, "SELECT * FROM t WHERE id = 1");
  EXPECT_EQ(explain.statement->pos.column, 9u);
  for (const char* inner :
       {"INSERT INTO t VALUES (1)", "UPDATE t SET a = 1", "DELETE FROM t WHERE a = 1"}) {
    ParseOne<Explain>("EXPLAIN " + std::string(inner), &keep);
  }
  EXPECT_EQ(ParseFails("EXPLAIN BEGIN").message, "syntax error at or near \"BEGIN\"");
}

// --- Transactions -----------------------------------------------------------

TEST(ParserTest, TransactionStatements) {
  struct Case {
    const char* text;
    size_t index;  // in StatementNode
    std::optional<IsolationLevel> level;
  };
  const size_t kBegin = StatementNode(Begin{}).index();
  const size_t kCommit = StatementNode(Commit{}).index();
  const size_t kRollback = StatementNode(Rollback{}).index();
  const Case kCases[] = {
      {"BEGIN", kBegin, std::nullopt},
      {"begin transaction", kBegin, std::nullopt},
      {"BEGIN WORK", kBegin, std::nullopt},
      {"BEGIN ISOLATION LEVEL REPEATABLE READ", kBegin, IsolationLevel::kRepeatableRead},
      {"begin transaction isolation level read committed", kBegin, IsolationLevel::kReadCommitted},
      {"START TRANSACTION", kBegin, std::nullopt},
      {"START TRANSACTION ISOLATION LEVEL SERIALIZABLE", kBegin, IsolationLevel::kSerializable},
      {"BEGIN ISOLATION LEVEL READ UNCOMMITTED", kBegin, IsolationLevel::kReadUncommitted},
      {"COMMIT", kCommit, std::nullopt},
      {"COMMIT WORK", kCommit, std::nullopt},
      {"end", kCommit, std::nullopt},
      {"ROLLBACK", kRollback, std::nullopt},
      {"ROLLBACK WORK", kRollback, std::nullopt},
      {"ABORT", kRollback, std::nullopt},
  };
  for (const Case& c : kCases) {
    std::vector<Statement> statements = ParseOk(c.text);
    ASSERT_EQ(statements.size(), 1u) << c.text;
    EXPECT_EQ(statements[0].node.index(), c.index) << c.text;
    if (const Begin* begin = std::get_if<Begin>(&statements[0].node)) {
      EXPECT_EQ(begin->isolation, c.level) << c.text;
    }
  }
  EXPECT_EQ(ParseFails("START WORK").message, "syntax error at or near \"WORK\"");
  EXPECT_EQ(ParseFails("BEGIN ISOLATION LEVEL READ").message, "syntax error at end of input");
}

TEST(ParserTest, IsolationSettingsAndShow) {
  std::vector<Statement> keep;
  const SetIsolation& set =
      ParseOne<SetIsolation>("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", &keep);
  EXPECT_EQ(set.level, IsolationLevel::kRepeatableRead);
  EXPECT_FALSE(set.session_default);
  const SetIsolation& session = ParseOne<SetIsolation>(
      "set session characteristics as transaction isolation level read committed", &keep);
  EXPECT_EQ(session.level, IsolationLevel::kReadCommitted);
  EXPECT_TRUE(session.session_default);
  EXPECT_EQ(ParseOne<Show>("SHOW transaction_isolation", &keep).name, "transaction_isolation");
  EXPECT_EQ(ParseOne<Show>("SHOW TRANSACTION ISOLATION LEVEL", &keep).name,
            "transaction_isolation");
}

// --- Expressions ------------------------------------------------------------

TEST(ParserTest, PostgresPrecedence) {
  EXPECT_EQ(Expr("a OR b AND NOT c = d + e * -f"), "(a OR (b AND (NOT (c = (d + (e * (- f)))))))");
  EXPECT_EQ(Expr("a AND b OR c"), "((a AND b) OR c)");
  EXPECT_EQ(Expr("NOT a AND b"), "((NOT a) AND b)");
  EXPECT_EQ(Expr("NOT a IS NULL"), "(NOT (a IS NULL))");
  EXPECT_EQ(Expr("a = b IS NOT NULL"), "((a = b) IS NOT NULL)");
  EXPECT_EQ(Expr("a < b + 1 BETWEEN 0 AND 2"), "(a < ((b + 1) BETWEEN 0 AND 2))");
  EXPECT_EQ(Expr("x BETWEEN 1 AND 2 AND y"), "((x BETWEEN 1 AND 2) AND y)");
  EXPECT_EQ(Expr("a IN (1, 2) = b LIKE 'x%'"), "((a IN (1, 2)) = (b LIKE 'x%'))");
  EXPECT_EQ(Expr("a - b - c"), "((a - b) - c)");
  EXPECT_EQ(Expr("a / b * c % d"), "(((a / b) * c) % d)");
  EXPECT_EQ(Expr("a + b * c - d"), "((a + (b * c)) - d)");
  EXPECT_EQ(Expr("(a + b) * c"), "((a + b) * c)");
  EXPECT_EQ(Expr("- a * b"), "((- a) * b)");
  EXPECT_EQ(Expr("-(5)"), "(- (5))");
  EXPECT_EQ(Expr("- -5"), "(- (-5))");
  EXPECT_EQ(Expr("a <> b"), "(a <> b)");
  EXPECT_EQ(Expr("a != b"), "(a <> b)");
  EXPECT_EQ(Expr("a<=b"), "(a <= b)");
  EXPECT_EQ(Expr("a>=-1"), "(a >= -1)");
  // Unary plus binds like unary minus, and stays an operator on a number
  // (only -5 is a literal).
  EXPECT_EQ(Expr("+a"), "(+ a)");
  EXPECT_EQ(Expr("- +a * b"), "((- (+ a)) * b)");
  EXPECT_EQ(Expr("+ +1"), "(+ (+ (1)))");
  EXPECT_EQ(Expr("+(5)"), "(+ (5))");
  EXPECT_EQ(Expr("+5 - +2.5"), "((+ (5)) - (+ (2.5)))");
  EXPECT_EQ(Expr("- +5"), "(- (+ (5)))");
  EXPECT_EQ(Expr("a + + b"), "(a + (+ b))");
}

TEST(ParserTest, ComparisonsDoNotAssociate) {
  EXPECT_EQ(ParseFails("SELECT a = b = c").message, "syntax error at or near \"=\"");
  EXPECT_EQ(ParseFails("SELECT a < b > c").column, 14u);
  EXPECT_EQ(ParseFails("SELECT a IS NULL IS NULL").sqlstate, "42601");
  EXPECT_EQ(ParseFails("SELECT a IN (1) IN (2)").sqlstate, "42601");
  EXPECT_EQ(Expr("(a = b) = c"), "((a = b) = c)");
}

TEST(ParserTest, PredicateForms) {
  EXPECT_EQ(Expr("a IN (1, 2, 3)"), "(a IN (1, 2, 3))");
  EXPECT_EQ(Expr("a NOT IN ('x')"), "(a NOT IN ('x'))");
  EXPECT_EQ(Expr("a BETWEEN 1 AND 10"), "(a BETWEEN 1 AND 10)");
  EXPECT_EQ(Expr("a NOT BETWEEN b - 1 AND b + 1"), "(a NOT BETWEEN (b - 1) AND (b + 1))");
  EXPECT_EQ(Expr("name LIKE 'a%'"), "(name LIKE 'a%')");
  EXPECT_EQ(Expr("name NOT LIKE '_b'"), "(name NOT LIKE '_b')");
  EXPECT_EQ(Expr("a IS NULL"), "(a IS NULL)");
  EXPECT_EQ(Expr("a IS NOT NULL"), "(a IS NOT NULL)");
  EXPECT_EQ(Expr("sum(a * 2) / COUNT(*)"), "(sum((a * 2)) / count(*))");
  EXPECT_EQ(Expr("Max(a) + MIN(a) + avg(a) + count(a)"),
            "(((max(a) + min(a)) + avg(a)) + count(a))");
}

TEST(ParserTest, Literals) {
  EXPECT_EQ(Expr("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Expr("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(Expr("1.5"), "1.5");
  EXPECT_EQ(Expr(".25"), "0.25");
  EXPECT_EQ(Expr("2."), "2.0");
  EXPECT_EQ(Expr("1e3"), "1000.0");
  EXPECT_EQ(Expr("2.5E-3"), "0.0025");
  EXPECT_EQ(Expr("'it''s'"), "'it''s'");
  EXPECT_EQ(Expr("''"), "''");
  EXPECT_EQ(Expr("TRUE AND false"), "(TRUE AND FALSE)");
  EXPECT_EQ(Expr("NULL"), "NULL");

  ParseError too_big = ParseFails("SELECT 1 + 9223372036854775808");
  EXPECT_EQ(too_big.sqlstate, "22003");
  EXPECT_EQ(too_big.message, "value \"9223372036854775808\" is out of range for type bigint");
  EXPECT_EQ(too_big.column, 12u);
  EXPECT_EQ(ParseFails("SELECT -9223372036854775809").sqlstate, "22003");
  EXPECT_EQ(ParseFails("SELECT 1e400").sqlstate, "22003");
}

TEST(ParserTest, AggregatesOnly) {
  ParseError unknown = ParseFails("SELECT lower(a) FROM t");
  EXPECT_EQ(unknown.sqlstate, "42883");
  EXPECT_EQ(unknown.column, 8u);
  EXPECT_EQ(ParseFails("SELECT sum(*) FROM t").sqlstate, "42883");
  EXPECT_EQ(ParseFails("SELECT count() FROM t").sqlstate, "42883");
  EXPECT_EQ(ParseFails("SELECT max(a, b) FROM t").sqlstate, "42883");
}

TEST(ParserTest, Distinct) {
  std::vector<Statement> keep;
  EXPECT_TRUE(ParseOne<Select>("SELECT DISTINCT a FROM t", &keep).distinct);
  EXPECT_FALSE(ParseOne<Select>("SELECT ALL a FROM t", &keep).distinct);
  EXPECT_EQ(Expr("count(DISTINCT a) + sum(distinct a * 2)"),
            "(count(DISTINCT a) + sum(DISTINCT (a * 2)))");
  EXPECT_EQ(ParseFails("SELECT count(DISTINCT *) FROM t").message, "syntax error at or near \"*\"");
  const Select& on = ParseOne<Select>("SELECT DISTINCT ON (a, b + 1) a FROM t", &keep);
  EXPECT_FALSE(on.distinct);
  ASSERT_EQ(on.distinct_on.size(), 2u);
  EXPECT_EQ(ExprToString(*on.distinct_on[1]), "(b + 1)");
  EXPECT_EQ(ParseFails("SELECT DISTINCT ON a FROM t").message, "syntax error at or near \"a\"");
}

TEST(ParserTest, Having) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>(
      "SELECT a, count(*) FROM t WHERE b > 0 GROUP BY a HAVING count(*) > 1 ORDER BY 1", &keep);
  ASSERT_NE(select.having, nullptr);
  EXPECT_EQ(ExprToString(*select.having), "(count(*) > 1)");
  EXPECT_EQ(ParseFails("SELECT a FROM t HAVING").message, "syntax error at end of input");
  EXPECT_EQ(ParseFails("SELECT a FROM t HAVING a > 1 GROUP BY a").message,
            "syntax error at or near \"GROUP\"");
}

TEST(ParserTest, CaseFunctionsAndCasts) {
  EXPECT_EQ(Expr("CASE WHEN a > 1 THEN 'x' WHEN b THEN 'y' ELSE NULL END"),
            "CASE WHEN (a > 1) THEN 'x' WHEN b THEN 'y' ELSE NULL END");
  EXPECT_EQ(Expr("case a + 1 when 2 then b end"), "CASE (a + 1) WHEN 2 THEN b END");
  EXPECT_EQ(Expr("coalesce(a, b, 1) + nullif(a, 2) * abs(- b)"),
            "(coalesce(a, b, 1) + (nullif(a, 2) * abs((- b))))");
  EXPECT_EQ(Expr("CAST(a AS integer) + b::double precision"),
            "(CAST(a AS bigint) + CAST(b AS double precision))");
  // :: binds tighter than unary minus, also on a number.
  EXPECT_EQ(Expr("-a::text"), "(- CAST(a AS text))");
  EXPECT_EQ(Expr("-5::varchar(3)"), "(- CAST(5 AS varchar(3)))");
  EXPECT_EQ(Expr("a::bigint::text"), "CAST(CAST(a AS bigint) AS text)");

  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>(
      "SELECT CASE WHEN a THEN 1 END, CASE WHEN a THEN 1 ELSE b END, coalesce(a, 1), "
      "nullif(a, 1), abs(a), 1::int, 1::bigint, a::text, 'x'::varchar(2), true::int, "
      "CAST(1 AS double precision), 2::real FROM t",
      &keep);
  std::vector<std::string> names;
  for (const SelectItem& item : select.items) names.push_back(item.output_name);
  EXPECT_EQ(names, (std::vector<std::string>{"case", "b", "coalesce", "nullif", "abs", "int4",
                                             "int8", "a", "varchar", "int4", "float8", "float4"}));

  EXPECT_EQ(ParseFails("SELECT CASE END").message, "syntax error at or near \"END\"");
  EXPECT_EQ(ParseFails("SELECT CASE WHEN a THEN 1").message, "syntax error at end of input");
  EXPECT_EQ(ParseFails("SELECT nullif(a)").message, "syntax error at or near \")\"");
  EXPECT_EQ(ParseFails("SELECT nullif(a, b, c)").message, "syntax error at or near \",\"");
  EXPECT_EQ(ParseFails("SELECT coalesce()").message, "syntax error at or near \")\"");
  EXPECT_EQ(ParseFails("SELECT CAST(a AS nosuch)").sqlstate, "42704");
  EXPECT_EQ(ParseFails("SELECT CAST(a, text)").message, "syntax error at or near \",\"");
  EXPECT_EQ(ParseFails("SELECT a::").message, "syntax error at end of input");
}

TEST(ParserTest, SetOperations) {
  std::vector<Statement> keep;
  // INTERSECT binds tighter; UNION and EXCEPT associate to the left.
  const Select& select = ParseOne<Select>(
      "SELECT a FROM t UNION ALL SELECT b FROM u INTERSECT SELECT 1 EXCEPT (SELECT 2 LIMIT 1) "
      "ORDER BY 1 LIMIT 5",
      &keep);
  EXPECT_EQ(select.set_op, SetOp::kExcept);
  EXPECT_FALSE(select.set_all);
  EXPECT_EQ(select.order_by.size(), 1u);
  EXPECT_EQ(select.limit, 5);
  EXPECT_EQ(select.right->limit, 1);
  const Select& union_all = *select.left;
  EXPECT_EQ(union_all.set_op, SetOp::kUnion);
  EXPECT_TRUE(union_all.set_all);
  EXPECT_EQ(union_all.left->table, "t");
  EXPECT_EQ(union_all.right->set_op, SetOp::kIntersect);
  EXPECT_EQ(union_all.right->left->table, "u");

  EXPECT_EQ(ParseOne<Select>("(SELECT a FROM t)", &keep).table, "t");
  EXPECT_EQ(ParseFails("(SELECT a FROM t ORDER BY a) ORDER BY a").message,
            "multiple ORDER BY clauses not allowed");
  EXPECT_EQ(ParseFails("(SELECT a FROM t LIMIT 1) LIMIT 2").message,
            "multiple LIMIT clauses not allowed");
  EXPECT_EQ(ParseFails("SELECT a FROM t ORDER BY a UNION SELECT 1").message,
            "syntax error at or near \"UNION\"");
  EXPECT_EQ(ParseFails("SELECT 1 UNION").message, "syntax error at end of input");
}

TEST(ParserTest, QualifiedStar) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>("SELECT t.*, \"T\".*, *, t.a FROM t", &keep);
  ASSERT_EQ(select.items.size(), 4u);
  EXPECT_TRUE(select.items[0].is_star());
  EXPECT_EQ(select.items[0].star_table, "t");
  EXPECT_EQ(select.items[1].star_table, "T");
  EXPECT_TRUE(select.items[2].is_star());
  EXPECT_EQ(select.items[2].star_table, "");
  EXPECT_FALSE(select.items[3].is_star());
}

TEST(ParserTest, AggregateFilter) {
  EXPECT_EQ(Expr("count(*) FILTER (WHERE a > 1) + sum(DISTINCT b) filter (where c)"),
            "(count(*) FILTER (WHERE (a > 1)) + sum(DISTINCT b) FILTER (WHERE c))");
  EXPECT_EQ(Expr("count(a) filter"), "count(a)");  // an alias, not a FILTER clause
  EXPECT_EQ(ParseFails("SELECT count(*) FILTER (a)").message, "syntax error at or near \"a\"");
}

TEST(ParserTest, AllIsTheDefault) {
  EXPECT_EQ(Expr("ALL a"), "a");  // SELECT ALL a
  EXPECT_EQ(Expr("count(ALL a) + sum(all a * 2)"), "(count(a) + sum((a * 2)))");
  EXPECT_EQ(ParseFails("SELECT count(ALL *) FROM t").message, "syntax error at or near \"*\"");
  EXPECT_EQ(ParseFails("SELECT count(ALL) FROM t").message, "syntax error at or near \")\"");
}

TEST(ParserTest, ExpressionPositions) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>("SELECT a\n  + b * 3 FROM t WHERE c / 0 = 1", &keep);
  const sql::Expr& sum = *select.items[0].expr;
  EXPECT_EQ(sum.pos.line, 2u);
  EXPECT_EQ(sum.pos.column, 3u);  // the operator
  EXPECT_EQ(sum.operands[0]->pos.line, 1u);
  EXPECT_EQ(sum.operands[0]->pos.column, 8u);
  EXPECT_EQ(sum.operands[1]->operands[1]->pos.column, 9u);  // the 3
  const sql::Expr& division = *select.where->operands[0];
  EXPECT_EQ(division.pos.line, 2u);
  EXPECT_EQ(division.pos.column, 26u);
  EXPECT_EQ(division.pos.offset, 34u);
}

TEST(ParserTest, DeepNestingIsAnErrorNotACrash) {
  const int deep = kMaxExpressionDepth + 10;
  std::string parens = "SELECT " + std::string(deep, '(') + "1" + std::string(deep, ')');
  EXPECT_EQ(ParseFails(parens).sqlstate, "54001");
  std::string nots = "SELECT ";
  for (int i = 0; i < deep; ++i) nots += "NOT ";
  EXPECT_EQ(ParseFails(nots + "true").sqlstate, "54001");
  std::string chain = "SELECT 1";
  for (int i = 0; i < 100000; ++i) chain += "+1";
  EXPECT_EQ(ParseFails(chain).sqlstate, "54001");
  // Just inside the limit is fine.
  const int ok_depth = kMaxExpressionDepth / 2;
  EXPECT_EQ(
      ParseOk("SELECT " + std::string(ok_depth, '(') + "1" + std::string(ok_depth, ')')).size(),
      1u);
  // A long flat list is no nesting at all.
  std::string list = "SELECT 1 IN (0";
  for (int i = 0; i < 100000; ++i) list += ",1";
  EXPECT_EQ(ParseOk(list + ")").size(), 1u);
}

TEST(ParserTest, DeepQueriesAreAnErrorNotACrash) {
  // Parenthesized queries, and set operations nested on the right or
  // chained on the left (a tree as deep as the chain is long).
  const int deep = 20000;
  EXPECT_EQ(ParseFails(std::string(deep, '(') + "SELECT 1" + std::string(deep, ')')).sqlstate,
            "54001");
  std::string right = "SELECT 1";
  for (int i = 0; i < 5000; ++i) right += " UNION (SELECT 1";
  EXPECT_EQ(ParseFails(right + std::string(5000, ')')).sqlstate, "54001");
  std::string chain = "SELECT 1";
  for (int i = 0; i < 5000; ++i) chain += " UNION ALL SELECT 1";
  EXPECT_EQ(ParseFails(chain).sqlstate, "54001");
  // Within the limit is fine.
  std::string ok = "SELECT 1";
  for (int i = 1; i < kMaxQueryDepth; ++i) ok += " UNION ALL SELECT 1";
  EXPECT_EQ(ParseOk(ok).size(), 1u);
}

// --- Names, quoting, comments, scripts --------------------------------------

TEST(ParserTest, CaseFoldingAndQuotedIdentifiers) {
  std::vector<Statement> keep;
  const Select& select = ParseOne<Select>(
      "SeLeCt MixedCase, \"MixedCase\", \"with \"\"quote\"\"\", "
      "\"select\" FrOm \"Tab le\" WHERE ColA = 'KeepCase'",
      &keep);
  EXPECT_EQ(select.items[0].expr->column, "mixedcase");
  EXPECT_EQ(select.items[1].expr->column, "MixedCase");
  EXPECT_EQ(select.items[2].expr->column, "with \"quote\"");
  EXPECT_EQ(select.items[3].expr->column, "select");
  EXPECT_EQ(select.table, "Tab le");
  EXPECT_EQ(ExprToString(*select.where), "(cola = 'KeepCase')");
  EXPECT_EQ(ExprToString(*select.items[3].expr), "\"select\"");
  // Reserved words need quotes; others (value, key, level, text) do not.
  EXPECT_EQ(ParseFails("SELECT select FROM t").message, "syntax error at or near \"select\"");
  EXPECT_EQ(ParseFails("CREATE TABLE order (a int)").message, "syntax error at or near \"order\"");
  const CreateTable& create =
      ParseOne<CreateTable>("CREATE TABLE value (key int, level text, text text)", &keep);
  EXPECT_EQ(create.table, "value");
  EXPECT_EQ(create.columns[2].name, "text");
}

TEST(ParserTest, CommentsAndScripts) {
  std::vector<Statement> statements = ParseOk(
      "-- a comment; with a semicolon\n"
      "BEGIN; /* block /* nested; */ still comment */ SELECT 1 -- trailing\n"
      ";;\n"
      "INSERT INTO t VALUES (';--not a comment')  ;  COMMIT");
  ASSERT_EQ(statements.size(), 4u);
  EXPECT_NE(std::get_if<Begin>(&statements[0].node), nullptr);
  EXPECT_NE(std::get_if<Select>(&statements[1].node), nullptr);
  EXPECT_EQ(statements[1].text, "SELECT 1");
  EXPECT_EQ(statements[1].pos.line, 2u);
  EXPECT_EQ(statements[1].pos.column, 48u);
  const Insert* insert = std::get_if<Insert>(&statements[2].node);
  ASSERT_NE(insert, nullptr);
  EXPECT_EQ(insert->rows[0][0]->literal, Value::Text(";--not a comment"));
  EXPECT_EQ(statements[2].text, "INSERT INTO t VALUES (';--not a comment')");
  EXPECT_NE(std::get_if<Commit>(&statements[3].node), nullptr);
  EXPECT_TRUE(ParseOk("").empty());
  EXPECT_TRUE(ParseOk("  ; -- nothing\n ; /* */").empty());
}

// --- Errors -----------------------------------------------------------------

TEST(ParserTest, SyntaxErrorsSayWhere) {
  struct Case {
    const char* text;
    const char* message;
    uint32_t line;
    uint32_t column;
  };
  const Case kCases[] = {
      {"SELEC 1", "syntax error at or near \"SELEC\"", 1, 1},
      {"SELECT * FORM t", "syntax error at or near \"FORM\"", 1, 10},
      {"SELECT a,\n  FROM t", "syntax error at or near \"FROM\"", 2, 3},
      {"SELECT * FROM t WHERE", "syntax error at end of input", 1, 22},
      {"BEGIN;\nSELECT (1 + 2;\nCOMMIT", "syntax error at or near \";\"", 2, 14},
      {"INSERT INTO t VALUES (1) (2)", "syntax error at or near \"(\"", 1, 26},
      {"SELECT 'abc", "unterminated quoted string at or near \"'abc\"", 1, 8},
      {"SELECT \"abc", "unterminated quoted identifier at or near \"\"abc\"", 1, 8},
      {"SELECT 1 /* open", "unterminated /* comment at or near \"/* open\"", 1, 10},
      {"SELECT \"\" FROM t", "zero-length delimited identifier at or near \"\"\"\"", 1, 8},
      {"SELECT 1 @ 2", "syntax error at or near \"@\"", 1, 10},
      {"SELECT 'é' @", "syntax error at or near \"@\"", 1, 12},  // columns count characters
      {"UPDATE t SET a == 1", "syntax error at or near \"=\"", 1, 17},
      {"DROP VIEW v", "syntax error at or near \"VIEW\"", 1, 6},
      {"SELECT 1 2", "syntax error at or near \"2\"", 1, 10},
  };
  for (const Case& c : kCases) {
    ParseError error = ParseFails(c.text);
    EXPECT_EQ(error.sqlstate, "42601") << c.text;
    EXPECT_EQ(error.message, c.message) << c.text;
    EXPECT_EQ(error.line, c.line) << c.text;
    EXPECT_EQ(error.column, c.column) << c.text;
  }
}

TEST(ParserTest, FirstErrorWins) {
  // A syntax error before an unterminated string is the one reported, as in
  // PostgreSQL, which lexes as it parses.
  ParseError error = ParseFails("SELECT FROM; SELECT 'open");
  EXPECT_EQ(error.message, "syntax error at or near \"FROM\"");
  EXPECT_EQ(error.column, 8u);
}

// --- SplitStatement ---------------------------------------------------------

TEST(SplitStatementTest, FindsTheFirstCompleteStatement) {
  size_t end = 0;
  EXPECT_FALSE(SplitStatement("", &end));
  EXPECT_FALSE(SplitStatement("SELECT 1", &end));
  EXPECT_FALSE(SplitStatement("SELECT ';", &end));
  EXPECT_FALSE(SplitStatement("SELECT 1 -- ;", &end));
  EXPECT_FALSE(SplitStatement("SELECT 1 /* ; */ /* ;", &end));
  EXPECT_FALSE(SplitStatement("SELECT \"a;", &end));
  EXPECT_FALSE(SplitStatement("SELECT (1;", &end));  // psql waits for the ')'
  ASSERT_TRUE(SplitStatement("SELECT 1; SELECT 2;", &end));
  EXPECT_EQ(end, 9u);
  ASSERT_TRUE(SplitStatement("SELECT 'a;b' -- x;\n, \"c;\" /* ; */ ;rest", &end));
  EXPECT_EQ(end, 35u);
  ASSERT_TRUE(SplitStatement("  -- only a comment\n;", &end));
  EXPECT_EQ(end, 21u);
  EXPECT_TRUE(ParseOk(std::string_view("  -- only a comment\n;").substr(0, end)).empty());
  ASSERT_TRUE(SplitStatement("SELECT (1));", &end));  // a stray ')' is the parser's problem
  EXPECT_EQ(end, 12u);
}

TEST(SplitStatementTest, SplitsARandomScriptLikeTheParser) {
  const uint64_t seed = testing::TestSeed(20240605);
  SCOPED_TRACE("MVDB_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  const std::vector<std::string> pieces = {
      "SELECT 1",
      "INSERT INTO t VALUES ('a;b', 'it''s;')",
      "UPDATE t SET \"x;y\" = 2 /* ; */",
      "BEGIN -- ;\n",
      "SELECT count(*) FROM t WHERE a IN (1, 2)",
      "COMMIT",
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> chosen;
    std::string script;
    const int count = 1 + static_cast<int>(random() % 6);
    for (int i = 0; i < count; ++i) {
      chosen.push_back(pieces[random() % pieces.size()]);
      script += chosen.back() + ";" + (random() % 2 ? "\n" : " ");
    }
    // Split as a shell would, statement by statement; each piece parses.
    std::string_view rest = script;
    for (const std::string& piece : chosen) {
      size_t end = 0;
      ASSERT_TRUE(SplitStatement(rest, &end)) << script;
      std::vector<Statement> one = ParseOk(rest.substr(0, end));
      ASSERT_EQ(one.size(), 1u) << piece;
      rest.remove_prefix(end);
    }
    size_t end = 0;
    EXPECT_FALSE(SplitStatement(rest, &end)) << script;
    EXPECT_EQ(ParseOk(script).size(), chosen.size());
  }
}

// --- The Hermitage specs ----------------------------------------------------

// Every { ... } block of a spec (setup, teardown and step), as
// pg-isolation (docs/isolation.md) reads them.
std::vector<std::string> SpecBlocks(const std::string& text) {
  std::string without_comments;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '#') without_comments += line + "\n";
  }
  std::vector<std::string> blocks;
  static const std::regex kBlock(R"(\{([^}]*)\})");
  for (std::sregex_iterator it(without_comments.begin(), without_comments.end(), kBlock), end;
       it != end; ++it) {
    blocks.push_back((*it)[1].str());
  }
  return blocks;
}

TEST(ParserTest, EveryHermitageStepParses) {
  const std::filesystem::path dir = MVDB_HERMITAGE_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int specs = 0;
  int blocks = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".spec") continue;
    ++specs;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    for (const std::string& block : SpecBlocks(text.str())) {
      ++blocks;
      SCOPED_TRACE(entry.path().filename().string() + ": " + block);
      std::vector<Statement> statements = ParseOk(block);
      EXPECT_FALSE(statements.empty());
      size_t end = 0;
      EXPECT_TRUE(SplitStatement(block, &end));
    }
  }
  EXPECT_GE(specs, 15);
  EXPECT_GE(blocks, 15 * 6);
}

}  // namespace
}  // namespace mvdb::sql
