// The command loop of the interim `mvdb` program: a line-oriented demo of the
// database facade (named B+trees, every change an atomic write batch through
// the write-ahead log; db/engine.h) that stays until the SQL shell replaces
// it. It is a demo, not an API: nothing outside shell/ uses
// it, and its commands are not part of the contract.
//
// Threading: one DemoRepl is used by one thread.
#pragma once

#include <ostream>
#include <string_view>

#include "btree/tree_store.h"
#include "engine/engine.h"
#include "io/file.h"

namespace mvdb::shell {

class DemoRepl {
 public:
  // `engine` and `fs` (the file system `engine` was opened with) must
  // outlive the REPL. Results go to `out`, errors to `err` as
  // "error: <status>". A change is acknowledged ("OK") only once the engine
  // has committed it with the database's sync mode.
  DemoRepl(Engine* engine, FileSystem* fs, std::ostream& out, std::ostream& err)
      : engine_(engine), fs_(fs), out_(out), err_(err) {}

  // Runs one command line. Returns false when it asks to quit.
  bool Execute(std::string_view line);

  // The text `help` prints.
  static std::string_view HelpText();

 private:
  Engine* engine_;
  FileSystem* fs_;
  std::ostream& out_;
  std::ostream& err_;
};

// Prints what TreeStore::Check found: page counts, then one line per tree.
void PrintCheckReport(const StoreCheckReport& report, std::ostream& out);

}  // namespace mvdb::shell
