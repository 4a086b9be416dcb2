#!/usr/bin/env bash
# The interim mvdb program end to end: a scripted session on standard input
# (no banner, no prompt), persistence across a reopen, `mvdb check` on a good
# and on a damaged database, and the lock that keeps a second process out.
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

# 1. A session: writes, reads, scans, quoting, errors on stderr only.
out="$("$mvdb" "$db" 2>"$tmp/err" <<'IN'
put fruit apple red
put fruit banana yellow
put fruit cherry "dark red"
put fruit "with space" two words
get fruit banana
get fruit durian
scan fruit
del fruit banana
del fruit banana
scan fruit b 1
put bin "\x00\x01" ""
scan bin
get nosuchtree k
frobnicate
put onlytree
trees
fill big 3000 20
quit
put fruit after quit
IN
)" || fail "the session exited with status $?"
expect "session output" 'OK
OK
OK
OK
yellow
(not found)
apple = red
banana = yellow
cherry = "dark red"
"with space" = "two words"
(4 entries)
OK
(not found)
cherry = "dark red"
(1 entry, more follow)
OK
"\x00\x01" = ""
(1 entry)
bin
fruit
(2 trees)' "$(sed '/^OK (3000 entries in /d' <<<"$out")"
grep -q '^OK (3000 entries in [0-9.]* s)$' <<<"$out" || fail "fill reports what it did"
grep -q '^error: NotFound' "$tmp/err" || fail "get on a missing tree is a NotFound error"
grep -q "^error: unknown command 'frobnicate'" "$tmp/err" || fail "unknown commands are errors"
grep -q '^error: usage: put TREE KEY VALUE' "$tmp/err" || fail "wrong arity prints the usage"
[[ "$(wc -l <"$tmp/err")" -eq 3 ]] || fail "exactly three errors: $(cat "$tmp/err")"

# 2. Everything is back after a reopen, and stats names the I/O backend.
out="$("$mvdb" "$db" <<'IN'
get fruit cherry
scan big 0000002998
stats
IN
)" || fail "the reopened session exited with status $?"
expect "reopen" "\"dark red\"
0000002998 = $(printf 'i%.0s' {1..20})
0000002999 = $(printf 'j%.0s' {1..20})
(2 entries)" "$(head -n 4 <<<"$out")"
grep -Eq '^io backend: +(io_uring|posix)$' <<<"$out" || fail "stats names the I/O backend"

# 3. check on a good database: exit 0 and a line per tree.
if out="$("$mvdb" check "$db" 2>&1)"; then
  grep -q '^ok: [0-9]* pages' <<<"$out" || fail "check prints a summary: $out"
  grep -Eq '^big +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +3000 ' <<<"$out" || fail "check counts big: $out"
else
  fail "check of a good database: $out"
fi

# 4. A second process is kept out while the first holds the database.
mkfifo "$tmp/in" "$tmp/out"
"$mvdb" "$db" <"$tmp/in" >"$tmp/out" 2>&1 &
holder=$!
# Read-write opens of the FIFOs never block, even if mvdb died at start.
exec 3<>"$tmp/in" 4<>"$tmp/out"
echo "get fruit apple" >&3
if read -r -t 30 line <&4 && [[ "$line" == red ]]; then
  if out="$("$mvdb" check "$db" 2>&1)"; then
    fail "a second process opened a database in use"
  else
    grep -q 'Busy' <<<"$out" || fail "the second open says Busy: $out"
  fi
else
  fail "the first process did not answer"
fi
exec 3>&- 4<&-
wait "$holder" || fail "the first process failed at exit"

# 5. check on damaged pages: exit 1 and a Corruption naming the file. Every
# page but the first two gets garbage in its body, so whichever of them the
# trees use now, check must read a bad one.
pages=$(($(stat -c %s "$db/data.mvdb") / 8192))
((pages > 3)) || fail "expected more than 3 pages, found $pages"
for ((p = 2; p < pages; p++)); do
  printf 'garbage garbage garbage' |
    dd of="$db/data.mvdb" bs=1 seek=$((p * 8192 + 100)) conv=notrunc status=none
done
if out="$("$mvdb" check "$db" 2>&1)"; then
  fail "check passed a damaged page: $out"
else
  grep -q 'Corruption' <<<"$out" || fail "check names the corruption: $out"
  grep -q 'data.mvdb' <<<"$out" || fail "check names the file: $out"
fi

# 6. check on a directory without a database: exit 1, nothing created.
if "$mvdb" check "$tmp/none" >/dev/null 2>&1; then fail "check of a missing database"; fi
[[ ! -e "$tmp/none" ]] || fail "check created a directory"

# 7. Without DBDIR a temporary database is used and removed.
out="$(TMPDIR="$tmp" "$mvdb" <<<"put t k v")" || fail "the temporary session failed"
expect "temporary database" "OK" "$out"
[[ -z "$(find "$tmp" -maxdepth 1 -name 'mvdb-*')" ]] || fail "the temporary database is left"

if ((failures > 0)); then
  echo "$failures checks failed" >&2
  exit 1
fi
echo "shell smoke test: all checks passed"
