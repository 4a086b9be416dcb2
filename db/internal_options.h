// Options of a database that only mvdb's own tests set: hooks whose types
// are not part of the installed API (include/mvdb/ names none of them).
// Internal to mvdb; tests reach them through DatabaseInternal::Open.
#pragma once

#include <memory>
#include <string>

#include "mvdb/db.h"

namespace mvdb {

class FileSystem;

struct InternalOptions {
  // Null: the real file system (io_uring where the kernel allows). When set
  // (the fault-injecting one of io/), it must outlive the Database.
  FileSystem* file_system = nullptr;
  // Teaching and testing only: skips the first-updater-wins check, so
  // snapshot isolation loses updates the way a careless engine would. The
  // history checker's tests use it to show that they catch the anomaly.
  bool unsafe_skip_write_conflict_check = false;
};

struct DatabaseInternal {
  // Database::Open with the hooks above.
  static Result<std::unique_ptr<Database>> Open(const std::string& dir, const Options& options,
                                                const InternalOptions& internal);
};

}  // namespace mvdb
