// The SQL shell behind `mvdb [DBDIR]`, `-c` and `-f` (docs/cli.md and
// docs/output.md): reads statements ended by ';' and backslash
// meta-commands, runs each in the current session, prints results as psql
// does.
//
// Sessions. The shell starts with one session, "main"; `\session NAME`
// creates or switches to another, each with its own transaction and its own
// worker thread (shell/session_worker.h). After handing a statement over,
// the shell waits until it *settles*: it finished (its result is printed),
// or it waits for a row lock of a transaction that is still open — then the
// shell prints `(session a is waiting for session b)` and reads on. Whenever
// a waiting statement completes (another session committed, say), its
// result is printed labelled with its session: `[a] UPDATE 1`. After every
// statement or meta-command the shell settles every waiting session once, so
// such labelled results follow the statement that woke them, in session
// creation order.
//
// Scripts (standard input not a terminal, -f, -c, \i) behave the same, and
// a statement for a session whose previous statement still waits first
// waits for that one to finish. Meta-commands never wait. So a script
// reproduces two sessions by hand:
//
//   \session a
//   BEGIN; UPDATE accounts SET balance = balance + 10 WHERE id = 1;
//   \session b
//   BEGIN; UPDATE accounts SET balance = balance + 20 WHERE id = 1;
//   \session a                      -- b waits for a: "(session b is waiting for session a)"
//   COMMIT;                         -- prints COMMIT, then "[b] UPDATE 1"
//
// At a terminal a statement for a waiting session is refused instead (the
// shell must not freeze). At the end of input, \q, or --bail's first error,
// idle sessions are closed first (rolling back what they left open), so
// the statements waiting for them finish and are reported too.
//
// Limits and failures. A line, and a statement, may hold at most
// sql::kMaxStatementBytes (64 MiB): a longer one is error 54000, and since
// what follows it cannot be told apart from it, a script stops there (the
// terminal drops the statement and goes on). Input that cannot be read (a
// directory, an I/O error) is an error, never the end of a script. A
// meta-command line must be valid UTF-8 without NUL bytes (22021, as
// statements: sql::CheckStatementText), so nothing the shell prints differs
// from what was typed. The first failed write of the output (a full disk, a
// closed pipe) stops the shell: output_failed(), and main.cc exits non-zero.
//
// Threading: one thread drives a SqlShell; Interrupt() may be called from
// any thread.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/options.h"
#include "shell/line_reader.h"
#include "shell/output.h"
#include "shell/session_worker.h"
#include "sql/lexer.h"
#include "sql/session.h"

namespace mvdb::shell {

struct ShellOptions {
  OutputOptions output;
  bool bail = false;  // stop at the first error
  IsolationLevel isolation = IsolationLevel::kReadCommitted;
  std::string history_file;  // terminal only; empty: no history
};

class SqlShell {
 public:
  // `db` must outlive the shell.
  SqlShell(sql::SqlDatabase* db, ShellOptions options, std::ostream& out, std::ostream& err);
  ~SqlShell();  // Finish()
  SqlShell(const SqlShell&) = delete;
  SqlShell& operator=(const SqlShell&) = delete;

  // How a script ended.
  enum class ScriptEnd {
    kEnd,         // at its end
    kStopped,     // for good: \q, bail, or a failed write of the output
    kUnreadable,  // it could not be read to its end (reported on err)
  };
  // Runs a script to its end, \q or (with bail) its first error. `name`
  // (a file name, "standard input") is for messages.
  ScriptEnd RunScript(LineReader& in, const std::string& name);
  // -c's text. Returns false when it stopped for good.
  bool RunText(std::string_view text);
  // The interactive loop: readline, history, prompts, asynchronous results.
  void RunTerminal();
  // Ctrl-C at the terminal (from a signal-handling thread): drops the line
  // and the statement being typed and shows a fresh prompt, as psql does.
  // Only the readline terminal takes it (kTakesInterrupts); a statement
  // that is running is not cancelled.
  void Interrupt();
#ifdef MVDB_HAVE_READLINE
  static constexpr bool kTakesInterrupts = true;
#else
  static constexpr bool kTakesInterrupts = false;
#endif

  // Closes the sessions, reporting what their waiting statements did.
  void Finish();

  bool had_error() const { return had_error_; }
  // True after --bail stopped at an error.
  bool bailed() const { return bailed_; }
  // True after a write of the output failed (the shell stopped there).
  bool output_failed() const { return output_failed_; }

  // The prompt of the current session: NAME=# NAME=*# NAME=!# (or NAME-#
  // while a statement continues over several lines).
  std::string Prompt(bool continuation) const;

 private:
  // What feeds lines: a script or the terminal.
  enum class Mode { kScript, kTerminal };
  struct Input {
    explicit Input(Mode input_mode) : mode(input_mode) {}
    Mode mode;
    std::string buffer;               // text of an unfinished statement
    sql::StatementSplitter splitter;  // how far buffer has been scanned
    bool too_long = false;            // a script's line or statement passed the limit
  };
  enum class Settled { kDone, kBlocked };

  // Feeds one line. Returns false to stop reading (\q, bail, too long).
  bool HandleLine(Input& input, std::string_view line);
  // A line or statement over the limit: 54000; a script stops reading.
  bool TooLong(Input& input, std::string_view what);
  // Drops the unfinished statement.
  static void ClearInput(Input& input);
  // Runs the complete statements at the front of input.buffer.
  bool RunCompleteStatements(Input& input);
  // The unfinished statement at the end of a script, if any text.
  bool FlushBuffer(Input& input);
  bool RunStatement(Mode mode, std::string sql);
  bool RunMetaCommand(Mode mode, std::string_view line);

  SessionWorker& current() { return *sessions_[current_]; }
  const SessionWorker& current() const { return *sessions_[current_]; }
  SessionWorker& AddSession(const std::string& name);
  SessionWorker* FindSession(std::string_view name);
  // The session owning transaction `id`, or null.
  const SessionWorker* SessionOfTransaction(uint64_t id) const;
  std::string DescribeTransaction(uint64_t id) const;

  Settled Settle(SessionWorker& session);
  bool IsBlocked(const SessionWorker& session) const;
  // Prints a finished statement's result; `labelled` prefixes [name].
  // Returns false when it was an error and bail is on.
  bool Report(SessionWorker& session, bool labelled);
  // Settles every other busy session, reporting those that finished.
  bool ReportWoken();
  // Waits for `session`'s statement to finish and reports it labelled.
  bool WaitAndReport(SessionWorker& session);

  // meta_commands.cc
  bool MetaHelp();
  bool MetaSession(const std::vector<std::string>& args);
  bool MetaSessions();
  bool MetaDescribe(const std::vector<std::string>& args);
  bool MetaIndexes();
  bool MetaVersions(const std::vector<std::string>& args);
  bool MetaLocks();
  bool MetaTransactions();
  bool MetaStats();
  bool MetaBtree(const std::vector<std::string>& args);
  bool MetaWal();
  bool MetaCheckpoint();
  bool MetaGc();
  bool MetaInclude(const std::vector<std::string>& args);
  // An error of a meta-command: printed, counted, and false under bail.
  bool MetaError(const std::string& message);
  // Counts an error already printed; false under bail.
  bool CountError();
  // Flushes the output; false (and the shell stops) when a write failed.
  bool FlushOutput();

  sql::SqlDatabase* const db_;
  ShellOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  std::vector<std::unique_ptr<SessionWorker>> sessions_;  // in creation order
  size_t current_ = 0;
  bool timing_ = false;
  bool had_error_ = false;
  bool bailed_ = false;
  bool quit_ = false;
  bool output_failed_ = false;
  int include_depth_ = 0;
  int wake_fd_[2] = {-1, -1};       // workers write a byte when a statement finishes
  int interrupt_fd_[2] = {-1, -1};  // Interrupt() writes a byte
};

}  // namespace mvdb::shell
