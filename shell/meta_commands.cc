// The SQL shell's backslash meta-commands (shell/sql_shell.h): psql's
// \? \q \x \timing \i \d \di, the sessions (\session, \sessions), and the
// inspection commands that show how the engine works (\versions \locks
// \txns \stats \btree \wal \checkpoint \gc) through the public API of
// include/mvdb/db.h.
//
// Table schemas come from the catalog rows in `__catalog` (sql/catalog.h),
// read in a read-only transaction and decoded with DecodeTableSchema, so the
// shell never touches the executor's in-memory catalog. Keys are encoded
// as the executor encodes them: the primary key's columns through the key
// codec (sql/key_codec.h).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "mvdb/db.h"
#include "shell/check_command.h"
#include "shell/sql_shell.h"
#include "sql/catalog.h"
#include "sql/key_codec.h"
#include "sql/row_codec.h"

namespace mvdb::shell {
namespace {

constexpr int kMaxIncludeDepth = 16;

constexpr char kHelp[] =
    R"HELP(General
  \q                     quit (also end of input)
  \? [commands]          this help
  \timing [on|off]       show how long each statement takes
  \x [on|off]            expanded output: one "column | value" line per field
  \i FILE                run the statements and meta-commands of FILE

Catalog
  \d                     list tables
  \d TABLE               describe a table: columns, types, not null, keys, indexes
  \di                    list indexes (primary keys included)

Sessions (each has its own transaction and thread)
  \session [NAME]        switch to session NAME, creating it if new
                         (without NAME: print the current session)
  \sessions              list the sessions and their state
  A statement that waits for another session's row lock does not freeze the
  shell: "(session a is waiting for session b)" is printed and you may switch
  sessions; its result is printed, labelled "[a]", when it completes.

Inspection
  \txns                  open transactions: isolation, snapshot, writes, waits
  \locks                 row locks held, by whom, and who waits for them
  \versions TABLE KEY... the version chain of the row with that primary key
                         (one value per key column; quote text with spaces
                         as 'two words'), and which session's snapshot sees
                         which version
  \stats                 transaction, version, cache and log counters
  \btree TABLE           height, pages, entries and fill of the table's B+tree
  \wal                   log segments, LSNs, last checkpoint, counters
  \checkpoint            take a checkpoint now
  \gc                    run the version collector now

SQL statements end with ';' and may span lines. docs/sql.md in mvdb's
source describes the SQL that mvdb speaks.
)HELP";

// Splits a meta-command's arguments at blanks; 'single quotes' keep blanks,
// and '' inside them is one quote, as in SQL.
std::vector<std::string> SplitArguments(std::string_view text) {
  std::vector<std::string> args;
  size_t i = 0;
  while (true) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i == text.size()) return args;
    std::string arg;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      if (text[i] != '\'') {
        arg += text[i++];
        continue;
      }
      ++i;
      while (i < text.size()) {
        if (text[i] == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            arg += '\'';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        arg += text[i++];
      }
    }
    args.push_back(std::move(arg));
  }
}

// "on", "off" or a toggle when absent.
bool Toggle(const std::vector<std::string>& args, bool current) {
  if (args.empty()) return !current;
  return args[0] == "on" || args[0] == "true" || args[0] == "1";
}

// Every table's schema, from the committed catalog rows.
Result<std::vector<sql::TableSchema>> ReadCatalog(Database* db) {
  TransactionOptions options;
  options.read_only = true;
  std::unique_ptr<Transaction> txn = db->Begin(options);
  std::vector<sql::TableSchema> schemas;
  {
    std::unique_ptr<Iterator> it = txn->NewIterator(sql::kCatalogTable);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      MVDB_ASSIGN_OR_RETURN(sql::TableSchema schema, sql::DecodeTableSchema(it->value()));
      schemas.push_back(std::move(schema));
    }
    if (!it->status().ok() && !it->status().IsNotFound()) return it->status();
  }
  return schemas;
}

std::string ColumnTypeName(const sql::ColumnSchema& column) {
  if (column.type == sql::TypeId::kText && column.max_length >= 0) {
    return "character varying(" + std::to_string(column.max_length) + ")";
  }
  return std::string(sql::TypeName(column.type));
}

std::string ColumnList(const sql::TableSchema& schema, const std::vector<int>& columns) {
  std::string list;
  for (int column : columns) {
    if (!list.empty()) list += ", ";
    list += schema.columns[static_cast<size_t>(column)].name;
  }
  return list;
}

// A value typed by the user for a key column.
Result<sql::Value> ParseKeyValue(std::string_view text, sql::TypeId type) {
  switch (type) {
    case sql::TypeId::kInt: {
      int64_t value = 0;
      const auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
      if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) break;
      return sql::Value::Int(value);
    }
    case sql::TypeId::kFloat: {
      const std::string copy(text);
      char* end = nullptr;
      const double value = std::strtod(copy.c_str(), &end);
      if (copy.empty() || *end != '\0') break;
      return sql::Value::Float(value);
    }
    case sql::TypeId::kBool:
      if (text == "t" || text == "true") return sql::Value::Bool(true);
      if (text == "f" || text == "false") return sql::Value::Bool(false);
      break;
    case sql::TypeId::kText:
      return sql::Value::Text(std::string(text));
    case sql::TypeId::kNull:
      break;
  }
  return Status::InvalidArgument("invalid input syntax for type " +
                                 std::string(sql::TypeName(type)) + ": \"" + std::string(text) +
                                 "\"");
}

// A row as PostgreSQL writes a record: (1,alice,100), NULL as nothing.
std::string FormatRow(std::string_view bytes, const sql::TableSchema& schema) {
  const std::vector<sql::TypeId> types = schema.ColumnTypes();
  Result<sql::DecodedRow> row = sql::DecodeRow(bytes, types);
  if (!row.ok()) return "(undecodable: " + row.status().ToString() + ")";
  std::string text = "(";
  for (size_t i = 0; i < row->columns.size(); ++i) {
    if (i > 0) text += ',';
    text += FormatValue(row->columns[i]);
  }
  return text + ")";
}

// A stored key, decoded by the table's key columns when possible.
std::string FormatKey(std::string_view key, const sql::TableSchema* schema) {
  if (schema == nullptr) return Printable(key);
  const std::vector<sql::KeyColumn> columns = schema->KeyColumns();
  std::string_view rest = key;
  Result<std::vector<sql::Value>> values = sql::DecodeCompositeKey(&rest, columns);
  if (!values.ok() || !rest.empty()) return Printable(key);
  std::string text;
  for (const sql::Value& value : *values) {
    if (!text.empty()) text += ", ";
    text += FormatValue(value);
  }
  return text;
}

std::string IsolationName(IsolationLevel level) {
  return level == IsolationLevel::kSnapshot ? "repeatable read" : "read committed";
}

std::string Milliseconds(double ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", ms);
  return text;
}

}  // namespace

bool SqlShell::MetaError(const std::string& message) {
  if (!FlushOutput()) return false;
  err_ << message << '\n';
  err_.flush();
  return CountError();
}

bool SqlShell::RunMetaCommand(Mode mode, std::string_view line) {
  line.remove_prefix(1);  // the backslash
  size_t name_end = 0;
  while (name_end < line.size() && !std::isspace(static_cast<unsigned char>(line[name_end]))) {
    ++name_end;
  }
  const std::string name(line.substr(0, name_end));
  const std::vector<std::string> args = SplitArguments(line.substr(name_end));
  (void)mode;
  bool go_on = true;
  if (name == "q" || name == "quit") {
    quit_ = true;
    return false;
  } else if (name == "?" || name == "help") {
    go_on = MetaHelp();
  } else if (name == "x") {
    options_.output.expanded = Toggle(args, options_.output.expanded);
    out_ << "Expanded display is " << (options_.output.expanded ? "on" : "off") << ".\n";
  } else if (name == "timing") {
    timing_ = Toggle(args, timing_);
    out_ << "Timing is " << (timing_ ? "on" : "off") << ".\n";
  } else if (name == "i" || name == "include") {
    go_on = MetaInclude(args);
  } else if (name == "d") {
    go_on = MetaDescribe(args);
  } else if (name == "di") {
    go_on = MetaIndexes();
  } else if (name == "session") {
    go_on = MetaSession(args);
  } else if (name == "sessions") {
    go_on = MetaSessions();
  } else if (name == "versions") {
    go_on = MetaVersions(args);
  } else if (name == "locks") {
    go_on = MetaLocks();
  } else if (name == "txns") {
    go_on = MetaTransactions();
  } else if (name == "stats") {
    go_on = MetaStats();
  } else if (name == "btree") {
    go_on = MetaBtree(args);
  } else if (name == "wal") {
    go_on = MetaWal();
  } else if (name == "checkpoint") {
    go_on = MetaCheckpoint();
  } else if (name == "gc") {
    go_on = MetaGc();
  } else {
    go_on = MetaError("invalid command \\" + name + "\nTry \\? for help.");
  }
  return FlushOutput() && go_on;
}

bool SqlShell::MetaHelp() {
  out_ << kHelp;
  return true;
}

bool SqlShell::MetaInclude(const std::vector<std::string>& args) {
  if (args.size() != 1) return MetaError("\\i: missing required argument (usage: \\i FILE)");
  if (include_depth_ >= kMaxIncludeDepth) {
    return MetaError("\\i: files include each other more than " + std::to_string(kMaxIncludeDepth) +
                     " deep");
  }
  // As psql: "FILE: No such file or directory", and a file that cannot be
  // read to its end (a directory, a line over the limit) is an error.
  Result<std::unique_ptr<LineReader>> file = LineReader::Open(args[0], sql::kMaxStatementBytes);
  if (!file.ok()) return MetaError(std::string(file.status().message()));
  ++include_depth_;
  const ScriptEnd end = RunScript(**file, args[0]);
  --include_depth_;
  switch (end) {
    case ScriptEnd::kEnd:
      return true;
    case ScriptEnd::kStopped:
      return false;
    case ScriptEnd::kUnreadable:
      break;
  }
  return CountError();
}

bool SqlShell::MetaSession(const std::vector<std::string>& args) {
  if (args.empty()) {
    out_ << current().name() << '\n';
    return true;
  }
  if (args.size() != 1) return MetaError("\\session: usage: \\session NAME");
  if (FindSession(args[0]) == nullptr) AddSession(args[0]);
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i]->name() == args[0]) current_ = i;
  }
  return true;
}

bool SqlShell::MetaSessions() {
  TextTable table;
  table.title = "Sessions";
  table.columns = {"Session", "Current", "State", "Transaction"};
  table.right_aligned = {false, false, false, true};
  for (size_t i = 0; i < sessions_.size(); ++i) {
    const SessionWorker& session = *sessions_[i];
    std::string state;
    if (session.busy()) {
      state = IsBlocked(session) ? "waiting for " + DescribeTransaction(session.waiting_for())
                                 : "running";
    } else {
      switch (session.block_state()) {
        case sql::BlockState::kIdle:
          state = "idle";
          break;
        case sql::BlockState::kInBlock:
          state = "in transaction";
          break;
        case sql::BlockState::kFailedBlock:
          state = "in failed transaction";
          break;
      }
    }
    const uint64_t txn = session.transaction_id();
    table.rows.push_back(
        {session.name(), i == current_ ? "*" : "", state, txn != 0 ? std::to_string(txn) : ""});
  }
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaDescribe(const std::vector<std::string>& args) {
  Result<std::vector<sql::TableSchema>> schemas = ReadCatalog(db_->database());
  if (!schemas.ok()) return MetaError("\\d: " + schemas.status().ToString());
  if (args.empty()) {
    if (schemas->empty()) {
      out_ << "Did not find any relations.\n";
      return true;
    }
    TextTable table;
    table.title = "List of relations";
    table.columns = {"Name", "Type", "Columns"};
    table.right_aligned = {false, false, true};
    for (const sql::TableSchema& schema : *schemas) {
      table.rows.push_back({schema.name, "table", std::to_string(schema.columns.size())});
    }
    PrintTable(table, options_.output, out_);
    return true;
  }
  for (const std::string& name : args) {
    auto found = std::find_if(schemas->begin(), schemas->end(),
                              [&](const sql::TableSchema& schema) { return schema.name == name; });
    if (found == schemas->end()) {
      if (!MetaError("Did not find any relation named \"" + name + "\".")) return false;
      continue;
    }
    const sql::TableSchema& schema = *found;
    TextTable table;
    table.title = "Table \"" + schema.name + "\"";
    table.columns = {"Column", "Type", "Nullable"};
    table.right_aligned = {false, false, false};
    table.row_count_footer = false;
    for (size_t c = 0; c < schema.columns.size(); ++c) {
      const bool in_key = std::find(schema.primary_key.begin(), schema.primary_key.end(),
                                    static_cast<int>(c)) != schema.primary_key.end();
      table.rows.push_back({schema.columns[c].name, ColumnTypeName(schema.columns[c]),
                            schema.columns[c].not_null || in_key ? "not null" : ""});
    }
    if (schema.has_primary_key() || !schema.indexes.empty()) table.footers.push_back("Indexes:");
    if (schema.has_primary_key()) {
      table.footers.push_back("    \"" + schema.PrimaryKeyName() + "\" PRIMARY KEY, btree (" +
                              ColumnList(schema, schema.primary_key) + ")");
    }
    for (const sql::IndexSchema& index : schema.indexes) {
      table.footers.push_back("    \"" + index.name + "\" " + (index.unique ? "UNIQUE, " : "") +
                              "btree (" + ColumnList(schema, index.columns) + ")");
    }
    if (!schema.has_primary_key()) {
      table.footers.push_back("(no primary key: rows are keyed by a hidden row id)");
    }
    PrintTable(table, options_.output, out_);
  }
  return true;
}

bool SqlShell::MetaIndexes() {
  Result<std::vector<sql::TableSchema>> schemas = ReadCatalog(db_->database());
  if (!schemas.ok()) return MetaError("\\di: " + schemas.status().ToString());
  TextTable table;
  table.title = "List of indexes";
  table.columns = {"Name", "Table", "Columns", "Kind"};
  table.right_aligned = {false, false, false, false};
  for (const sql::TableSchema& schema : *schemas) {
    if (schema.has_primary_key()) {
      table.rows.push_back({schema.PrimaryKeyName(), schema.name,
                            ColumnList(schema, schema.primary_key), "primary key"});
    }
    for (const sql::IndexSchema& index : schema.indexes) {
      table.rows.push_back({index.name, schema.name, ColumnList(schema, index.columns),
                            index.unique ? "unique" : "index"});
    }
  }
  if (table.rows.empty()) {
    out_ << "Did not find any relations.\n";
    return true;
  }
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaVersions(const std::vector<std::string>& args) {
  if (args.empty()) return MetaError("\\versions: usage: \\versions TABLE KEY...");
  Result<std::vector<sql::TableSchema>> schemas = ReadCatalog(db_->database());
  if (!schemas.ok()) return MetaError("\\versions: " + schemas.status().ToString());
  auto found = std::find_if(schemas->begin(), schemas->end(),
                            [&](const sql::TableSchema& schema) { return schema.name == args[0]; });
  if (found == schemas->end()) {
    return MetaError("Did not find any relation named \"" + args[0] + "\".");
  }
  const sql::TableSchema& schema = *found;
  const std::vector<sql::KeyColumn> key_columns = schema.KeyColumns();
  std::string key_names =
      schema.has_primary_key() ? ColumnList(schema, schema.primary_key) : "the hidden row id";
  if (args.size() - 1 != key_columns.size()) {
    return MetaError("\\versions: " + schema.name + " is keyed by " + key_names + ": give " +
                     std::to_string(key_columns.size()) + " value(s) after the table name");
  }
  std::vector<sql::Value> values;
  for (size_t i = 0; i < key_columns.size(); ++i) {
    Result<sql::Value> value = ParseKeyValue(args[i + 1], key_columns[i].type);
    if (!value.ok()) return MetaError("\\versions: " + std::string(value.status().message()));
    values.push_back(std::move(*value));
  }
  std::string key;
  if (Status s = sql::AppendCompositeKey(values, key_columns, &key); !s.ok()) {
    return MetaError("\\versions: " + s.ToString());
  }
  Result<std::vector<VersionInfo>> versions = db_->database()->ListVersions(schema.name, key);
  if (!versions.ok()) return MetaError("\\versions: " + versions.status().ToString());

  // Which version each open snapshot sees: the newest at or below it.
  std::vector<std::string> seen_by(versions->size());
  auto see = [&](uint64_t snapshot_ts, const std::string& who) {
    for (size_t v = 0; v < versions->size(); ++v) {
      if ((*versions)[v].commit_ts <= snapshot_ts) {
        seen_by[v] += (seen_by[v].empty() ? "" : ", ") + who;
        return;
      }
    }
  };
  for (const TransactionInfo& txn : db_->database()->ListTransactions()) {
    if (!txn.has_snapshot) continue;
    const SessionWorker* owner = SessionOfTransaction(txn.id);
    see(txn.snapshot_ts, owner != nullptr ? owner->name() : "txn " + std::to_string(txn.id));
  }
  see(db_->database()->stats().visible_ts, "new snapshots");

  TextTable table;
  table.title = "Versions of " + schema.name + " (" + key_names + " = " + FormatKey(key, &schema) +
                "), newest first";
  table.columns = {"commit_ts", "where", "row", "seen by"};
  table.right_aligned = {true, false, false, false};
  for (size_t v = 0; v < versions->size(); ++v) {
    const VersionInfo& version = (*versions)[v];
    table.rows.push_back(
        {std::to_string(version.commit_ts), version.in_tree ? "tree" : "old version (memory)",
         version.deleted ? "(deleted)" : FormatRow(version.value, schema), seen_by[v]});
  }
  table.footers.push_back(
      "(uncommitted writes stay private to their transaction and are not listed)");
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaLocks() {
  Result<std::vector<sql::TableSchema>> schemas = ReadCatalog(db_->database());
  if (!schemas.ok()) return MetaError("\\locks: " + schemas.status().ToString());
  std::map<std::string, const sql::TableSchema*> by_name;
  for (const sql::TableSchema& schema : *schemas) by_name[schema.name] = &schema;
  TextTable table;
  table.title = "Row locks";
  table.columns = {"Table", "Key", "Holder", "Waiters"};
  table.right_aligned = {false, false, false, false};
  for (const LockInfo& lock : db_->database()->ListLocks()) {
    auto schema = by_name.find(lock.table);
    std::string waiters;
    for (uint64_t waiter : lock.waiters) {
      waiters += (waiters.empty() ? "" : ", ") + DescribeTransaction(waiter);
    }
    table.rows.push_back({lock.table,
                          FormatKey(lock.key, schema != by_name.end() ? schema->second : nullptr),
                          DescribeTransaction(lock.holder), waiters});
  }
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaTransactions() {
  TextTable table;
  table.title = "Open transactions";
  table.columns = {"Id",       "Session", "Isolation",   "State",
                   "Snapshot", "Writes",  "Waiting for", "Age (ms)"};
  table.right_aligned = {true, false, false, false, true, true, false, true};
  for (const TransactionInfo& txn : db_->database()->ListTransactions()) {
    const SessionWorker* owner = SessionOfTransaction(txn.id);
    table.rows.push_back({std::to_string(txn.id), owner != nullptr ? owner->name() : "",
                          IsolationName(txn.isolation), TransactionStateName(txn.state),
                          txn.has_snapshot ? std::to_string(txn.snapshot_ts) : "",
                          std::to_string(txn.writes),
                          txn.waiting_for != 0 ? DescribeTransaction(txn.waiting_for) : "",
                          Milliseconds(txn.age_ms)});
  }
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaStats() {
  const DatabaseStats s = db_->database()->stats();
  TextTable table;
  table.title = "Statistics";
  table.columns = {"Counter", "Value"};
  table.right_aligned = {false, true};
  table.row_count_footer = false;
  auto add = [&](const char* name, const std::string& value) {
    table.rows.push_back({name, value});
  };
  add("commits", std::to_string(s.commits));
  add("read-only commits", std::to_string(s.read_only_commits));
  add("rollbacks", std::to_string(s.rollbacks));
  add("aborts: conflict", std::to_string(s.aborts_conflict));
  add("aborts: deadlock", std::to_string(s.aborts_deadlock));
  add("aborts: lock timeout", std::to_string(s.aborts_lock_timeout));
  add("aborts: snapshot too old", std::to_string(s.aborts_snapshot_too_old));
  add("aborts: other", std::to_string(s.aborts_other));
  add("lock waits", std::to_string(s.lock_waits));
  add("active transactions", std::to_string(s.active_transactions));
  add("open snapshots", std::to_string(s.open_snapshots));
  add("visible timestamp", std::to_string(s.visible_ts));
  add("oldest snapshot (GC watermark)", std::to_string(s.oldest_snapshot_ts));
  add("oldest snapshot age (ms)", Milliseconds(s.oldest_snapshot_age_ms));
  add("old versions in memory", std::to_string(s.old_versions));
  add("old version bytes", std::to_string(s.old_version_bytes));
  add("GC backlog", std::to_string(s.gc_backlog));
  add("versions reclaimed", std::to_string(s.versions_reclaimed));
  add("tombstones removed", std::to_string(s.tombstones_removed));
  add("cache hits", std::to_string(s.cache_hits));
  add("cache misses", std::to_string(s.cache_misses));
  add("WAL bytes", std::to_string(s.wal_bytes));
  add("WAL fsyncs", std::to_string(s.wal_fsyncs));
  add("checkpoints", std::to_string(s.checkpoints));
  add("I/O backend", s.io_backend);
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaBtree(const std::vector<std::string>& args) {
  if (args.size() != 1) return MetaError("\\btree: usage: \\btree TABLE");
  Result<std::vector<sql::TableSchema>> schemas = ReadCatalog(db_->database());
  if (!schemas.ok()) return MetaError("\\btree: " + schemas.status().ToString());
  const bool exists = std::any_of(schemas->begin(), schemas->end(),
                                  [&](const sql::TableSchema& s) { return s.name == args[0]; });
  if (!exists) return MetaError("Did not find any relation named \"" + args[0] + "\".");
  Result<TableInfo> info = db_->database()->DescribeTable(args[0]);
  if (!info.ok()) return MetaError("\\btree: " + info.status().ToString());
  TextTable table;
  table.title = "B+tree of " + args[0];
  table.columns = {"Property", "Value"};
  table.right_aligned = {false, true};
  table.row_count_footer = false;
  char fill[32];
  std::snprintf(fill, sizeof(fill), "%.1f%%", info->leaf_fill * 100);
  table.rows = {{"height", std::to_string(info->height)},
                {"leaf pages", std::to_string(info->leaf_pages)},
                {"inner pages", std::to_string(info->inner_pages)},
                {"overflow pages", std::to_string(info->overflow_pages)},
                {"entries (newest versions and tombstones)", std::to_string(info->entries)},
                {"leaf fill", fill}};
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaWal() {
  const DatabaseStats s = db_->database()->stats();
  TextTable table;
  table.title = "Write-ahead log";
  table.columns = {"Counter", "Value"};
  table.right_aligned = {false, true};
  table.row_count_footer = false;
  table.rows = {
      {"segments", std::to_string(s.wal_segments)},
      {"next LSN", std::to_string(s.wal_next_lsn)},
      {"last checkpoint LSN", std::to_string(s.last_checkpoint_lsn)},
      {"checkpoints", std::to_string(s.checkpoints)},
      {"bytes appended", std::to_string(s.wal_bytes)},
      {"fsyncs", std::to_string(s.wal_fsyncs)},
      {"visible timestamp (LSN + 1 of the newest visible commit)", std::to_string(s.visible_ts)}};
  PrintTable(table, options_.output, out_);
  return true;
}

bool SqlShell::MetaCheckpoint() {
  const Status s = db_->database()->Flush();
  if (!s.ok()) return MetaError("\\checkpoint: " + s.ToString());
  if (!options_.output.quiet) out_ << "CHECKPOINT\n";
  return true;
}

bool SqlShell::MetaGc() {
  const DatabaseStats before = db_->database()->stats();
  const Status s = db_->database()->CollectGarbage();
  if (!s.ok()) return MetaError("\\gc: " + s.ToString());
  const DatabaseStats after = db_->database()->stats();
  out_ << "GC: " << after.versions_reclaimed - before.versions_reclaimed
       << " old versions reclaimed, " << after.tombstones_removed - before.tombstones_removed
       << " tombstones removed; " << after.old_versions << " old versions kept (watermark "
       << after.oldest_snapshot_ts << ")\n";
  return true;
}

}  // namespace mvdb::shell
