#!/usr/bin/env bash
# The install stage of scripts/run-tests: mvdb as a library other programs
# link, checked the way such a program's author would meet it.
#
#   tests/install/install_test.sh WORKDIR [RELEASE-BUILD]
#
# 1. Configures and builds the library alone (MVDB_BUILD_SHELL, _TESTS,
#    _BENCH, _EXAMPLES off: no CLI11 or readline needed) in WORKDIR and
#    installs only its `library` component into WORKDIR/prefix: headers,
#    libmvdb.a, libmvdb.so, the CMake package, mvdb.pc, and no program.
#    With RELEASE-BUILD (CI) the library-only build is only configured and
#    the component comes from RELEASE-BUILD, which compiled the same
#    library, so CI does not compile the engine twice.
# 2. Checks the shared library: a SONAME, and every exported symbol a
#    member of a name that include/mvdb/ declares MVDB_EXPORT (no pimpl
#    Impl, nothing internal); prints the sizes and the count.
# 3. Builds examples/ and tests/install/ against that prefix with nothing
#    but the compiler, CMake or pkg-config, and the prefix: find_package
#    (mvdb::mvdb, the shared library), find_package with
#    MVDB_USE_STATIC_LIBS=ON (libmvdb.a: the programs need neither
#    libmvdb.so nor liburing.so), and pkg-config (shared, and static with
#    -Wl,-Bstatic). Every header each compile read, from the compiler's
#    dependency output, must be in the prefix or in the standard library (a
#    probe that includes every C++ standard header and a few POSIX ones
#    lists those): no Boost, liburing or mvdb source header. Runs every
#    program built.
# 4. With RELEASE-BUILD (a full build), `cmake --install` of everything
#    gives bin/mvdb too, and `--component shell` the program alone.
#
# Exits with status 1 at the first failure, saying what failed. Uses
# $CXX (default c++) and MVDB_JOBS like scripts/build.
set -euo pipefail
export LC_ALL=C
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

(($# >= 1)) || mvdb_die "usage: install_test.sh WORKDIR [RELEASE-BUILD]"
mkdir -p "$1"
work="$(cd "$1" && pwd)"
release="${2:-}"
cxx="${CXX:-c++}"
fail() {
  printf 'install_test: FAILED: %s\n' "$*" >&2
  exit 1
}
# Runs a command with its output in a log, shown only when it fails.
quiet() {
  local log="$work/$1.log"
  shift
  "$@" >"$log" 2>&1 || {
    tail -n 60 "$log" >&2
    fail "$*"
  }
}

# 1. The library alone, its component alone.
prefix="$work/prefix"
rm -rf "$prefix"
lib_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DMVDB_BUILD_SHELL=OFF
  -DMVDB_BUILD_TESTS=OFF -DMVDB_BUILD_BENCH=OFF -DMVDB_BUILD_EXAMPLES=OFF)
if [[ -n "$release" ]]; then
  # The Release build compiled the same library (the engine layers carry the
  # library's flags in every build): install its library component, and
  # only configure a library-only build (CI would otherwise compile the
  # engine a second time for the same objects).
  mvdb_say "library component of ${release}; library-only configure in ${work}/lib-build"
  quiet lib-configure cmake -S "$MVDB_ROOT" -B "$work/lib-build" "${lib_args[@]}"
  quiet lib-install cmake --install "$release" --prefix "$prefix" --component library
  cache="$release/CMakeCache.txt"
else
  mvdb_say "library-only build in ${work}/lib-build"
  quiet lib-configure cmake -S "$MVDB_ROOT" -B "$work/lib-build" "${lib_args[@]}"
  quiet lib-build ninja -C "$work/lib-build" -j "$MVDB_JOBS"
  quiet lib-install cmake --install "$work/lib-build" --prefix "$prefix" --component library
  cache="$work/lib-build/CMakeCache.txt"
fi
[[ ! -e "$prefix/bin" ]] || fail "the library component installed programs: $(ls "$prefix/bin")"
libdir="$(dirname "$(find "$prefix" -name libmvdb.a)")"
[[ -f "$libdir/libmvdb.a" && -f "$libdir/cmake/mvdb/mvdbConfig.cmake" &&
  -f "$libdir/pkgconfig/mvdb.pc" ]] || fail "libmvdb.a, the CMake package or mvdb.pc is missing"
diff <(cd "$MVDB_ROOT/include/mvdb" && ls) <(cd "$prefix/include/mvdb" && ls) >/dev/null ||
  fail "the installed headers are not include/mvdb/'s"
version="$(grep -m1 '^CMAKE_PROJECT_VERSION:' "$cache" | cut -d= -f2)"
[[ -n "$version" ]] || fail "no project version in the build's cache"

# 2. The shared library's interface.
so="$(readlink -f "$libdir/libmvdb.so")"
soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[[ "$soname" == libmvdb.so.* && -e "$libdir/$soname" ]] || fail "libmvdb.so has no SONAME or no link named after it ($soname)"
if readelf -d "$so" | grep NEEDED | grep -Eiv 'lib(uring|stdc\+\+|m|gcc_s|c)\.so|ld-linux'; then
  fail "libmvdb.so needs a library other than liburing and the C/C++ runtime"
fi
nm -D --defined-only -C "$so" | cut -d' ' -f3- | sort -u >"$work/exports"
# class [[nodiscard]] MVDB_EXPORT Status {, MVDB_EXPORT const char* Version();
grep -ohE 'MVDB_EXPORT [A-Za-z_][A-Za-z0-9_:<>*& ]*[A-Za-z0-9_]+( \{|\()' "$prefix"/include/mvdb/*.h |
  sed -E 's/[ ({]+$//; s/ final$//; s/.*[ *&]//' | sort -u >"$work/public-names"
[[ -s "$work/public-names" ]] || fail "no MVDB_EXPORT declarations in the installed headers"
names="$(paste -sd'|' "$work/public-names")"
if grep -Ev "^((typeinfo|typeinfo name|vtable|VTT) for )?mvdb::($names)(::|\(|\[)" "$work/exports" ||
  grep '::Impl::' "$work/exports"; then
  fail "libmvdb.so exports the symbols above, which include/mvdb/ does not declare MVDB_EXPORT"
fi
exported="$(nm -D --defined-only "$so" | wc -l)"
summary="libmvdb.a $(stat -c %s "$libdir/libmvdb.a") bytes, $soname $(stat -c %s "$so") bytes, $exported symbols exported"
mvdb_say "$summary"

# 3. Outside programs. The standard library's headers, as this compiler finds them.
headers=(algorithm any array atomic barrier bit bitset cassert cctype cerrno cfenv cfloat
  charconv chrono cinttypes climits clocale cmath codecvt compare complex concepts
  condition_variable coroutine csetjmp csignal cstdarg cstddef cstdint cstdio cstdlib cstring
  ctime cuchar cwchar cwctype deque exception filesystem format forward_list fstream functional
  future initializer_list iomanip ios iosfwd iostream istream iterator latch limits list locale
  map memory memory_resource mutex new numbers numeric optional ostream queue random ranges
  ratio regex scoped_allocator semaphore set shared_mutex source_location span sstream stack
  stdexcept stop_token streambuf string string_view syncstream system_error thread tuple
  type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector
  version assert.h ctype.h errno.h float.h inttypes.h limits.h locale.h math.h setjmp.h
  signal.h stdarg.h stddef.h stdint.h stdio.h stdlib.h string.h time.h wchar.h wctype.h
  dirent.h fcntl.h pthread.h sys/stat.h sys/types.h unistd.h)
for h in "${headers[@]}"; do
  printf '#if __has_include(<%s>)\n#include <%s>\n#endif\n' "$h" "$h"
done >"$work/std_probe.cc"
# Make-style dependencies (x.o: a b \ c) to one resolved path a line.
deps_to_paths() { sed 's/\\$//' "$1" | tr ' ' '\n' | grep -v -e ':$' -e '^$' | xargs -r realpath -m; }
# Optimisation and _FORTIFY_SOURCE bring in more of the C library's headers.
for flags in -O0 -O2 "-O2 -D_FORTIFY_SOURCE=2"; do
  read -r -a f <<<"$flags"
  "$cxx" -std=c++20 -w "${f[@]}" -M "$work/std_probe.cc" || fail "the standard library probe does not compile"
done >"$work/std_probe.d"
deps_to_paths "$work/std_probe.d" | grep -v 'std_probe\.cc$' | sort -u >"$work/std-headers"
real_prefix="$(realpath "$prefix")"

# check_headers NAME: the paths on standard input (every file one build's
# compiles read) are the programs' own sources, the prefix's headers or the
# standard library's.
check_headers() {
  local name="$1"
  sort -u >"$work/$name.headers"
  grep -Ev "^($MVDB_ROOT/examples/|$MVDB_ROOT/tests/install/).*\.cc$|^$real_prefix/include/mvdb/" \
    "$work/$name.headers" |
    comm -23 - "$work/std-headers" >"$work/$name.foreign" || true
  if [[ -s "$work/$name.foreign" ]]; then
    cat "$work/$name.foreign" >&2
    fail "$name: the compiles read the headers above, neither the prefix's nor the standard library's"
  fi
  grep -q "^$real_prefix/include/mvdb/db.h$" "$work/$name.headers" ||
    fail "$name: mvdb/db.h did not come from the prefix"
}
# ninja -t deps: "target: #deps ..." then the dependencies, indented, relative
# to the build directory when inside it.
ninja_headers() {
  ninja -C "$1" -t deps | sed -n 's/^    //p' | (cd "$1" && xargs -r realpath -m)
}

# check_linked NAME PROGRAM shared|static
check_linked() {
  local needed
  needed="$(readelf -d "$2" | grep NEEDED || true)"
  if [[ "$3" == shared ]]; then
    grep -qF "[$soname]" <<<"$needed" || fail "$1: $(basename "$2") does not load $soname"
  elif grep -E 'libmvdb|liburing' <<<"$needed"; then
    fail "$1: $(basename "$2") links libmvdb.a but needs the shared libraries above"
  fi
}

mkdir -p "$work/tmp"
run_program() {
  mvdb_say "$1: $(basename "$2")"
  TMPDIR="$work/tmp" "$2" || fail "$1: $(basename "$2") exited with status $?"
}

examples=()
for d in "$MVDB_ROOT"/examples/*/; do
  d="${d%/}"
  [[ -f "$d/$(basename "$d").cc" ]] && examples+=("$(basename "$d")")
done
((${#examples[@]} > 0)) || fail "no examples/<name>/<name>.cc"

for link in shared static; do
  static=OFF
  [[ "$link" == static ]] && static=ON
  for project in examples tests/install; do
    name="cmake-$link-${project##*/}"
    mvdb_say "$name: find_package(mvdb), MVDB_USE_STATIC_LIBS=$static"
    quiet "$name-configure" cmake -S "$MVDB_ROOT/$project" -B "$work/$name" -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
      -DMVDB_USE_STATIC_LIBS=$static
    grep -q "^mvdb_DIR:PATH=$libdir/cmake/mvdb$" "$work/$name/CMakeCache.txt" ||
      fail "$name: find_package(mvdb) found $(grep '^mvdb_DIR:' "$work/$name/CMakeCache.txt")"
    quiet "$name-build" ninja -C "$work/$name" -j "$MVDB_JOBS"
    ninja_headers "$work/$name" | check_headers "$name"
    if [[ "$project" == examples ]]; then
      programs=("${examples[@]}")
    else
      programs=(package_test)
    fi
    for p in "${programs[@]}"; do
      [[ -x "$work/$name/$p" ]] || fail "$name: $p was not built (is it in examples/CMakeLists.txt?)"
      check_linked "$name" "$work/$name/$p" "$link"
      run_program "$name" "$work/$name/$p"
    done
  done
done

# pkg-config, seeing the prefix's .pc files only.
export PKG_CONFIG_LIBDIR="$libdir/pkgconfig"
[[ "$(pkg-config --modversion mvdb)" == "$version" ]] || fail "pkg-config --modversion mvdb is not $version"
[[ "$(pkg-config --variable=libdir mvdb)" -ef "$libdir" ]] || fail "mvdb.pc's libdir is not $libdir"
read -r -a cflags <<<"$(pkg-config --cflags mvdb)"
for link in shared static; do
  name="pkg-config-$link"
  mkdir -p "$work/$name"
  if [[ "$link" == shared ]]; then
    read -r -a libs <<<"$(pkg-config --libs mvdb) -Wl,-rpath,$libdir"
  else
    read -r -a libs <<<"$(pkg-config --static --libs mvdb | sed 's/-lmvdb/-Wl,-Bstatic -lmvdb -Wl,-Bdynamic/')"
  fi
  mvdb_say "$name: $cxx \$(pkg-config --cflags mvdb) ... ${libs[*]}"
  : >"$work/$name.d"
  for p in "${examples[@]}" package_test; do
    src="$MVDB_ROOT/examples/$p/$p.cc"
    std=-std=c++20
    defs=()
    if [[ "$p" == package_test ]]; then
      src="$MVDB_ROOT/tests/install/package_test.cc"
      std=-std=c++17
      defs=("-DMVDB_PACKAGE_VERSION=\"$version\"")
    fi
    quiet "$name-$p" "$cxx" "$std" -O2 -pthread "${cflags[@]}" "${defs[@]}" -MD -MF "$work/$name/$p.d" \
      "$src" -o "$work/$name/$p" "${libs[@]}"
    deps_to_paths "$work/$name/$p.d" >>"$work/$name.d"
    check_linked "$name" "$work/$name/$p" "$link"
    run_program "$name" "$work/$name/$p"
  done
  check_headers "$name" <"$work/$name.d"
done
unset PKG_CONFIG_LIBDIR

# 4. Everything, and the program alone, from a full build.
if [[ -n "$release" ]]; then
  mvdb_say "cmake --install of ${release#"$MVDB_ROOT"/}: everything, then the shell component"
  rm -rf "$work/full" "$work/shell-only"
  quiet full-install cmake --install "$release" --prefix "$work/full"
  [[ "$("$work/full/bin/mvdb" --version)" == "mvdb $version" ]] || fail "bin/mvdb --version is not mvdb $version"
  [[ -f "$(dirname "$(find "$work/full" -name libmvdb.a)")/libmvdb.a" ]] || fail "the full install has no libmvdb.a"
  quiet shell-install cmake --install "$release" --prefix "$work/shell-only" --component shell
  [[ "$(cd "$work/shell-only" && find . -type f)" == "./bin/mvdb" ]] ||
    fail "the shell component is not bin/mvdb alone: $(cd "$work/shell-only" && find . -type f)"
fi

echo "install_test: OK: $summary"
