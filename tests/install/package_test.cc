// Built against an installed mvdb (tests/install/CMakeLists.txt, or with
// pkg-config by install_test.sh): exits with status 1 unless the version of
// the package (MVDB_PACKAGE_VERSION, passed by the build), of the headers
// and of the library agree, and the exported functions and classes link
// and behave.
#include <cstdio>
#include <cstring>
#include <string>

#include "mvdb/db.h"
#include "mvdb/version.h"

#ifndef MVDB_PACKAGE_VERSION
#error "build with -DMVDB_PACKAGE_VERSION=\"<the package's version>\""
#endif

namespace {

int failures = 0;

void Expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "package_test: %s\n", what.c_str());
    ++failures;
  }
}

}  // namespace

int main() {
  const std::string from_macros = std::to_string(MVDB_VERSION_MAJOR) + "." +
                                  std::to_string(MVDB_VERSION_MINOR) + "." +
                                  std::to_string(MVDB_VERSION_PATCH);
  Expect(from_macros == MVDB_VERSION_STRING,
         "MVDB_VERSION_STRING " MVDB_VERSION_STRING " is not " + from_macros);
  Expect(std::strcmp(mvdb::Version(), MVDB_VERSION_STRING) == 0,
         std::string("mvdb::Version() is ") + mvdb::Version() +
             ", the headers' version " MVDB_VERSION_STRING);
  Expect(std::strcmp(MVDB_PACKAGE_VERSION, MVDB_VERSION_STRING) == 0,
         "the package's version " MVDB_PACKAGE_VERSION " is not the headers' " MVDB_VERSION_STRING);

  mvdb::Status status = mvdb::Status::NotFound("no such table");
  Expect(status.ToString() == "NotFound: no such table" && !status.IsRetryable(),
         "Status::NotFound: " + status.ToString());
  Expect(mvdb::StatusCodeName(mvdb::StatusCode::kConflict) == "Conflict", "StatusCodeName");
  Expect(std::strcmp(mvdb::IsolationLevelName(mvdb::IsolationLevel::kSnapshot), "snapshot") == 0,
         "IsolationLevelName");
  Expect(
      std::strcmp(mvdb::TransactionStateName(mvdb::TransactionState::kCommitted), "committed") == 0,
      "TransactionStateName");

  // A database that cannot be created: the error comes back as a Status.
  mvdb::Options options;
  options.create_if_missing = false;
  auto db = mvdb::Database::Open("/nonexistent/mvdb-package-test", options);
  Expect(!db.ok() && db.status().IsNotFound(),
         "Open of a missing directory: " + db.status().ToString());

  if (failures != 0) return 1;
  std::printf("package_test: mvdb %s: OK\n", mvdb::Version());
  return 0;
}
