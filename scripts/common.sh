# shellcheck shell=bash
# Sourced by the scripts in this folder; not run on its own.
#
# Where things are, how builds are named, and the ThreadSanitizer probe, kept
# in one place so that scripts/build and scripts/run-tests agree.

MVDB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Parallel jobs for builds and tests. The machines this runs on have 2 cores
# shared by everyone, so more than 2 only adds contention.
MVDB_JOBS="${MVDB_JOBS:-2}"
# Build folders are <prefix>, <prefix>-debug, <prefix>-asan, <prefix>-tsan and
# <prefix>-fuzz.
# Engineers sharing one checkout set MVDB_BUILD_PREFIX=build-<name> to keep
# their builds apart; the README's commands use the default.
MVDB_BUILD_PREFIX="${MVDB_BUILD_PREFIX:-build}"

mvdb_say() { printf '==> %s\n' "$*" >&2; }
mvdb_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Prints the build folder of a flavor (release, debug, asan, tsan, fuzz).
mvdb_build_dir() {
  case "$1" in
    release) echo "$MVDB_ROOT/$MVDB_BUILD_PREFIX" ;;
    debug | asan | tsan | fuzz) echo "$MVDB_ROOT/$MVDB_BUILD_PREFIX-$1" ;;
    *) mvdb_die "unknown build flavor '$1' (release, debug, asan, tsan or fuzz)" ;;
  esac
}

# ThreadSanitizer maps its shadow memory at fixed addresses. On 6.x kernels
# with high ASLR entropy (vm.mmap_rnd_bits > 28) the TSan runtime of GCC 12
# and Clang 14 can find a library already mapped there and stops with
# "FATAL: ThreadSanitizer: unexpected memory mapping". Running without
# address randomisation (setarch -R) avoids it. This compiles a tiny threaded
# program and prints the command prefix TSan binaries need here: nothing
# when it runs as is, "setarch <arch> -R" when only that works. Fails when
# neither works.
mvdb_tsan_prefix() {
  local dir cxx rc=0
  cxx="${CXX:-c++}"
  dir="$(mktemp -d)"
  cat >"$dir/probe.cc" <<'PROBE'
#include <atomic>
#include <thread>
int main() {
  std::atomic<int> n{0};
  std::thread a([&] { n++; }), b([&] { n++; });
  a.join();
  b.join();
  return n == 2 ? 0 : 1;
}
PROBE
  if ! "$cxx" -std=c++20 -fsanitize=thread -pthread "$dir/probe.cc" -o "$dir/probe" \
    >"$dir/log" 2>&1; then
    cat "$dir/log" >&2
    rm -rf "$dir"
    mvdb_die "cannot compile with -fsanitize=thread using $cxx"
  fi
  if "$dir/probe" >"$dir/log" 2>&1; then
    :
  elif setarch "$(uname -m)" -R "$dir/probe" >/dev/null 2>&1; then
    echo "setarch $(uname -m) -R"
  else
    cat "$dir/log" >&2
    rc=1
  fi
  rm -rf "$dir"
  ((rc == 0)) || mvdb_die "ThreadSanitizer binaries do not run on this machine, even under setarch -R"
}
