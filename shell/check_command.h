// `mvdb check DBDIR`: verifies every file of a database nobody holds open
// (engine/check.cc: the lock, both meta slots, the page map, every tree and
// every log segment) without changing it, and prints a table of the trees.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace mvdb::shell {

// Returns the exit status: 0 when everything checked out, 1 otherwise (the
// reason on `err`).
int RunCheckCommand(const std::string& dir, std::ostream& out, std::ostream& err);

// Bytes as the tree table shows them: as is when printable ASCII without
// blanks, quotes or backslashes, else in double quotes with \" \\ and \xNN.
std::string Printable(std::string_view bytes);

}  // namespace mvdb::shell
