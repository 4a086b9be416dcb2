"""The differential test's workload: tables, rows and random predicates.

Deterministic for a seed (random.Random(seed), nothing else), so that
run_differential.py and record_postgres.py build the same workload and the
recorded PostgreSQL answers in expected_pg15.tsv match it.

Two data sets, each loaded into several tables that hold the same rows but
offer the planner different access paths:

  U (unique): i bigint, f double precision and s text are unique and not
    NULL, so each can be a primary key; v varchar(4) and b boolean may be
    NULL.
      u_i     PRIMARY KEY (i), indexes on f, s, v, b
      u_f     PRIMARY KEY (f), index on i
      u_s     PRIMARY KEY (s), index on (i, f)
      u_full  no key, no index: always a full scan
  N (nullable): every column may be NULL and values repeat.
      n_idx   no key, indexes on i, f, s, v, b and (f, i)
      n_full  no key, no index: always a full scan

Every table also has k bigint, the row's number in its data set. A query
asks `SELECT count(*), sum(k), sum(k * k) FROM table WHERE predicate`, which
identifies the set of rows kept well enough to see any difference.

Predicates: comparisons (= < <= > >= <>) of a column with a constant (on
either side) or of the bigint column with the double one, BETWEEN and NOT
BETWEEN, IN and NOT IN lists (with NULLs), IS [NOT] NULL, combined with
AND, OR and NOT. Constants are edge values of every type and every mix:
2^53 and its neighbours, the bigint bounds and beyond, numeric literals
(2.5, 1e19, 9007199254740993.0), NaN, +-Infinity and -0 for doubles,
strings with trailing spaces, '' and non-ASCII text.
"""
import random

SEED = 20261207

# Columns of both data sets: name, mvdb type, PostgreSQL type. mvdb's int
# is 64-bit, so bigint is used on both sides; text compares byte-wise in
# mvdb, so PostgreSQL gets COLLATE "C".
COLUMNS = [
    ("i", "bigint", "bigint"),
    ("f", "double precision", "double precision"),
    ("s", "text", 'text COLLATE "C"'),
    ("v", "varchar(4)", 'varchar(4) COLLATE "C"'),
    ("b", "boolean", "boolean"),
]

TABLES = {
    "U": [
        ("u_i", "i", ["f", "s", "v", "b"]),
        ("u_f", "f", ["i"]),
        ("u_s", "s", ["i, f"]),
        ("u_full", None, []),
    ],
    "N": [
        ("n_idx", None, ["i", "f", "s", "v", "b", "f, i"]),
        ("n_full", None, []),
    ],
}
FULL_SCAN_TABLE = {"U": "u_full", "N": "n_full"}

TWO53 = 2**53
INT_EDGES = [
    0, 1, -1, 2, 3, 7, -7, 100, -100, 2**31 - 1, 2**31, -(2**31), TWO53 - 1, TWO53, TWO53 + 1,
    TWO53 + 2, -TWO53, -TWO53 - 1, 2**62, 2**63 - 1, 2**63 - 2, -(2**63), -(2**63) + 1,
    2**63 - 512, 2**63 - 1024
]
# Numeric literals (PostgreSQL's numeric), written as they appear in SQL.
NUMERIC_LITERALS = [
    "0.0", "-0.0", "0.5", "-0.5", "1.5", "2.5", "-2.5", "1e3", "1.0", "100.0", "1e-3",
    "9007199254740992.0", "9007199254740993.0", "9007199254740992.5", "-9007199254740993.0",
    "9223372036854775807.0", "9223372036854775807.5", "9223372036854775808.0",
    "-9223372036854775808.0", "-9223372036854775808.5", "-9223372036854775809.0", "1e19",
    "-1e19", "1e308", "-1e308", "4.9e-324", "2147483647.5", "0.1", "0.30000000000000004",
]
# Double precision values given as strings (untyped literals read as double).
FLOAT_STRINGS = ["'NaN'", "'Infinity'", "'-Infinity'", "'-0'", "'1e308'", "'4.9e-324'",
                 "'9007199254740993'", "' 2.5 '"]
TEXTS = ["", "a", "a ", "a  ", "ab", "abc", "abc ", "abcd", "abcd ", "b", "B", "Z", " ",
         "  ", "z", "é", "éa", "ü ", "0", "10", "9", "-1", "a\tb", "aa", "ab ", "abc   "]
# Strings varchar(4) accepts (longer ones only with trailing spaces, cut).
VARCHARS = ["", "a", "a ", "ab", "abc", "abcd", "abcd  ", "b", "B", " ", "é", "éü", "zz  ", "0"]


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def float_sql(x):
    """A double as a literal both databases read exactly (untyped string)."""
    if x != x:
        return "'NaN'"
    if x in (float("inf"), float("-inf")):
        return "'Infinity'" if x > 0 else "'-Infinity'"
    return quote(repr(x))


class Workload:
    def __init__(self, seed=SEED, predicates=1500):
        self.seed = seed
        rng = random.Random(seed)
        self.rows = {"U": self._unique_rows(rng, 70), "N": self._nullable_rows(rng, 90)}
        self.queries = []  # (data set, predicate)
        for data_set in ("U", "N"):
            for _ in range(predicates):
                self.queries.append((data_set, self._predicate(rng, 0)))

    # -- rows ---------------------------------------------------------------

    def _int(self, rng):
        r = rng.random()
        if r < 0.45:
            return rng.choice(INT_EDGES)
        if r < 0.8:
            return rng.randint(-20, 20)
        return rng.randint(-(2**63), 2**63 - 1)

    def _float(self, rng):
        r = rng.random()
        if r < 0.3:
            return float(rng.choice(INT_EDGES))
        if r < 0.45:
            return rng.choice([float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 0.1, 2.5,
                               -2.5, 1e308, 5e-324, 9007199254740992.0, 9223372036854775807.0])
        if r < 0.8:
            return rng.randint(-40, 40) / 4
        return rng.uniform(-1e20, 1e20)

    def _unique_rows(self, rng, count):
        rows, ints, floats, texts = [], set(), set(), set()
        while len(rows) < count:
            i, f = self._int(rng), self._float(rng)
            s = rng.choice(TEXTS) if rng.random() < 0.5 else rng.choice(TEXTS) + str(len(rows))
            # Unique as the keys see them: -0 is 0, NaN is one value.
            fkey = "nan" if f != f else (0.0 if f == 0 else f)
            if i in ints or fkey in floats or s in texts:
                continue
            ints.add(i)
            floats.add(fkey)
            texts.add(s)
            v = None if rng.random() < 0.15 else rng.choice(VARCHARS)
            b = rng.choice([True, False, None])
            rows.append([len(rows) + 1, i, f, s, v, b])
        return rows

    def _nullable_rows(self, rng, count):
        rows = []
        for k in range(1, count + 1):
            maybe = lambda value: None if rng.random() < 0.2 else value  # noqa: E731
            rows.append([k, maybe(self._int(rng)), maybe(self._float(rng)),
                         maybe(rng.choice(TEXTS)), maybe(rng.choice(VARCHARS)),
                         maybe(rng.choice([True, False]))])
        return rows

    # -- predicates ---------------------------------------------------------

    @staticmethod
    def _edge(rng):
        """An integer edge value or its negation, within bigint (a literal
        beyond it is numeric in PostgreSQL but an error in mvdb)."""
        value = rng.choice(INT_EDGES) * rng.choice([1, 1, -1])
        return value if -(2**63) <= value < 2**63 else -value

    def _constant(self, rng, column):
        """A constant that SQL can compare with `column` (as text)."""
        r = rng.random()
        if column == "i":
            if r < 0.45:
                return str(self._edge(rng))
            if r < 0.75:
                return rng.choice(NUMERIC_LITERALS)
            if r < 0.9:
                return str(rng.randint(-25, 25))
            return quote(str(rng.choice(INT_EDGES)))  # '42' read as bigint
        if column == "f":
            if r < 0.35:
                return str(self._edge(rng))
            if r < 0.65:
                return rng.choice(NUMERIC_LITERALS)
            if r < 0.8:
                return rng.choice(FLOAT_STRINGS)
            return str(rng.randint(-40, 40) / 4)
        if column in ("s", "v"):
            return quote(rng.choice(TEXTS + VARCHARS))
        return rng.choice(["true", "false", "'t'", "'f'", "'yes'", "'off'"])

    def _atom(self, rng):
        column = rng.choice(["i", "i", "f", "f", "s", "v", "b"])
        r = rng.random()
        op = rng.choice(["=", "<", "<=", ">", ">=", "<>"])
        if column == "b" and r < 0.75:
            op = rng.choice(["=", "<>"])
        if r < 0.5:
            return f"{column} {op} {self._constant(rng, column)}"
        if r < 0.6:
            return f"{self._constant(rng, column)} {op} {column}"
        if r < 0.68 and column in ("i", "f"):
            return f"i {op} f" if rng.random() < 0.5 else f"f {op} i"
        if r < 0.8:
            low, high = self._constant(rng, column), self._constant(rng, column)
            negated = "NOT " if rng.random() < 0.25 else ""
            return f"{column} {negated}BETWEEN {low} AND {high}"
        if r < 0.93:
            items = [self._constant(rng, column) for _ in range(rng.randint(1, 4))]
            if rng.random() < 0.2:
                items.insert(rng.randint(0, len(items)), "NULL")
            negated = "NOT " if rng.random() < 0.25 else ""
            return f"{column} {negated}IN ({', '.join(items)})"
        return f"{column} IS {'NOT ' if rng.random() < 0.5 else ''}NULL"

    def _predicate(self, rng, depth):
        r = rng.random()
        if depth >= 2 or r < 0.45:
            return self._atom(rng)
        if r < 0.75:
            # Two comparisons of one column often make a key range.
            left, right = self._predicate(rng, depth + 1), self._predicate(rng, depth + 1)
            return f"({left}) AND ({right})"
        if r < 0.92:
            return f"({self._predicate(rng, depth + 1)}) OR ({self._predicate(rng, depth + 1)})"
        return f"NOT ({self._predicate(rng, depth + 1)})"

    # -- SQL ----------------------------------------------------------------

    def setup_sql(self, postgres):
        """CREATE TABLE, CREATE INDEX and INSERT statements, one per line."""
        lines = []
        for data_set, tables in TABLES.items():
            if postgres:
                tables = [t for t in tables if t[0] == FULL_SCAN_TABLE[data_set]]
            for name, key, indexes in tables:
                columns = ["k bigint"]
                for column, mvdb_type, pg_type in COLUMNS:
                    column_type = pg_type if postgres else mvdb_type
                    columns.append(f"{column} {column_type}{' PRIMARY KEY' if column == key else ''}")
                lines.append(f"CREATE TABLE {name} ({', '.join(columns)});")
                for n, index in enumerate(indexes):
                    lines.append(f"CREATE INDEX {name}_x{n} ON {name} ({index});")
                values = []
                for k, i, f, s, v, b in self.rows[data_set]:
                    fields = [str(k), "NULL" if i is None else str(i),
                              "NULL" if f is None else float_sql(f),
                              "NULL" if s is None else quote(s),
                              "NULL" if v is None else quote(v),
                              "NULL" if b is None else ("true" if b else "false")]
                    values.append("(" + ", ".join(fields) + ")")
                lines.append(f"INSERT INTO {name} VALUES {', '.join(values)};")
        return lines

    @staticmethod
    def query_sql(table, predicate):
        return f"SELECT count(*), sum(k), sum(k * k) FROM {table} WHERE {predicate}"
