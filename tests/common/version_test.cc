#include "mvdb/version.h"

#include <gtest/gtest.h>

#include <string>

namespace mvdb {
namespace {

// The library reports the version its headers carry, and the string macro
// spells the three numbers (CMake reads them from version.h).
TEST(VersionTest, LibraryAndHeadersAgree) {
  EXPECT_STREQ(Version(), MVDB_VERSION_STRING);
  EXPECT_EQ(std::string(MVDB_VERSION_STRING), std::to_string(MVDB_VERSION_MAJOR) + "." +
                                                  std::to_string(MVDB_VERSION_MINOR) + "." +
                                                  std::to_string(MVDB_VERSION_PATCH));
}

}  // namespace
}  // namespace mvdb
