// `mvdb check DBDIR`: verifies every file of a database nobody holds open
// (engine/check.cc: the lock, both meta slots, the page map, every tree and
// every log segment), then every SQL row and index entry (sql/check.h),
// without changing anything, and prints a table of the trees;
// `mvdb recover --discard-damaged-log DBDIR`.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace mvdb::shell {

// Returns the exit status: 0 when everything checked out, 1 otherwise (the
// reason on `err`).
int RunCheckCommand(const std::string& dir, std::ostream& out, std::ostream& err);

// `mvdb recover --discard-damaged-log DIR` (DiscardDamagedLog in
// engine/engine.h): prints what was cut and where the bytes went; 0 when
// done or when there was nothing to do, 1 otherwise (the reason on `err`).
int RunRecoverCommand(const std::string& dir, std::ostream& out, std::ostream& err);

// Bytes as the tree table shows them: as is when printable ASCII without
// blanks, quotes or backslashes, else in double quotes with \" \\ and \xNN.
std::string Printable(std::string_view bytes);

}  // namespace mvdb::shell
