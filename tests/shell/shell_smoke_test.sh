#!/usr/bin/env bash
# The mvdb SQL shell end to end, as scripts use it (docs/cli.md and
# docs/output.md): a scripted session on standard input with its exact
# output (no banner, no prompt, psql's tables and tags, errors on stderr),
# two sessions where one waits for the other's row lock, --csv, -q, --bail's
# exit status, -c and -f, data kept across a reopen, `mvdb check` (also of
# a damaged database), a temporary database without DBDIR, the
# lock that keeps a second process out, output that cannot be written,
# scripts that cannot be read, invalid UTF-8, and \stats. (kill -9 of a shell
# printing COMMITs: shell_crash_test.py; the terminal: shell_pty_test.py;
# signals: shell_signal_test.py; endless input:
# shell_endless_input_test.py.)
#
#   shell_smoke_test.sh path/to/mvdb
set -euo pipefail
mvdb="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
db="$tmp/db"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect NAME EXPECTED ACTUAL
expect() {
  if [[ "$2" != "$3" ]]; then
    fail "$1"
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2 || true
  fi
}

# 1. A session: DDL, DML, types and their output, a multi-line statement,
# two statements on a line, errors (on stderr only, the session goes on).
cat >"$tmp/session1.sql" <<'IN'
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int);
INSERT INTO accounts VALUES (1, 'alice', 100), (2, 'bob', 50);
INSERT INTO accounts
  VALUES (3, '', NULL);
SELECT * FROM accounts ORDER BY id;
SELECT 1.5 AS a, 0.1 AS b, 1e16 AS c, -2.5e-07 AS d, true AS e, 'x' || 'y' AS f;
SELECT 1.5 AS a, 0.1 AS b, 1e16 AS c, -2.5e-07 AS d, true AS e;
BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id = 1;
SELECT nosuch FROM accounts;
COMMIT;
SELECT count(*), sum(balance) FROM accounts;
\x
SELECT * FROM accounts WHERE id = 2;
\x
\d accounts
IN
out="$("$mvdb" "$db" 2>"$tmp/err" <"$tmp/session1.sql")" || fail "the session exited with status $?"
expect "session output" 'CREATE TABLE
INSERT 0 2
INSERT 0 1
 id | owner | balance 
----+-------+---------
  1 | alice |     100
  2 | bob   |      50
  3 |       |        
(3 rows)

  a  |  b  |   c   |    d     | e 
-----+-----+-------+----------+---
 1.5 | 0.1 | 1e+16 | -2.5e-07 | t
(1 row)

BEGIN
UPDATE 1
ROLLBACK
 count | sum 
-------+-----
     3 | 150
(1 row)

Expanded display is on.
-[ RECORD 1 ]
id      | 2
owner   | bob
balance | 50

Expanded display is off.
      Table "accounts"
 Column  |  Type  | Nullable 
---------+--------+----------
 id      | bigint | not null
 owner   | text   | 
 balance | bigint | 
Indexes:
    "accounts_pkey" PRIMARY KEY, btree (id)' "$out"
expect "session errors" 'ERROR:  42601 syntax error at or near "|"
ERROR:  42703 column "nosuch" does not exist' "$(cat "$tmp/err")"

# 2. Two sessions: b waits for a's row lock; the script goes on in a, and
# b's statement is reported, labelled, when a commits.
cat >"$tmp/session2.sql" <<'IN'
\session a
BEGIN;
UPDATE accounts SET balance = balance + 10 WHERE id = 2;
\session b
UPDATE accounts SET balance = balance + 20 WHERE id = 2;
\sessions
\session a
COMMIT;
\session b
SELECT balance FROM accounts WHERE id = 2;
IN
out="$("$mvdb" "$db" 2>"$tmp/err" <"$tmp/session2.sql")" || fail "the two-session script exited with status $?"
expect "two sessions" 'BEGIN
UPDATE 1
(session b is waiting for session a)
                        Sessions
 Session | Current |         State         | Transaction 
---------+---------+-----------------------+-------------
 main    |         | idle                  |            
 a       |         | in transaction        | N
 b       | *       | waiting for session a | N
(3 rows)

COMMIT
[b] UPDATE 1
 balance 
---------
      80
(1 row)' "$(sed -E 's/\| +[0-9]+ *$/| N/' <<<"$out")"
[[ ! -s "$tmp/err" ]] || fail "two sessions: unexpected errors: $(cat "$tmp/err")"

# 3. --csv: a header line, NULL an empty field, the empty string "".
out="$("$mvdb" --csv -q -c "SELECT id, owner, balance FROM accounts ORDER BY id" "$db")"
expect "csv" 'id,owner,balance
1,alice,100
2,bob,80
3,"",' "$out"

# 4. -c exits 1 on an error; --bail stops at the first one with status 1,
# without it a script goes on and exits 0; -f runs a file.
printf 'SELECT 1 AS one;\nSELECT nosuch FROM accounts;\nSELECT 2 AS two;\n' >"$tmp/script.sql"
status=0
out="$("$mvdb" --bail -f "$tmp/script.sql" "$db" 2>/dev/null)" || status=$?
[[ $status -eq 1 ]] || fail "--bail: exit status $status, not 1"
grep -q ' two' <<<"$out" && fail "--bail ran the statement after the error"
status=0
out="$("$mvdb" -f "$tmp/script.sql" "$db" 2>/dev/null)" || status=$?
[[ $status -eq 0 ]] || fail "-f without --bail: exit status $status, not 0"
grep -q ' two' <<<"$out" || fail "-f without --bail stopped at the error"
status=0
"$mvdb" -c "SELECT nosuch FROM accounts" "$db" >/dev/null 2>&1 || status=$?
[[ $status -eq 1 ]] || fail "-c with an error: exit status $status, not 1"
status=0
"$mvdb" --bail "$db" >/dev/null 2>&1 <<<'\nosuchcommand' || status=$?
[[ $status -eq 1 ]] || fail "--bail on an unknown meta-command: exit status $status, not 1"

# 5. Reopen: everything committed is back.
out="$("$mvdb" -q --csv -c "SELECT sum(balance) AS total FROM accounts" "$db")"
expect "reopen" 'total
180' "$out"

# 6. A second process is refused at once, naming the holder; check says
# Busy while the database is open and passes once it is closed.
coproc holder { exec "$mvdb" "$db"; }
echo 'SELECT 1 AS ready;' >&"${holder[1]}"
read -r _ <&"${holder[0]}"  # the header: the database is open
status=0
"$mvdb" -c "SELECT 1" "$db" >/dev/null 2>"$tmp/err" || status=$?
[[ $status -eq 1 ]] || fail "second process: exit status $status, not 1"
grep -q "Busy: .*LOCK is locked by process $holder_PID" "$tmp/err" ||
  fail "second process: $(cat "$tmp/err")"
"$mvdb" check "$db" >/dev/null 2>&1 && fail "check on an open database passed"
exec {holder[1]}>&-
wait "$holder_PID" || fail "the holder exited with status $?"
"$mvdb" check "$db" >"$tmp/check" 2>&1 || fail "check: $(cat "$tmp/check")"

# 7. check on damaged pages: exit 1 and a Corruption naming the file (every
# page but the first two gets garbage in its body, so whichever the trees
# use, check reads a bad one); check of a missing database creates nothing.
cp -r "$db" "$tmp/damaged"
pages=$(($(stat -c %s "$tmp/damaged/data.mvdb") / 8192))
((pages > 3)) || fail "expected more than 3 pages, found $pages"
for ((p = 2; p < pages; p++)); do
  printf 'garbage garbage garbage' |
    dd of="$tmp/damaged/data.mvdb" bs=1 seek=$((p * 8192 + 100)) conv=notrunc status=none
done
if out="$("$mvdb" check "$tmp/damaged" 2>&1)"; then
  fail "check passed a damaged page: $out"
else
  grep -q 'Corruption' <<<"$out" || fail "check names the corruption: $out"
  grep -q 'data.mvdb' <<<"$out" || fail "check names the file: $out"
fi
if "$mvdb" check "$tmp/none" >/dev/null 2>&1; then fail "check of a missing database"; fi
[[ ! -e "$tmp/none" ]] || fail "check created a directory"

# 8. Without DBDIR: a temporary database, removed at exit.
out="$(TMPDIR="$tmp" "$mvdb" -q -c "CREATE TABLE t (x int); INSERT INTO t VALUES (1); SELECT x FROM t")"
expect "temporary database" ' x 
---
 1
(1 row)' "$out"
[[ -z "$(find "$tmp" -maxdepth 1 -name 'mvdb-*')" ]] || fail "the temporary database was left"

# 9. Output that cannot be written (issue 11, item 5): an error on stderr
# and exit status 1, whatever writes it (psql -c says "could not print
# result table: No space left on device" and exits 1). A script stops at
# the first failed write: nothing after it runs (here the INSERT).
status=0
"$mvdb" -c "SELECT 1" "$db" >/dev/full 2>"$tmp/err" || status=$?
[[ $status -eq 1 ]] || fail "-c to /dev/full: exit status $status, not 1"
expect "-c to /dev/full" 'mvdb: could not write to standard output: No space left on device' \
  "$(cat "$tmp/err")"
printf 'CREATE TABLE full_t (x int);\nSELECT 1 AS one;\nINSERT INTO full_t VALUES (1);\n' \
  >"$tmp/full.sql"
status=0
"$mvdb" -q -f "$tmp/full.sql" "$db" >/dev/full 2>"$tmp/err" || status=$?
[[ $status -eq 1 ]] || fail "-f to /dev/full: exit status $status, not 1"
grep -q 'No space left on device' "$tmp/err" || fail "-f to /dev/full: $(cat "$tmp/err")"
out="$("$mvdb" -q --csv -c "SELECT count(*) AS n FROM full_t" "$db")"
expect "nothing runs after a failed write" 'n
0' "$out"
status=0
"$mvdb" "$db" <"$tmp/full.sql" >/dev/full 2>/dev/null || status=$?
[[ $status -eq 1 ]] || fail "standard input to /dev/full: exit status $status, not 1"
status=0
"$mvdb" check "$tmp/damaged" >/dev/full 2>"$tmp/err" || status=$?
grep -q 'could not write to standard output' "$tmp/err" || fail "check to /dev/full: $(cat "$tmp/err")"
# A reader that goes away ends mvdb by SIGPIPE, as it ends psql (status
# 141), but the temporary database is removed first.
mkdir "$tmp/pipe"
printf 'CREATE TABLE t (x int);\nINSERT INTO t VALUES (%s);\nSELECT x, x AS y FROM t;\n' \
  "$(seq -s '),(' 1 20000)" >"$tmp/pipe.sql"
{
  status=0
  TMPDIR="$tmp/pipe" "$mvdb" -q -f "$tmp/pipe.sql" || status=$?
  echo "$status" >"$tmp/pipe_status"
} | head -c 10 >/dev/null || true
expect "closed pipe: exit status" 141 "$(cat "$tmp/pipe_status")"
[[ -z "$(ls "$tmp/pipe")" ]] || fail "closed pipe: the temporary database was left: $(ls "$tmp/pipe")"

# 10. A script that cannot be read (issue 11, item 6): a directory or a
# missing file is an error with exit status 1, and no database is created
# for it (psql: "psql:/tmp: error: could not read from input file: Is a
# directory", status 1). \i of one is an error the script goes on after, as
# in psql, unless --bail.
status=0
"$mvdb" -f "$tmp" "$tmp/dirdb" >"$tmp/out" 2>"$tmp/err" || status=$?
[[ $status -eq 1 ]] || fail "-f DIR: exit status $status, not 1"
expect "-f DIR" "mvdb: $tmp: could not read from input file: Is a directory" "$(cat "$tmp/err")"
[[ ! -s "$tmp/out" && ! -e "$tmp/dirdb" ]] || fail "-f DIR printed something or made a database"
status=0
"$mvdb" -f "$tmp/none.sql" "$db" >/dev/null 2>"$tmp/err" || status=$?
[[ $status -eq 1 ]] || fail "-f of a missing file: exit status $status, not 1"
expect "-f of a missing file" "mvdb: $tmp/none.sql: No such file or directory" "$(cat "$tmp/err")"
printf '\\i %s\n\\i %s\nSELECT 3 AS three;\n' "$tmp" "$tmp/none.sql" >"$tmp/include.sql"
status=0
out="$("$mvdb" -q "$db" <"$tmp/include.sql" 2>"$tmp/err")" || status=$?
[[ $status -eq 0 ]] || fail "\\i DIR: exit status $status, not 0"
expect "\\i DIR goes on" ' three 
-------
     3
(1 row)' "$out"
expect "\\i DIR errors" "$tmp: could not read from input file: Is a directory
$tmp/none.sql: No such file or directory" "$(cat "$tmp/err")"
status=0
"$mvdb" --bail "$db" <"$tmp/include.sql" >/dev/null 2>&1 || status=$?
[[ $status -eq 1 ]] || fail "\\i DIR with --bail: exit status $status, not 1"

# 11. Invalid UTF-8 and NUL bytes (issue 11, item 7) are refused with
# PostgreSQL's 22021 and message, in values, identifiers, a transaction
# block (which then fails, 25P02) and meta-commands; nothing is stored.
# PostgreSQL 15.18 through psql: printf "select 'a\xffb';" | psql gives
#   ERROR:  22021: invalid byte sequence for encoding "UTF8": 0xff
# (0xc3 0x22 for select 1 as "a\xc3"; 0xed 0xa0 0x80 for a surrogate; 0x00
# for E'a\000b', psql itself cuts a query at a NUL byte), and in a block
# the next statement gets 25P02. More in input_test.cc.
printf 'CREATE TABLE enc (id int PRIMARY KEY, s text);
INSERT INTO enc VALUES (1, \047a\377b\047);
INSERT INTO enc VALUES (2, \047a\000b\047);
SELECT 1 AS "a\303";
\\d \376
BEGIN;
SELECT \047a\355\240\200b\047;
SELECT 1;
ROLLBACK;
SELECT count(*) FROM enc;
' >"$tmp/encoding.sql"
out="$("$mvdb" "$db" <"$tmp/encoding.sql" 2>"$tmp/err")" || fail "invalid UTF-8: status $?"
expect "invalid UTF-8: output" 'CREATE TABLE
BEGIN
ROLLBACK
 count 
-------
     0
(1 row)' "$out"
expect "invalid UTF-8: errors" 'ERROR:  22021 invalid byte sequence for encoding "UTF8": 0xff
ERROR:  22021 invalid byte sequence for encoding "UTF8": 0x00
ERROR:  22021 invalid byte sequence for encoding "UTF8": 0xc3 0x22
ERROR:  22021 invalid byte sequence for encoding "UTF8": 0xfe
ERROR:  22021 invalid byte sequence for encoding "UTF8": 0xed 0xa0 0x80
ERROR:  25P02 current transaction is aborted, commands ignored until end of transaction block' \
  "$(cat "$tmp/err")"

# 12. \stats: the database's counters, one row each; a SQL session holds
# no shared snapshot (Database::GetSnapshot), so "open snapshots" is 0.
out="$(printf '\\stats\n' | "$mvdb" "$tmp/stats-db" 2>"$tmp/err")" || fail "\\stats: status $?"
grep -Eq '^ open snapshots +\| +0$' <<<"$out" || fail "\\stats: no 'open snapshots | 0' row: $out"
grep -Eq '^ active transactions +\| +0$' <<<"$out" || fail "\\stats: no 'active transactions' row"
expect "\\stats: errors" "" "$(cat "$tmp/err")"

if ((failures > 0)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "shell smoke test: all passed"
