// mvdb: the SQL shell and tools (docs/cli.md).
//
//   mvdb [OPTIONS] [DBDIR]            shell on DBDIR (created if missing)
//   mvdb [OPTIONS] -c "SQL" DBDIR     run SQL, print results, exit
//   mvdb [OPTIONS] -f FILE DBDIR      run a script file, exit
//   mvdb isolation [--isolation LEVEL] SPEC...   run isolation specs
//   mvdb check DBDIR                  verify checksums and tree invariants
//   mvdb recover --discard-damaged-log DBDIR   cut a damaged log, keeping the bytes
//
// The shell itself is shell/sql_shell.h; this file parses the command line,
// opens the database (a temporary one, removed at exit, without DBDIR) and
// picks the mode: a terminal on standard input gets the interactive shell,
// anything else is read as a script without banner or prompt.
//
// Standard output goes through an FdOutputBuffer, so a failed write (a full
// disk) is reported on standard error with a non-zero exit status, whatever
// the command; a closed pipe ends mvdb by SIGPIPE, as it ends psql, but
// only after the shell has cleaned up. SIGTERM, SIGHUP and SIGINT are
// shell/signal_watcher.h's.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "mvdb/status.h"
#include "shell/check_command.h"
#include "shell/isolation_runner.h"
#include "shell/line_reader.h"
#include "shell/output.h"
#include "shell/signal_watcher.h"
#include "shell/sql_shell.h"
#include "sql/lexer.h"
#include "sql/session.h"

namespace mvdb::shell {
namespace {

struct CommandLine {
  std::string dbdir;
  std::string command;  // -c
  std::string file;     // -f
  std::string isolation = "read committed";
  std::string sync = "full";
  size_t cache_mb = Options{}.cache_mb;  // include/mvdb/options.h says why
  bool csv = false;
  bool bail = false;
  bool quiet = false;
};

SyncMode ParseSync(const std::string& name) {
  if (name == "normal") return SyncMode::kNormal;
  if (name == "off") return SyncMode::kOff;
  return SyncMode::kFull;
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
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

std::string HistoryFile() {
  if (const char* path = std::getenv("MVDB_HISTORY"); path != nullptr && *path != '\0') {
    return path;
  }
  const char* home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string(home) + "/.mvdb_history" : "";
}

void PrintBanner(const std::string& dir, bool temporary, const CommandLine& line) {
  std::cout << "mvdb " << MVDB_VERSION
            << ", a transactional storage engine with a PostgreSQL-flavoured SQL shell.\n"
            << "Database: " << dir
            << (temporary ? " (temporary: removed at exit; give a DBDIR to keep your data)" : "")
            << "\nIsolation: " << line.isolation << "; sync: " << line.sync
            << ". Type \\? for help, \\q to quit; statements end with ';'.\n\n";
}

int RunShell(const CommandLine& line) {
  // First, before the database and the sessions start their threads.
  SignalWatcher signals;
  std::unique_ptr<LineReader> script;
  if (!line.file.empty()) {
    Result<std::unique_ptr<LineReader>> opened =
        LineReader::Open(line.file, sql::kMaxStatementBytes);
    if (!opened.ok()) {
      std::cerr << "mvdb: " << opened.status().message() << '\n';
      return 1;
    }
    script = std::move(opened).value();
  }
  std::optional<TempDir> temp;
  std::string dir = line.dbdir;
  if (dir.empty()) {
    Result<TempDir> created = TempDir::Create();
    if (!created.ok()) {
      std::cerr << "mvdb: " << created.status().ToString() << '\n';
      return 1;
    }
    temp.emplace(std::move(created).value());
    dir = temp->path();
    signals.SetTemporaryDirectory(dir);
  }
  Options options;
  options.cache_mb = line.cache_mb;
  options.sync = ParseSync(line.sync);
  const IsolationLevel isolation = *ParseIsolationLevelName(line.isolation);
  options.default_isolation = isolation;
  Result<std::unique_ptr<sql::SqlDatabase>> db = sql::SqlDatabase::Open(dir, options);
  if (!db.ok()) {
    std::cerr << "mvdb: cannot open " << dir << ": " << db.status().ToString() << '\n';
    return 1;
  }

  ShellOptions shell_options;
  shell_options.output.csv = line.csv;
  shell_options.output.quiet = line.quiet;
  shell_options.bail = line.bail;
  shell_options.isolation = isolation;
  const bool interactive = line.command.empty() && line.file.empty() && isatty(STDIN_FILENO) == 1;
  if (interactive) shell_options.history_file = HistoryFile();

  int status = 0;
  {
    SqlShell shell(db->get(), shell_options, std::cout, std::cerr);
    if (!line.command.empty()) {
      shell.RunText(line.command);
      if (shell.had_error()) status = 1;  // as psql -c
    } else if (script != nullptr) {
      if (shell.RunScript(*script, line.file) == SqlShell::ScriptEnd::kUnreadable) status = 1;
    } else if (interactive) {
      PrintBanner(dir, temp.has_value(), line);
      std::cout.flush();
      if (SqlShell::kTakesInterrupts) signals.SetInterruptHandler([&shell] { shell.Interrupt(); });
      shell.RunTerminal();
    } else {
      LineReader input(STDIN_FILENO, sql::kMaxStatementBytes);
      if (shell.RunScript(input, "standard input") == SqlShell::ScriptEnd::kUnreadable) status = 1;
    }
    shell.Finish();
    signals.SetInterruptHandler(nullptr);
    if (shell.bailed() || shell.output_failed()) status = 1;
  }
  const Status closed = (*db)->database()->Close();
  if (!closed.ok()) {
    std::cerr << "mvdb: " << closed.ToString() << '\n';
    return 1;
  }
  return status;
}

CLI::Validator IsolationValidator() {
  return CLI::Validator(
      [](std::string& level) -> std::string {
        return ParseIsolationLevelName(level).has_value()
                   ? ""
                   : "unknown isolation level '" + level + "' (read committed or repeatable read)";
      },
      "LEVEL");
}

int Main(int argc, char** argv) {
  CLI::App app{
      "mvdb: an SQL shell on the mvdb transactional storage engine (PostgreSQL's SQL\n"
      "subset and behaviour, docs/ in its source). Without -c or -f, standard input is\n"
      "read: at a terminal with line editing, history (~/.mvdb_history, or $MVDB_HISTORY)\n"
      "and prompts; otherwise as a script, without banner or prompt, printing and flushing\n"
      "each statement's result. Statements end with ';'; meta-commands start with a\n"
      "backslash, one per line (\\? lists them). Several sessions: \\session NAME.\n"
      "Exit status: 0; 1 if the database cannot be opened, --bail stopped at an error, a\n"
      "-c statement failed, the script could not be read to its end (a read error, a line\n"
      "or statement over 64 MiB: error 54000), or the output could not be written; 2 for a\n"
      "bad command line. SIGTERM, SIGHUP and SIGINT end mvdb (a temporary database is\n"
      "removed first); at the terminal Ctrl-C drops the statement being typed."};
  app.set_version_flag("--version", std::string("mvdb ") + MVDB_VERSION);
  CommandLine line;
  app.add_option("DBDIR", line.dbdir,
                 "database directory, created if missing (default: a temporary database, "
                 "removed at exit)");
  CLI::Option* command = app.add_option(
      "-c,--command", line.command,
      "run these SQL statements (and meta-commands, one per line), print their results, "
      "exit");
  app.add_option("-f,--file", line.file, "run this script file, print its results, exit")
      ->excludes(command);
  app.add_flag("--csv", line.csv,
               "print results as RFC 4180 CSV with a header line (NULL: an empty field, the "
               "empty string: \"\")");
  app.add_flag("--bail", line.bail, "stop at the first error, with exit status 1");
  app.add_option("--isolation", line.isolation,
                 "isolation level of new transactions: read committed or repeatable read")
      ->capture_default_str()
      ->check(IsolationValidator());
  app.add_option("--sync", line.sync,
                 "commit durability: full (a printed COMMIT is on stable storage), normal "
                 "(fsync'ed in the background within 100 ms) or off (fsync'ed only by "
                 "checkpoints and at exit)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal", "off"}));
  app.add_option("--cache-mb", line.cache_mb, "buffer pool size in MiB")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_flag("-q,--quiet", line.quiet,
               "print no command tags (BEGIN, INSERT 0 1, ...); tables are still printed");

  std::string check_dir;
  CLI::App* check = app.add_subcommand(
      "check",
      "verify a database nobody has open: the lock, both meta slots, the page map, every "
      "tree (checksums, key order, separator keys, sibling links, free list), every SQL row "
      "and index entry against the catalog, and every log segment, writing nothing (read-only "
      "media are fine); exit status 1 unless all is well");
  check->add_option("DBDIR", check_dir, "database directory")->required();

  std::string recover_dir;
  bool discard_damaged_log = false;
  CLI::App* recover = app.add_subcommand(
      "recover",
      "accept the loss of a damaged write-ahead log that stops the database from opening: cut "
      "the log at the damage and move every byte from there on to side files next to it "
      "(named in the output), or, when the log's segments are gone, start a new log at the "
      "checkpoint; exit status 1 if that cannot be done");
  recover
      ->add_flag("--discard-damaged-log", discard_damaged_log,
                 "required: the records after the damage are given up")
      ->required();
  recover->add_option("DBDIR", recover_dir, "database directory")->required();

  std::string isolation_level = "read committed";
  std::vector<std::string> spec_paths;
  CLI::App* isolation = app.add_subcommand(
      "isolation",
      "run isolation spec files (PostgreSQL isolationtester's format, docs/isolation.md) on a "
      "fresh "
      "temporary database, each session on its own thread, and print the transcript as "
      "pg-isolation prints it against PostgreSQL; exit status 1 if a spec cannot be read, "
      "parsed or run");
  isolation
      ->add_option("--isolation", isolation_level,
                   "the sessions' isolation level: read committed or repeatable read "
                   "(PostgreSQL's spellings, any case)")
      ->capture_default_str()
      ->check(IsolationValidator());
  isolation->add_option("SPEC", spec_paths, "spec files, run in turn")->required();
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary,
    // so it is not mistaken for check's "corrupt" (1).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (check->parsed()) return RunCheckCommand(check_dir, std::cout, std::cerr);
  if (recover->parsed()) return RunRecoverCommand(recover_dir, std::cout, std::cerr);
  if (isolation->parsed()) {
    IsolationRunOptions run_options;
    run_options.isolation = *ParseIsolationLevelName(isolation_level);
    return RunIsolationCommand(spec_paths, run_options, std::cout, std::cerr);
  }
  return RunShell(line);
}

}  // namespace
}  // namespace mvdb::shell

int main(int argc, char** argv) {
  // A write to a closed pipe fails with EPIPE instead of killing mvdb on
  // the spot, so the shell stops and cleans up first (below).
  std::signal(SIGPIPE, SIG_IGN);
  mvdb::shell::FdOutputBuffer output(STDOUT_FILENO);
  std::streambuf* const previous = std::cout.rdbuf(&output);
  int status = 2;
  // The mvdb libraries report failures as Status; what can still throw is
  // the standard library (bad_alloc) and CLI11 setting up the options.
  try {
    status = mvdb::shell::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mvdb: " << e.what() << '\n';
  }
  std::cout.flush();
  std::cout.rdbuf(previous);
  if (output.error() == EPIPE) {
    // Whoever read the output has gone (`mvdb ... | head`): end as psql
    // and every filter do, by SIGPIPE, without a message.
    std::signal(SIGPIPE, SIG_DFL);
    raise(SIGPIPE);
  }
  if (output.error() != 0) {
    std::cerr << "mvdb: could not write to standard output: " << std::strerror(output.error())
              << '\n';
    if (status == 0) status = 1;
  }
  return status;
}
