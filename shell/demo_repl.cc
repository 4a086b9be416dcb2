#include "shell/demo_repl.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "btree/btree.h"
#include "buffer/buffer_pool.h"
#include "mvdb/status.h"

namespace mvdb::shell {
namespace {

using Args = std::vector<std::string>;

constexpr uint64_t kDefaultScanLimit = 20;
constexpr uint64_t kDefaultFillValueBytes = 100;
// fill shuffles its key indices in memory; this bounds that to 400 MiB.
constexpr uint64_t kMaxFill = 50'000'000;
// fill's batches: large enough that a commit's fsync is shared by many keys,
// small enough that one log record stays a few MiB.
constexpr uint64_t kFillBatchOps = 1000;
constexpr uint64_t kFillBatchBytes = uint64_t{4} << 20;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Splits a line into words at blanks. A word in double quotes may hold
// blanks; inside quotes \" \\ and \xNN stand for one byte each, so every
// key that Printable shows can be typed back.
Result<Args> Tokenize(std::string_view line) {
  Args words;
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
      ++i;
    }
    if (i == line.size()) {
      return words;
    }
    std::string word;
    if (line[i] != '"') {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
        word += line[i++];
      }
      words.push_back(std::move(word));
      continue;
    }
    ++i;  // opening quote
    while (true) {
      if (i == line.size()) {
        return Status::InvalidArgument("unterminated quote");
      }
      char c = line[i++];
      if (c == '"') {
        break;
      }
      if (c != '\\') {
        word += c;
        continue;
      }
      if (i == line.size()) {
        return Status::InvalidArgument("backslash at end of line");
      }
      char e = line[i++];
      if (e == 'x') {
        int hi = i < line.size() ? HexDigit(line[i]) : -1;
        int lo = i + 1 < line.size() ? HexDigit(line[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
          return Status::InvalidArgument("\\x needs two hex digits");
        }
        word += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        word += e;  // \" and \\ and any other escaped character
      }
    }
    words.push_back(std::move(word));
  }
}

// Bytes as they are shown: in quotes (with escapes) when they hold anything
// but printable ASCII without blanks, quotes or backslashes.
std::string Printable(std::string_view bytes) {
  bool plain = !bytes.empty() && std::all_of(bytes.begin(), bytes.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    return std::string(bytes);
  }
  std::string out = "\"";
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u >= ' ' && u < 0x7f) {
      out += c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", u);
      out += hex;
    }
  }
  return out + "\"";
}

Result<uint64_t> ParseCount(const std::string& word, std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (ec != std::errc() || end != word.data() + word.size()) {
    return Status::InvalidArgument(std::string(what) + " must be a number, not '" + word + "'");
  }
  return value;
}

// NotFound unless the tree `name` exists. Engine::Get says NotFound for a
// missing tree and a missing key alike; the REPL tells the two apart.
Status RequireTree(Engine* engine, const std::string& name) {
  MVDB_ASSIGN_OR_RETURN(std::vector<std::string> names, engine->ListTrees());
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    return Status::NotFound("no tree '" + name + "'");
  }
  return Status::OK();
}

// Commits `batch`, creating its tree first when it is missing (a logged
// step of its own: a crash between the two leaves an empty tree).
Status WriteCreating(Engine* engine, const std::string& tree, const WriteBatch& batch) {
  if (!RequireTree(engine, tree).ok()) {
    MVDB_RETURN_IF_ERROR(engine->CreateTree(tree));
  }
  return engine->Write(batch);
}

std::string Join(const Args& args, size_t from) {
  std::string joined;
  for (size_t i = from; i < args.size(); ++i) {
    if (i > from) {
      joined += ' ';
    }
    joined += args[i];
  }
  return joined;
}

struct Session {
  Engine* engine;
  FileSystem* fs;
  std::ostream& out;
};

Status Put(Session& s, const Args& args) {
  WriteBatch batch;
  // Unquoted words after the key form the value, joined by single blanks.
  batch.Put(args[1], args[2], Join(args, 3));
  MVDB_RETURN_IF_ERROR(WriteCreating(s.engine, args[1], batch));
  s.out << "OK\n";
  return Status::OK();
}

Status Get(Session& s, const Args& args) {
  MVDB_RETURN_IF_ERROR(RequireTree(s.engine, args[1]));
  std::string value;
  Status status = s.engine->Get(args[1], args[2], &value);
  if (status.IsNotFound()) {
    s.out << "(not found)\n";
    return Status::OK();
  }
  MVDB_RETURN_IF_ERROR(status);
  s.out << Printable(value) << '\n';
  return Status::OK();
}

// A delete of an absent key commits as no change; the REPL looks first so
// it can say (not found). It is the only writer: it holds the lock.
Status Del(Session& s, const Args& args) {
  MVDB_RETURN_IF_ERROR(RequireTree(s.engine, args[1]));
  std::string value;
  Status status = s.engine->Get(args[1], args[2], &value);
  if (status.IsNotFound()) {
    s.out << "(not found)\n";
    return Status::OK();
  }
  MVDB_RETURN_IF_ERROR(status);
  WriteBatch batch;
  batch.Delete(args[1], args[2]);
  MVDB_RETURN_IF_ERROR(s.engine->Write(batch));
  s.out << "OK\n";
  return Status::OK();
}

Status Scan(Session& s, const Args& args) {
  uint64_t limit = kDefaultScanLimit;
  if (args.size() > 3) {
    MVDB_ASSIGN_OR_RETURN(limit, ParseCount(args[3], "LIMIT"));
  }
  const std::string from = args.size() > 2 ? args[2] : std::string();
  uint64_t shown = 0;
  bool more = false;
  MVDB_RETURN_IF_ERROR(
      s.engine->Scan(args[1], from, [&](std::string_view key, std::string_view value) {
        if (shown == limit) {
          more = true;
          return false;
        }
        s.out << Printable(key) << " = " << Printable(value) << '\n';
        ++shown;
        return true;
      }));
  s.out << "(" << shown << (shown == 1 ? " entry" : " entries") << (more ? ", more follow" : "")
        << ")\n";
  return Status::OK();
}

Status Trees(Session& s, const Args&) {
  MVDB_ASSIGN_OR_RETURN(std::vector<std::string> names, s.engine->ListTrees());
  for (const std::string& name : names) {
    s.out << Printable(name) << '\n';
  }
  s.out << "(" << names.size() << (names.size() == 1 ? " tree" : " trees") << ")\n";
  return Status::OK();
}

Status Drop(Session& s, const Args& args) {
  MVDB_RETURN_IF_ERROR(s.engine->DropTree(args[1]));
  s.out << "OK\n";
  return Status::OK();
}

// Inserts keys 0000000000 .. N-1 (ten digits) in a shuffled order, so the
// tree splits as under random inserts, with values of VALUE_BYTES bytes, in
// write batches of at most kFillBatchOps keys and about kFillBatchBytes.
Status Fill(Session& s, const Args& args) {
  MVDB_ASSIGN_OR_RETURN(uint64_t count, ParseCount(args[2], "N"));
  uint64_t value_bytes = kDefaultFillValueBytes;
  if (args.size() > 3) {
    MVDB_ASSIGN_OR_RETURN(value_bytes, ParseCount(args[3], "VALUE_BYTES"));
  }
  if (count > kMaxFill) {
    return Status::InvalidArgument("fill takes at most 50000000 keys");
  }
  if (value_bytes > kMaxValueSize) {
    return Status::InvalidArgument("VALUE_BYTES is too large");
  }
  const std::string& tree = args[1];
  if (!RequireTree(s.engine, tree).ok()) {
    MVDB_RETURN_IF_ERROR(s.engine->CreateTree(tree));
  }

  std::vector<uint64_t> order(count);
  std::iota(order.begin(), order.end(), uint64_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(count));
  auto start = std::chrono::steady_clock::now();
  char key[16];
  WriteBatch batch;
  uint64_t batch_bytes = 0;
  for (uint64_t i : order) {
    std::snprintf(key, sizeof(key), "%010llu", static_cast<unsigned long long>(i));
    batch.Put(tree, key, std::string(value_bytes, static_cast<char>('a' + i % 26)));
    batch_bytes += value_bytes;
    if (batch.count() >= kFillBatchOps || batch_bytes >= kFillBatchBytes) {
      MVDB_RETURN_IF_ERROR(s.engine->Write(batch));
      batch.Clear();
      batch_bytes = 0;
    }
  }
  MVDB_RETURN_IF_ERROR(s.engine->Write(batch));
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  s.out << "OK (" << count << " entries in " << std::fixed << std::setprecision(2) << took.count()
        << " s)\n"
        << std::defaultfloat;
  return Status::OK();
}

Status Check(Session& s, const Args&) {
  // The live trees of this process (`mvdb check DBDIR` reads the files, and
  // only of a database nobody holds open).
  MVDB_ASSIGN_OR_RETURN(StoreCheckReport report, s.engine->CheckTrees());
  PrintCheckReport(report, s.out);
  return Status::OK();
}

std::string MiB(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

Status Stats(Session& s, const Args&) {
  FileSystemStats io = s.fs->stats();
  BufferPoolStats pool = s.engine->pool_stats();
  EngineStats engine = s.engine->stats();
  uint64_t lookups = pool.hits + pool.misses;
  s.out << "io backend:  " << s.fs->name() << '\n'
        << "io:          " << io.reads << " reads (" << MiB(io.bytes_read) << "), " << io.writes
        << " writes (" << MiB(io.bytes_written) << "), " << io.syncs << " syncs, " << io.batches
        << " batches\n"
        << "cache:       " << pool.capacity_pages << " pages of " << kPageSize << " bytes ("
        << MiB(pool.capacity_pages * kPageSize) << "), " << pool.dirty_pages << " dirty\n"
        << "cache use:   " << pool.hits << " hits, " << pool.misses << " misses";
  if (lookups > 0) {
    s.out << " (" << std::fixed << std::setprecision(1) << 100.0 * pool.hits / lookups << "% hits)"
          << std::defaultfloat;
  }
  s.out << ", " << pool.evictions << " evictions\n"
        << "write-back:  " << pool.pages_written << " pages in " << pool.write_batches
        << " batches, " << pool.checksum_failures << " checksum failures\n"
        << "commits:     " << engine.commits << " write batches, " << engine.recovered_batches
        << " records replayed at open\n"
        << "log:         " << MiB(engine.wal_bytes) << " appended, " << engine.wal_fsyncs
        << " fsyncs, " << engine.wal_segments
        << (engine.wal_segments == 1 ? " segment" : " segments") << '\n'
        << "checkpoints: " << engine.checkpoints << ", the last at LSN "
        << engine.last_checkpoint_lsn << '\n'
        << "state:       " << (engine.failed ? s.engine->health().ToString() : "OK") << '\n';
  return Status::OK();
}

Status Checkpoint(Session& s, const Args&) {
  MVDB_RETURN_IF_ERROR(s.engine->Checkpoint());
  s.out << "OK\n";
  return Status::OK();
}

struct Command {
  std::string_view name;
  size_t min_args;  // words after the command name
  size_t max_args;
  std::string_view usage;
  Status (*run)(Session&, const Args&);
};

constexpr size_t kRestOfLine = SIZE_MAX;

constexpr Command kCommands[] = {
    {"put", 3, kRestOfLine, "put TREE KEY VALUE", Put},
    {"get", 2, 2, "get TREE KEY", Get},
    {"del", 2, 2, "del TREE KEY", Del},
    {"scan", 1, 3, "scan TREE [FROM [LIMIT]]", Scan},
    {"trees", 0, 0, "trees", Trees},
    {"drop", 1, 1, "drop TREE", Drop},
    {"fill", 2, 3, "fill TREE N [VALUE_BYTES]", Fill},
    {"check", 0, 0, "check", Check},
    {"checkpoint", 0, 0, "checkpoint", Checkpoint},
    {"stats", 0, 0, "stats", Stats},
};

}  // namespace

std::string_view DemoRepl::HelpText() {
  return R"(Commands (one per line; quote words with blanks as "a b", bytes as "\x00"):
  put TREE KEY VALUE        insert or replace; creates TREE if missing
  get TREE KEY              print the value, or (not found)
  del TREE KEY              remove the key
  scan TREE [FROM [LIMIT]]  keys >= FROM in order, at most LIMIT (default 20)
  trees                     list the trees
  drop TREE                 remove a tree and free its pages
  fill TREE N [VALUE_BYTES] insert N keys 0000000000.. in random order (values of 100 bytes)
  check                     verify the page map, checksums, key order, links and the free list
  checkpoint                take a checkpoint now (the log before it is removed)
  stats                     I/O backend, cache, I/O, commit, log and checkpoint counters
  help                      this text
  quit                      checkpoint and leave (also exit, \q, end of input)
Every put, del, drop and fill batch is committed through the write-ahead log before OK.
)";
}

bool DemoRepl::Execute(std::string_view line) {
  Result<Args> words = Tokenize(line);
  if (!words.ok()) {
    err_ << "error: " << words.status().ToString() << '\n';
    return true;
  }
  const Args& args = *words;
  if (args.empty() || args[0].starts_with('#')) {
    return true;
  }
  const std::string& name = args[0];
  if (name == "quit" || name == "exit" || name == "\\q") {
    return false;
  }
  if (name == "help" || name == "\\?") {
    out_ << HelpText();
    return true;
  }
  auto command = std::find_if(std::begin(kCommands), std::end(kCommands),
                              [&](const Command& c) { return c.name == name; });
  if (command == std::end(kCommands)) {
    err_ << "error: unknown command '" << name << "' (try help)\n";
    return true;
  }
  size_t given = args.size() - 1;
  if (given < command->min_args || given > command->max_args) {
    err_ << "error: usage: " << command->usage << '\n';
    return true;
  }
  Session session{engine_, fs_, out_};
  Status status = command->run(session, args);
  if (!status.ok()) {
    err_ << "error: " << status.ToString() << '\n';
  }
  return true;
}

void PrintCheckReport(const StoreCheckReport& report, std::ostream& out) {
  out << "ok: " << report.page_count << " pages of " << kPageSize << " bytes, " << report.free_pages
      << " free, " << report.trees.size() << (report.trees.size() == 1 ? " tree\n" : " trees\n");
  if (report.trees.empty()) {
    return;
  }
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

}  // namespace mvdb::shell
