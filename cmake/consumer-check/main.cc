// Fails unless the installed headers compile and the installed libraries
// link and behave: the public API is only Status so far.
#include <cstdio>

#include "mvdb/status.h"

int main() {
  mvdb::Status status = mvdb::Status::NotFound("no such tree");
  if (status.ToString() != "NotFound: no such tree" || status.IsRetryable()) {
    std::fprintf(stderr, "unexpected status: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("find_package(mvdb): OK\n");
  return 0;
}
