// `mvdb check` and `mvdb recover` (shell/check_command.h).
#include "shell/check_command.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <memory>

#include "btree/tree_store.h"
#include "buffer/buffer_pool.h"
#include "engine/engine.h"
#include "io/file.h"
#include "mvdb/status.h"
#include "sql/check.h"

namespace mvdb::shell {
namespace {

void PrintTreeTable(const StoreCheckReport& report, std::ostream& out) {
  out << "ok: " << report.page_count << " pages of " << kPageSize << " bytes, " << report.free_pages
      << " free, " << report.trees.size() << (report.trees.size() == 1 ? " tree\n" : " trees\n");
  if (report.trees.empty()) return;
  size_t width = 4;
  for (const auto& [name, tree] : report.trees) {
    width = std::max(width, Printable(name).size());
  }
  out << std::left << std::setw(static_cast<int>(width)) << "tree" << std::right
      << "  height  leaf pages  inner pages  overflow pages     entries  leaf fill\n";
  for (const auto& [name, tree] : report.trees) {
    out << std::left << std::setw(static_cast<int>(width)) << Printable(name) << std::right
        << std::setw(8) << tree.height << std::setw(12) << tree.leaf_pages << std::setw(13)
        << tree.inner_pages << std::setw(16) << tree.overflow_pages << std::setw(12) << tree.entries
        << std::setw(10) << std::fixed << std::setprecision(1) << 100.0 * tree.leaf_fill << "%\n"
        << std::defaultfloat;
  }
}

// The SQL level: every row and index entry against the catalog.
Status CheckSqlRows(TreeStore* store, std::string* report) {
  MVDB_ASSIGN_OR_RETURN(const sql::RowCheckReport rows, sql::CheckRows(store));
  std::string& out = *report;
  out += "  rows: " + std::to_string(rows.rows) + " in " + std::to_string(rows.tables) +
         (rows.tables == 1 ? " SQL table, " : " SQL tables, ") +
         std::to_string(rows.index_entries) + " index entries and claims: ";
  if (rows.problems.empty()) {
    out += "OK\n";
    return Status::OK();
  }
  out += std::to_string(rows.problems.size()) + " bad\n";
  for (const std::string& problem : rows.problems) out += "  bad row: " + problem + "\n";
  return Status::Corruption(rows.problems.front() +
                            (rows.problems.size() > 1
                                 ? " (and " + std::to_string(rows.problems.size() - 1) + " more)"
                                 : ""));
}

}  // namespace

std::string Printable(std::string_view bytes) {
  const bool plain = !bytes.empty() && std::all_of(bytes.begin(), bytes.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain) return std::string(bytes);
  std::string out = "\"";
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= ' ' && byte < 0x7f) {
      out += c;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", byte);
      out += hex;
    }
  }
  out += '"';
  return out;
}

int RunCheckCommand(const std::string& dir, std::ostream& out, std::ostream& err) {
  Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(IoBackend::kAuto);
  if (!fs.ok()) {
    err << "mvdb check: " << fs.status().ToString() << '\n';
    return 1;
  }
  std::string report;
  StoreCheckReport trees;
  const Status status = CheckDatabase(dir, &report, fs->get(), &trees, &CheckSqlRows);
  out << report;
  if (!status.ok()) {
    err << "mvdb check: " << status.ToString() << '\n';
    return 1;
  }
  PrintTreeTable(trees, out);
  return 0;
}

int RunRecoverCommand(const std::string& dir, std::ostream& out, std::ostream& err) {
  Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(IoBackend::kAuto);
  if (!fs.ok()) {
    err << "mvdb recover: " << fs.status().ToString() << '\n';
    return 1;
  }
  std::string report;
  const Status status = DiscardDamagedLog(dir, &report, fs->get());
  out << report;
  if (!status.ok()) {
    err << "mvdb recover: " << status.ToString() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace mvdb::shell
