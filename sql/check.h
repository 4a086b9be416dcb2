// CheckRows: the SQL level of `mvdb check` (shell/check_command.cc). The
// engine's check (engine/check.cc) proves every page and tree sound; this
// reads what the trees mean: every catalog row, every row of every table
// decoded against its schema, and every index entry and unique claim
// matched with its row and back (sql/README.md, "Tables on the key-value
// API"; sql/index.h).
//
// It reads the trees of a TreeStore directly, never through a Database
// (whose open replays the log and checkpoints), so the caller can check a
// store opened read-only: it sees the newest checkpoint. Tombstones (deletes
// that a snapshot may still need) are skipped, on both sides.
//
// Threading: one thread; nobody may change the store meanwhile.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "btree/tree_store.h"
#include "mvdb/status.h"

namespace mvdb::sql {

struct RowCheckReport {
  uint64_t tables = 0;
  uint64_t rows = 0;
  uint64_t index_entries = 0;  // entries and unique claims
  // One line per bad row or entry: "table t, key (1, 'a'): what is wrong".
  std::vector<std::string> problems;
};

// Checks every SQL table of `store`. Errors: the store's own (a page that
// cannot be read); bad rows are `problems`, not errors. A store without the
// catalog table (no SQL table was ever made) has nothing to check.
Result<RowCheckReport> CheckRows(TreeStore* store);

}  // namespace mvdb::sql
