#!/usr/bin/env bash
# The interim mvdb program end to end: a scripted session on standard input
# (no banner, no prompt), persistence across a reopen, `mvdb check` on a good
# and on a damaged database, the lock that keeps a second process out, and
# acknowledged writes surviving kill -9 of the program.
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

# 2. Everything is back after a reopen; stats names the I/O backend and
# counts the commits; check and checkpoint work on the open database.
out="$("$mvdb" "$db" <<'IN'
get fruit cherry
scan big 0000002998
del big 0000000007
stats
checkpoint
check
IN
)" || fail "the reopened session exited with status $?"
grep -q '^commits: \+1 write batches' <<<"$out" || fail "stats counts the one commit: $out"
grep -Eq '^big +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +2999 ' <<<"$out" || fail "check in the REPL: $out"
expect "reopen" "\"dark red\"
0000002998 = $(printf 'i%.0s' {1..20})
0000002999 = $(printf 'j%.0s' {1..20})
(2 entries)" "$(head -n 4 <<<"$out")"
grep -Eq '^io backend: +(io_uring|posix)$' <<<"$out" || fail "stats names the I/O backend"

# 3. check on a good database: exit 0 and a line per tree.
if out="$("$mvdb" check "$db" 2>&1)"; then
  grep -q '^ok: [0-9]* pages' <<<"$out" || fail "check prints a summary: $out"
  grep -Eq '^big +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +2999 ' <<<"$out" || fail "check counts big: $out"
  grep -q '^lock: free$' <<<"$out" || fail "check reports the lock: $out"
  grep -q '^  meta slot 1 (offset 8192): valid' <<<"$out" || fail "check reports meta slots: $out"
  grep -q '^  segment .*/wal/0*\.log: ' <<<"$out" || fail "check reports the log: $out"
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
    grep -q 'Busy' <<<"$out" || fail "check of a database in use says Busy: $out"
  fi
  if out="$("$mvdb" "$db" <<<"put fruit apple green" 2>&1)"; then
    fail "a second shell opened a database in use: $out"
  else
    grep -q "^mvdb: Busy: .*LOCK is locked by process $holder\$" <<<"$out" ||
      fail "the second shell says Busy, naming the holder $holder: $out"
  fi
else
  fail "the first process did not answer"
fi
echo "get fruit apple" >&3
read -r -t 30 line <&4 || true
expect "the second open changed nothing" red "$line"
exec 3>&- 4<&-
wait "$holder" || fail "the first process failed at exit"

# 4b. kill -9: every write the program acknowledged with OK is there after a
# reopen. The writes go in faster than they commit, so the kill lands while
# later ones are in flight (those may or may not be there).
"$mvdb" "$db" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
victim=$!
exec 3<>"$tmp/in" 4<>"$tmp/out"
for ((i = 1; i <= 2000; i++)); do printf 'put killed k%04d v%d\n' "$i" "$i"; done >&3
acked=0
while ((acked < 500)) && read -r -t 30 line <&4 && [[ "$line" == OK ]]; do
  acked=$((acked + 1))
done
# stderr of the whole block goes away: bash reports the kill ("Killed") when
# it reaps the child, which may be at kill or at wait.
{
  kill -9 "$victim"
  wait "$victim" || true
} 2>/dev/null
exec 3>&- 4<&-
((acked == 500)) || fail "the program acknowledged $acked of 500 writes: $(cat "$tmp/err")"
out="$("$mvdb" "$db" <<<"scan killed k0000 3000")" || fail "the reopen after kill -9 failed"
for ((i = 1; i <= acked; i++)); do printf 'k%04d = v%d\n' "$i" "$i"; done >"$tmp/acked"
head -n "$acked" <<<"$out" | cmp -s - "$tmp/acked" ||
  fail "an acknowledged write is missing after kill -9: $(head -n 3 <<<"$out")"
"$mvdb" check "$db" >"$tmp/check" 2>&1 || fail "check after kill -9: $(cat "$tmp/check")"

# 4c. The other durability modes open, write and read back after an orderly
# exit; an unknown one is a usage error.
"$mvdb" --sync normal "$db" <<<"put modes normal n" >/dev/null || fail "--sync normal"
"$mvdb" --sync off "$db" <<<"put modes off o" >/dev/null || fail "--sync off"
out="$("$mvdb" "$db" <<<"scan modes")" || fail "reading back the modes"
expect "--sync normal and off" 'normal = n
off = o
(2 entries)' "$out"
status=0
"$mvdb" --sync sometimes "$db" </dev/null >/dev/null 2>&1 || status=$?
((status == 2)) || fail "--sync sometimes exits 2, not $status"

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
