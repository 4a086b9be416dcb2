#!/usr/bin/env bash
# Runs one isolation spec through `mvdb isolation` and compares the
# transcript byte for byte with the one pg-isolation took from PostgreSQL.
# On a difference, prints a unified diff (expected first) and exits 1.
#
#   run_hermitage.sh path/to/mvdb rc|rr SPEC EXPECTED
set -euo pipefail
mvdb="$1"
level="$2"
spec="$3"
expected="$4"
case "$level" in
  rc) isolation="read committed" ;;
  rr) isolation="repeatable read" ;;
  *)
    echo "run_hermitage.sh: level must be rc or rr, not '$level'" >&2
    exit 2
    ;;
esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

status=0
TMPDIR="$tmp" "$mvdb" isolation --isolation "$isolation" "$spec" >"$tmp/actual" 2>"$tmp/err" ||
  status=$?
if ((status != 0)); then
  echo "FAIL: mvdb isolation exited with status $status:" >&2
  cat "$tmp/err" >&2
fi
if ! cmp -s "$expected" "$tmp/actual"; then
  echo "FAIL: the transcript of $(basename "$spec") at $isolation differs from PostgreSQL's:" >&2
  diff -u --label "expected (PostgreSQL)" --label "actual (mvdb)" "$expected" "$tmp/actual" >&2 ||
    true
  exit 1
fi
((status == 0)) || exit 1
# The spec's temporary database lives under TMPDIR and must be gone.
leftover="$(find "$tmp" -mindepth 1 -maxdepth 1 -name 'mvdb-isolation-*')"
if [[ -n "$leftover" ]]; then
  echo "FAIL: the temporary database was left behind: $leftover" >&2
  exit 1
fi
echo "$(basename "$spec") at $isolation: identical to PostgreSQL's transcript"
