// mvdb: until the SQL shell of ../shared/CONTRACT.md section 2 lands, a small
// demo of the database facade (engine/engine.h; the commands are in
// demo_repl.cc).
//
//   mvdb [--sync full|normal|off] [--cache-mb N] [--io auto|uring|posix] [DBDIR]
//   mvdb check DBDIR                                   verify a database
//   mvdb isolation [--isolation LEVEL] SPEC...         run isolation specs
//                                                      (isolation_runner.h)
//
// A database is a directory holding the data file (data.mvdb), the
// write-ahead log (wal/) and the lock file (LOCK) that keeps a second
// process out; Engine::Open takes the lock, opens the newest checkpoint and
// replays the log after it. Without DBDIR the program works on a temporary
// database that it removes at exit.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "btree/tree_store.h"
#include "buffer/buffer_pool.h"
#include "engine/engine.h"
#include "io/file.h"
#include "mvdb/status.h"
#include "shell/demo_repl.h"
#include "shell/isolation_runner.h"

#ifdef MVDB_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

namespace mvdb::shell {
namespace {

constexpr char kPrompt[] = "mvdb> ";

struct Options {
  size_t cache_mb = 32;
  std::string io = "auto";
  std::string sync = "full";
};

Result<std::unique_ptr<FileSystem>> NewFileSystem(const Options& options) {
  IoBackend backend = IoBackend::kAuto;
  if (options.io == "uring") {
    backend = IoBackend::kUring;
  }
  if (options.io == "posix") {
    backend = IoBackend::kPosix;
  }
  return NewDefaultFileSystem(backend);
}

SyncMode ParseSync(const std::string& name) {
  if (name == "normal") {
    return SyncMode::kNormal;
  }
  if (name == "off") {
    return SyncMode::kOff;
  }
  return SyncMode::kFull;
}

// An open database directory. Members are destroyed bottom-up: the engine
// closes before the file system it uses goes.
struct Database {
  std::unique_ptr<FileSystem> fs;
  std::unique_ptr<Engine> engine;
};

Result<Database> OpenDatabase(const std::string& dir, const Options& options) {
  Database db;
  MVDB_ASSIGN_OR_RETURN(db.fs, NewFileSystem(options));
  EngineOptions engine_options;
  engine_options.cache_mb = options.cache_mb;
  engine_options.sync = ParseSync(options.sync);
  engine_options.fs = db.fs.get();
  // The lock is taken first: a second process fails at once with Busy,
  // naming the holder, and changes nothing.
  MVDB_ASSIGN_OR_RETURN(db.engine, Engine::Open(dir, engine_options));
  return db;
}

// A directory under $TMPDIR (or /tmp), removed with its content at exit.
class TempDir {
 public:
  static Result<TempDir> Create() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mvdb-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return Status::FromErrno("cannot create a temporary directory " + pattern, errno);
    }
    return TempDir(pattern);
  }
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) {
      std::filesystem::remove_all(path_, ignored);
    }
  }

  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Reads one line; false at end of input. Prompts only on a terminal.
bool ReadLine(bool interactive, std::string* line) {
#ifdef MVDB_HAVE_READLINE
  if (interactive) {
    char* raw = readline(kPrompt);
    if (raw == nullptr) {
      return false;
    }
    std::unique_ptr<char, decltype(&std::free)> owned(raw, &std::free);
    if (*raw != '\0') {
      add_history(raw);
    }
    *line = raw;
    return true;
  }
#endif
  if (interactive) {
    std::cout << kPrompt << std::flush;
  }
  return static_cast<bool>(std::getline(std::cin, *line));
}

void PrintBanner(const std::string& dir, bool temporary, const Database& db,
                 const Options& options) {
  const EngineStats stats = db.engine->stats();
  std::cout << "mvdb " << MVDB_VERSION
            << ": a demo of the storage engine (named B+trees, write batches through a\n"
               "write-ahead log). No SQL or transactions yet. Type help for the commands.\n"
            << "database: " << dir << (temporary ? " (temporary, removed at exit)" : "")
            << "; I/O backend: " << db.fs->name() << "; cache: " << options.cache_mb
            << " MiB; sync: " << options.sync << "\n";
  if (stats.recovered_batches > 0) {
    std::cout << "recovered: " << stats.recovered_batches
              << " log records replayed after the last checkpoint\n";
  }
}

int RunShell(const Options& options, const std::string& dbdir) {
  std::optional<TempDir> temp;
  std::string dir = dbdir;
  if (dir.empty()) {
    Result<TempDir> created = TempDir::Create();
    if (!created.ok()) {
      std::cerr << "mvdb: " << created.status().ToString() << '\n';
      return 1;
    }
    temp.emplace(std::move(created).value());
    dir = temp->path();
  }
  Result<Database> db = OpenDatabase(dir, options);
  if (!db.ok()) {
    std::cerr << "mvdb: " << db.status().ToString() << '\n';
    return 1;
  }
  bool interactive = isatty(STDIN_FILENO) == 1;
  if (interactive) {
    PrintBanner(dir, temp.has_value(), *db, options);
  }

  DemoRepl repl(db->engine.get(), db->fs.get(), std::cout, std::cerr);
  std::string line;
  bool go_on = true;
  while (go_on && ReadLine(interactive, &line)) {
    go_on = repl.Execute(line);
    std::cout.flush();
  }
  if (interactive && go_on) {
    std::cout << '\n';  // end of input left the cursor after the prompt
  }
  Status closed = db->engine->Close();
  if (!closed.ok()) {
    std::cerr << "mvdb: " << closed.ToString() << '\n';
    return 1;
  }
  return 0;
}

// Every file of the database (db/check.cc): the lock, both meta slots, the
// page map and trees, every WAL segment. Changes nothing; 1 unless all OK.
int RunCheck(const Options& options, const std::string& dir) {
  Result<std::unique_ptr<FileSystem>> fs = NewFileSystem(options);
  if (!fs.ok()) {
    std::cerr << "mvdb check: " << fs.status().ToString() << '\n';
    return 1;
  }
  std::string report;
  StoreCheckReport trees;
  const Status status = CheckDatabase(dir, &report, fs->get(), &trees);
  std::cout << report;
  if (!status.ok()) {
    std::cerr << "mvdb check: " << status.ToString() << '\n';
    return 1;
  }
  PrintCheckReport(trees, std::cout);  // the per-tree table
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "mvdb: for now a demo of the mvdb storage engine (named B+trees, atomic write\n"
      "batches through a write-ahead log, crash recovery). The SQL shell replaces it\n"
      "in a later version."};
  app.set_version_flag("--version", std::string("mvdb ") + MVDB_VERSION);
  Options options;
  std::string dbdir;
  app.add_option("DBDIR", dbdir,
                 "database directory, created if missing (default: a temporary one, "
                 "removed at exit)");
  app.add_option("--cache-mb", options.cache_mb, "buffer pool size in MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--io", options.io,
                 "I/O backend: auto (io_uring when the kernel allows it), uring or posix")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "uring", "posix"}));
  app.add_option("--sync", options.sync,
                 "when a change is acknowledged: full (on stable storage), normal (fsync'ed in "
                 "the background within 100 ms) or off (fsync'ed only by checkpoints and at exit)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal", "off"}));

  std::string check_dir;
  CLI::App* check = app.add_subcommand(
      "check",
      "verify a database nobody has open: the lock, both meta slots, the page map, every "
      "tree (checksums, key order, separator keys, sibling links, free list) and every log "
      "segment; exit status 1 unless all is well");
  check->add_option("DBDIR", check_dir, "database directory")->required();
  check->fallthrough();

  std::string isolation_level = "read committed";
  std::vector<std::string> spec_paths;
  CLI::App* isolation = app.add_subcommand(
      "isolation",
      "run isolation spec files (the format of ../shared/tools/pg-isolation) on a fresh "
      "temporary database, each session on its own thread, and print the transcript as "
      "pg-isolation prints it against PostgreSQL; exit status 1 if a spec cannot be read, "
      "parsed or run");
  isolation
      ->add_option("--isolation", isolation_level,
                   "the sessions' isolation level: read committed or repeatable read "
                   "(PostgreSQL's spellings, any case)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& level) -> std::string {
            return ParseIsolationLevelName(level).has_value()
                       ? ""
                       : "unknown isolation level '" + level +
                             "' (read committed or repeatable read)";
          },
          "LEVEL"));
  isolation->add_option("SPEC", spec_paths, "spec files, run in turn")->required();
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary,
    // so it is not mistaken for check's "corrupt" (1).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (check->parsed()) {
    return RunCheck(options, check_dir);
  }
  if (isolation->parsed()) {
    IsolationRunOptions run_options;
    run_options.isolation = *ParseIsolationLevelName(isolation_level);
    return RunIsolationCommand(spec_paths, run_options, std::cout, std::cerr);
  }
  return RunShell(options, dbdir);
}

}  // namespace
}  // namespace mvdb::shell

int main(int argc, char** argv) {
  // The mvdb libraries report failures as Status; what can still throw is
  // the standard library (bad_alloc) and CLI11 setting up the options.
  try {
    return mvdb::shell::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mvdb: " << e.what() << '\n';
    return 2;
  }
}
