// The command loop of the interim `mvdb` program: a line-oriented demo of the
// storage core (named B+trees in one data file) that stays until the SQL
// shell replaces it. It is a demo, not an API: nothing outside shell/ uses
// it, and its commands are not part of the contract.
//
// Threading: one DemoRepl is used by one thread.
#pragma once

#include <ostream>
#include <string_view>

#include "btree/tree_store.h"
#include "io/file.h"

namespace mvdb::shell {

class DemoRepl {
 public:
  // `store` and `fs` (the file system `store` was opened with) must outlive
  // the REPL. Results go to `out`, errors to `err` as "error: <status>".
  DemoRepl(TreeStore* store, FileSystem* fs, std::ostream& out, std::ostream& err)
      : store_(store), fs_(fs), out_(out), err_(err) {}

  // Runs one command line. Returns false when it asks to quit.
  bool Execute(std::string_view line);

  // The text `help` prints.
  static std::string_view HelpText();

 private:
  TreeStore* store_;
  FileSystem* fs_;
  std::ostream& out_;
  std::ostream& err_;
};

// Prints what TreeStore::Check found: page counts, then one line per tree.
void PrintCheckReport(const StoreCheckReport& report, std::ostream& out);

}  // namespace mvdb::shell
