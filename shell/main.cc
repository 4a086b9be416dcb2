// mvdb: until the SQL shell of ../shared/CONTRACT.md section 2 lands, a small
// demo of the storage core (the commands are in demo_repl.cc).
//
//   mvdb [--cache-mb N] [--io auto|uring|posix] [DBDIR]   demo REPL on DBDIR
//   mvdb [--cache-mb N] check DBDIR                       verify a database
//
// A database is a directory holding the data file (data.mvdb) and the lock
// file (LOCK) that keeps a second process out. Without DBDIR the program
// works on a temporary database that it removes at exit.
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

#include "btree/tree_store.h"
#include "db/engine.h"
#include "io/file.h"
#include "mvdb/status.h"
#include "shell/demo_repl.h"

#ifdef MVDB_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

namespace mvdb::shell {
namespace {

constexpr char kDataFile[] = "data.mvdb";
constexpr char kLockFile[] = "LOCK";
constexpr char kPrompt[] = "mvdb> ";

struct Options {
  size_t cache_mb = 32;
  std::string io = "auto";
};

// An open database directory. Members are destroyed bottom-up: the store is
// closed before the lock is released, and both before the file system goes.
struct Database {
  std::unique_ptr<FileSystem> fs;
  std::unique_ptr<FileLock> lock;
  std::unique_ptr<TreeStore> store;
};

Result<Database> OpenDatabase(const std::string& dir, const Options& options, bool create) {
  IoBackend backend = IoBackend::kAuto;
  if (options.io == "uring") {
    backend = IoBackend::kUring;
  }
  if (options.io == "posix") {
    backend = IoBackend::kPosix;
  }
  Database db;
  MVDB_ASSIGN_OR_RETURN(db.fs, NewDefaultFileSystem(backend));
  std::string data = dir + "/" + kDataFile;
  if (create) {
    MVDB_RETURN_IF_ERROR(db.fs->CreateDir(dir));
  } else {
    MVDB_ASSIGN_OR_RETURN(bool exists, db.fs->Exists(data));
    if (!exists) {
      return Status::NotFound("no database in " + dir + ": " + data + " is missing");
    }
  }
  // Taken before the data file is opened, so a second process changes
  // nothing and fails at once (Busy, naming the holder).
  MVDB_ASSIGN_OR_RETURN(db.lock, db.fs->LockFile(dir + "/" + kLockFile));
  TreeStoreOptions store_options;
  store_options.create_if_missing = create;
  store_options.cache_pages =
      std::max<size_t>(16, options.cache_mb * (size_t{1} << 20) / kPageSize);
  MVDB_ASSIGN_OR_RETURN(db.store, TreeStore::Open(db.fs.get(), data, store_options));
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

void PrintBanner(const std::string& dir, bool temporary, const Database& db, size_t cache_mb) {
  std::cout << "mvdb " << MVDB_VERSION
            << ": a demo of the storage core (named B+trees over a buffer pool).\n"
               "No SQL, write-ahead log or transactions yet: changes are written back when you\n"
               "quit, and a crash can lose them. Type help for the commands.\n"
            << "database: " << dir << (temporary ? " (temporary, removed at exit)" : "")
            << "; I/O backend: " << db.fs->name() << "; cache: " << cache_mb << " MiB\n";
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
  Result<Database> db = OpenDatabase(dir, options, /*create=*/true);
  if (!db.ok()) {
    std::cerr << "mvdb: " << db.status().ToString() << '\n';
    return 1;
  }
  bool interactive = isatty(STDIN_FILENO) == 1;
  if (interactive) {
    PrintBanner(dir, temp.has_value(), *db, options.cache_mb);
  }

  DemoRepl repl(db->store.get(), db->fs.get(), std::cout, std::cerr);
  std::string line;
  bool go_on = true;
  while (go_on && ReadLine(interactive, &line)) {
    go_on = repl.Execute(line);
    std::cout.flush();
  }
  if (interactive && go_on) {
    std::cout << '\n';  // end of input left the cursor after the prompt
  }
  Status closed = db->store->Close();
  if (!closed.ok()) {
    std::cerr << "mvdb: " << closed.ToString() << '\n';
    return 1;
  }
  return 0;
}

// Every file of the database (db/check.cc): the lock, both meta slots, the
// page map and trees, every WAL segment. Changes nothing; 1 unless all OK.
int RunCheck(const Options& options, const std::string& dir) {
  IoBackend backend = IoBackend::kAuto;
  if (options.io == "uring") {
    backend = IoBackend::kUring;
  }
  if (options.io == "posix") {
    backend = IoBackend::kPosix;
  }
  Result<std::unique_ptr<FileSystem>> fs = NewDefaultFileSystem(backend);
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
      "mvdb: for now a demo of the mvdb storage core (named B+trees in one data file).\n"
      "The SQL shell replaces it in a later version."};
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

  std::string check_dir;
  CLI::App* check = app.add_subcommand(
      "check",
      "verify checksums, key order, separator keys, sibling links and the free list; "
      "exit status 1 on corruption");
  check->add_option("DBDIR", check_dir, "database directory")->required();
  check->fallthrough();
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
