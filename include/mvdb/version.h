// The version of mvdb: the macros are the headers' version, mvdb::Version()
// the library's. They differ only when a program runs with another build of
// libmvdb.so than the one it was compiled against.
//
// This file is the one place the version is written down: CMakeLists.txt
// reads the three numbers from it for the project, the CMake package, the
// pkg-config file and the shared library's SONAME (libmvdb.so.MAJOR, or
// libmvdb.so.0.MINOR while the major version is 0, when a new minor
// version may change the API).
#pragma once

#include "mvdb/export.h"

#define MVDB_VERSION_MAJOR 0
#define MVDB_VERSION_MINOR 1
#define MVDB_VERSION_PATCH 0

#define MVDB_VERSION_STR_INNER_(x) #x
#define MVDB_VERSION_STR_(x) MVDB_VERSION_STR_INNER_(x)
// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
#define MVDB_VERSION_STRING             \
  MVDB_VERSION_STR_(MVDB_VERSION_MAJOR) \
  "." MVDB_VERSION_STR_(MVDB_VERSION_MINOR) "." MVDB_VERSION_STR_(MVDB_VERSION_PATCH)

namespace mvdb {

// The version of the library this program runs with, "MAJOR.MINOR.PATCH"
// (MVDB_VERSION_STRING as the library was compiled).
MVDB_EXPORT const char* Version();

}  // namespace mvdb
