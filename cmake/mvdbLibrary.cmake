# The library other programs link: the engine layers common/ to db/ (not
# sql/ or shell/, which have no public headers), as
#
#   mvdb_static  libmvdb.a, self-contained: the objects of every layer and
#                of liburing, so a program needs nothing but the C++
#                standard library and threads to link it;
#   mvdb_shared  libmvdb.so.<SOVERSION>, exporting only the public API
#                (what include/mvdb/ marks MVDB_EXPORT), liburing linked in
#                as a shared library of its own;
#   mvdb::mvdb   the shared one (mvdb::mvdb_static and mvdb::mvdb_shared by
#                name), as find_package(mvdb) defines them.
#
# Both are made from the layers' object files, compiled once (position-
# independent, hidden by default; below). The layers stay separate static
# libraries for mvdb's own programs and tests.
# Why merged rather than installing every layer: one archive is what
# `-lmvdb` and pkg-config expect, and the layers' names and boundaries stay
# internal, free to change. Included by the top-level CMakeLists.txt after
# db/; cmake/mvdbInstall.cmake installs both.

include(GNUInstallDirs)

# Bottom-up. A new layer of the engine is added here.
set(mvdb_engine_layers
  mvdb_common mvdb_io mvdb_buffer mvdb_wal mvdb_btree mvdb_engine mvdb_mvcc mvdb_txn mvdb_db)
# Their objects go into libmvdb.so too: position-independent, and hidden
# unless a public header marks them MVDB_EXPORT (include/mvdb/export.h), so
# that calls inside the library bind directly, as in a static build.
set(mvdb_engine_objects "")
foreach(layer IN LISTS mvdb_engine_layers)
  set_target_properties(${layer} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${layer} PRIVATE
    $<$<CXX_COMPILER_ID:GNU>:-fno-semantic-interposition>)
  list(APPEND mvdb_engine_objects $<TARGET_OBJECTS:${layer}>)
endforeach()

# 0.x: a new minor version may break the API, so it gets a new SONAME.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(MVDB_SOVERSION 0.${PROJECT_VERSION_MINOR})
else()
  set(MVDB_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# liburing's own objects go into libmvdb.a (Debian's liburing-dev ships
# liburing.a), so that linking it needs no liburing development files.
# Without liburing.a, libmvdb.a asks for -luring instead.
find_library(MVDB_URING_ARCHIVE NAMES liburing.a HINTS ${URING_LIBRARY_DIRS} NO_CACHE)
set(mvdb_uring_objects "")
if(MVDB_URING_ARCHIVE)
  set(mvdb_uring_dir ${CMAKE_CURRENT_BINARY_DIR}/liburing-objects)
  file(REMOVE_RECURSE ${mvdb_uring_dir})
  # (The members, not the archive's symbol table "/".)
  file(ARCHIVE_EXTRACT INPUT ${MVDB_URING_ARCHIVE} DESTINATION ${mvdb_uring_dir} PATTERNS "*.o*")
  file(GLOB mvdb_uring_objects ${mvdb_uring_dir}/*)
  set_source_files_properties(${mvdb_uring_objects} PROPERTIES EXTERNAL_OBJECT TRUE)
  set(MVDB_STATIC_LIBS_PRIVATE "-pthread")
else()
  set(MVDB_STATIC_LIBS_PRIVATE "-luring -pthread")
endif()

foreach(kind static shared)
  string(TOUPPER ${kind} kind_upper)
  add_library(mvdb_${kind} ${kind_upper} ${mvdb_engine_objects})
  set_target_properties(mvdb_${kind} PROPERTIES
    OUTPUT_NAME mvdb
    EXPORT_NAME mvdb_${kind}
    ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
  # The public headers are C++17.
  target_compile_features(mvdb_${kind} INTERFACE cxx_std_17)
  target_include_directories(mvdb_${kind} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  add_library(mvdb::mvdb_${kind} ALIAS mvdb_${kind})
endforeach()

target_sources(mvdb_static PRIVATE ${mvdb_uring_objects})
target_link_libraries(mvdb_static INTERFACE Threads::Threads)
if(NOT MVDB_URING_ARCHIVE)
  target_link_libraries(mvdb_static INTERFACE uring)
endif()

# Only mvdb:: symbols that the compiler left visible are exported (the
# version script hides the instantiations of standard templates too), and
# every symbol must resolve at link time.
set(mvdb_version_script ${CMAKE_CURRENT_LIST_DIR}/libmvdb.map)
set_target_properties(mvdb_shared PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${MVDB_SOVERSION}
  LINK_DEPENDS ${mvdb_version_script})
target_link_libraries(mvdb_shared PRIVATE PkgConfig::URING Threads::Threads)
target_link_options(mvdb_shared PRIVATE "LINKER:--version-script=${mvdb_version_script}")
# (Sanitizer runtimes are linked into executables only by clang.)
if(MVDB_SANITIZE STREQUAL "")
  target_link_options(mvdb_shared PRIVATE "LINKER:--no-undefined")
endif()

add_library(mvdb::mvdb ALIAS mvdb_shared)
