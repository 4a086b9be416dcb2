// MVDB_EXPORT marks the declarations that make up the public API, and
// MVDB_HIDDEN what an exported class declares but keeps to the library
// (its nested Impl).
//
// mvdb is compiled with hidden symbol visibility (-fvisibility=hidden), so
// libmvdb.so exports only what its public headers declare with this macro:
// the classes and free functions of include/mvdb/. Everything else in the
// library stays internal and can change without breaking programs linked
// against it. For a program that includes these headers the macro changes
// nothing.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define MVDB_EXPORT [[gnu::visibility("default")]]
#define MVDB_HIDDEN [[gnu::visibility("hidden")]]
#else
#define MVDB_EXPORT
#define MVDB_HIDDEN
#endif
