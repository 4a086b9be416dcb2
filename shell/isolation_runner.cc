// The isolation spec runner (shell/isolation_runner.h); the spec format is
// parsed in isolation_spec.cc.
//
// How a permutation runs, and why it matches pg-isolation:
//
//  1. Each session is a SessionWorker: a thread owning one sql::Session. A
//     step's statements are handed to the worker, which runs them in order,
//     stopping at the first error, and posts the lines to print (the last
//     statement's result or that error).
//  2. After handing over a step the runner waits until the step *settles*:
//     it finished, or its statement waits for a row lock held by a
//     transaction that is still open (Session::waiting_for() names it and
//     Database::ListTransactions() still lists it). Checking that the holder
//     is open, not only that waiting_for() is non-zero, matters right after
//     a COMMIT: the woken waiter may not have cleared waiting_for() yet, and
//     it must then be seen as running, not as still blocked.
//  3. Completions are reported as pg-isolation's poll_waiters does: after
//     every step, sessions in spec order, each pending one settled and
//     reported if done, repeated until a pass reports nothing; the session
//     of a step that has just blocked is skipped in that round.
//  4. pg-isolation's timeouts become facts: a settled session that is
//     blocked stays blocked until another session acts (no lock timeout is
//     set; deadlocks fail at once), so one round of polling decides "still
//     blocked" and the end of a permutation without waiting 10 s.
//  5. At the end every worker is told to stop at once; an idle worker drops
//     its session on its own thread, which rolls back and frees the locks a
//     blocked worker waits for, so all threads finish.
#include "shell/isolation_runner.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "mvdb/db.h"
#include "sql/session.h"

namespace mvdb::shell {
namespace {

// --- Results as transcript lines ----------------------------------------------

// Python's repr of a float: the shortest digits that read back exactly,
// fixed notation with at least one fractional digit when the decimal
// exponent is in [-4, 16), else d.ddde+XX.
std::string PythonFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  const auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view scientific(buffer, end - buffer);  // "-1.2345e+17", shortest digits
  std::string sign;
  if (scientific.front() == '-') {
    sign = "-";
    scientific.remove_prefix(1);
  }
  const size_t e = scientific.find('e');
  std::string digits;
  for (char c : scientific.substr(0, e)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(scientific.substr(e + 1)).c_str());
  const int point = exponent + 1;  // digits before the decimal point
  const int count = static_cast<int>(digits.size());
  if (point <= -4 || point > 16) {
    std::string out = sign + digits.substr(0, 1);
    if (count > 1) out += "." + digits.substr(1);
    const std::string magnitude = std::to_string(std::abs(exponent));
    return out + (exponent < 0 ? "e-" : "e+") + (magnitude.size() < 2 ? "0" : "") + magnitude;
  }
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  if (point >= count) return sign + digits + std::string(point - count, '0') + ".0";
  return sign + digits.substr(0, point) + "." + digits.substr(point);
}

std::string CsvField(const sql::Value& value) {
  if (value.is_null()) return "\\N";
  return CsvQuoteIsolation(FormatIsolationValue(value));
}

// What pg-isolation prints for one finished statement; `failed` when it is
// an error (which ends the step).
std::vector<std::string> OutcomeLines(const sql::Outcome& outcome, bool* failed) {
  *failed = !outcome.ok();
  if (!outcome.ok()) return {"error " + outcome.error.sqlstate};
  const sql::StatementResult& result = *outcome.result;
  if (!result.rows.has_value()) return {result.tag};
  std::string header;
  for (size_t c = 0; c < result.rows->columns.size(); ++c) {
    if (c > 0) header += ',';
    header += CsvQuoteIsolation(result.rows->columns[c]);
  }
  std::vector<std::string> rows;
  for (const std::vector<sql::Value>& row : result.rows->rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += ',';
      line += CsvField(row[c]);
    }
    rows.push_back(std::move(line));
  }
  std::sort(rows.begin(), rows.end());  // byte order = Python's code point order for UTF-8
  std::vector<std::string> lines = {"rows", "  " + header};
  for (std::string& row : rows) lines.push_back("  " + row);
  return lines;
}

// --- One session on its own thread ------------------------------------------

class SessionWorker {
 public:
  SessionWorker(std::string name, std::unique_ptr<sql::Session> session)
      : name_(std::move(name)), session_(std::move(session)), thread_([this] { Loop(); }) {}
  SessionWorker(const SessionWorker&) = delete;
  SessionWorker& operator=(const SessionWorker&) = delete;
  ~SessionWorker() {
    RequestStop();
    Join();
  }

  const std::string& name() const { return name_; }

  // Hands over a step. `setup` runs every statement whatever fails, keeping
  // the last error for the next result, as pg-isolation's exec_all leaves a
  // session setup error in sess.error. REQUIRES: not busy.
  void Start(std::vector<std::string> statements, bool setup = false) {
    std::lock_guard lock(mutex_);
    job_ = std::move(statements);
    job_is_setup_ = setup;
    has_job_ = true;
    finished_ = false;
    job_ready_.notify_one();
  }

  // Waits up to `timeout` for the step to finish.
  bool WaitFinished(std::chrono::microseconds timeout) {
    std::unique_lock lock(mutex_);
    return finished_changed_.wait_for(lock, timeout, [this] { return finished_; });
  }

  // The finished step's lines. REQUIRES: WaitFinished returned true.
  std::vector<std::string> TakeLines() {
    std::lock_guard lock(mutex_);
    return std::move(lines_);
  }

  // The transaction this session's statement waits for, or 0. Any thread.
  uint64_t waiting_for() const { return session_view_->waiting_for(); }

  void RequestStop() {
    std::lock_guard lock(mutex_);
    stop_ = true;
    job_ready_.notify_one();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      job_ready_.wait(lock, [this] { return has_job_ || stop_; });
      if (!has_job_) break;  // stop, with no step left to run
      std::vector<std::string> statements = std::move(job_);
      const bool setup = job_is_setup_;
      has_job_ = false;
      lock.unlock();
      std::vector<std::string> lines = setup ? RunSetup(statements) : RunStep(statements);
      lock.lock();
      lines_ = std::move(lines);
      finished_ = true;
      finished_changed_.notify_all();
    }
    lock.unlock();
    // Rolls back on this thread, so that a worker blocked on our locks can
    // finish while the runner stops everyone.
    session_.reset();
  }

  std::vector<std::string> RunStep(const std::vector<std::string>& statements) {
    std::vector<std::string> lines = {""};
    for (size_t i = 0; i < statements.size(); ++i) {
      bool failed = false;
      lines = OutcomeLines(session_->ExecuteText(statements[i]), &failed);
      if (!failed && stale_error_.has_value()) {
        lines = {"error " + *stale_error_};
        failed = true;
      }
      stale_error_.reset();
      if (failed) break;
    }
    return lines;
  }

  std::vector<std::string> RunSetup(const std::vector<std::string>& statements) {
    for (const std::string& statement : statements) {
      sql::Outcome outcome = session_->ExecuteText(statement);
      if (!outcome.ok()) stale_error_ = outcome.error.sqlstate;
    }
    return {};
  }

  const std::string name_;
  std::unique_ptr<sql::Session> session_;  // reset by the worker thread at exit
  // For waiting_for(), which other threads call; outlives the thread's use
  // of session_ because the runner joins before the worker is destroyed.
  const sql::Session* const session_view_ = session_.get();
  std::optional<std::string> stale_error_;  // worker thread only

  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::condition_variable finished_changed_;
  std::vector<std::string> job_;
  bool job_is_setup_ = false;
  bool has_job_ = false;
  bool finished_ = true;
  bool stop_ = false;
  std::vector<std::string> lines_;
  std::thread thread_;  // last: starts after every member above exists
};

// --- One permutation ----------------------------------------------------------

// A step must settle within this long; beyond it the engine is stuck (a
// statement neither finishing nor registered as waiting), which is a bug
// to report, not a transcript line.
constexpr auto kSettleLimit = std::chrono::seconds(60);

class PermutationRun {
 public:
  PermutationRun(sql::SqlDatabase* db, const IsolationSpec& spec, IsolationLevel isolation,
                 std::vector<std::string>* out)
      : db_(db), spec_(spec), isolation_(isolation), out_(out) {}

  // True after a step failed to settle (see Settle); the database must
  // then not be closed.
  bool stuck() const { return stuck_; }

  Status Run(const std::vector<std::string>& permutation) {
    MVDB_RETURN_IF_ERROR(RunBlocks(spec_.setup, "setup"));
    std::string line = "permutation:";
    for (const std::string& name : permutation) line += " " + name;
    // pg-isolation joins with one space after the colon even when empty.
    if (permutation.empty()) line += " ";
    out_->push_back(line);
    Status status = RunSteps(permutation);
    if (stuck_) {
      // A worker that never settles cannot be joined: leave the threads
      // (and, in RunIsolationSpec, the database) to the exiting process.
      for (auto& worker : workers_) (void)worker.release();
      return status;
    }
    StopSessions();
    MVDB_RETURN_IF_ERROR(status);
    return RunBlocks(spec_.teardown, "teardown");
  }

 private:
  struct Pending {
    std::string step;  // the step that is blocked or running, or empty
  };

  enum class Settled { kDone, kBlocked };

  Status RunSteps(const std::vector<std::string>& permutation) {
    std::map<std::string, std::pair<size_t, std::string>> steps;  // name -> session, sql
    for (size_t s = 0; s < spec_.sessions.size(); ++s) {
      for (const IsolationStep& step : spec_.sessions[s].steps) {
        steps[step.name] = {s, step.sql};
      }
    }
    for (const IsolationSession& session : spec_.sessions) {
      workers_.push_back(
          std::make_unique<SessionWorker>(session.name, db_->NewSession(isolation_)));
      pending_.emplace_back();
    }
    for (size_t s = 0; s < spec_.sessions.size(); ++s) {
      std::vector<std::string> statements;
      for (const std::string& block : spec_.sessions[s].setup) {
        for (std::string& statement : SplitSpecStatements(block)) {
          statements.push_back(std::move(statement));
        }
      }
      if (statements.empty()) continue;
      workers_[s]->Start(std::move(statements), /*setup=*/true);
      MVDB_ASSIGN_OR_RETURN(Settled settled, Settle(s));
      if (settled == Settled::kBlocked) {
        return Status::Aborted("session " + spec_.sessions[s].name + ": setup statement hung");
      }
      (void)workers_[s]->TakeLines();
    }
    for (const std::string& name : permutation) {
      const auto& [session, sql] = steps.at(name);
      if (!pending_[session].step.empty()) {
        // pg-isolation polls for 10 s here; one round decides it (point 4).
        MVDB_RETURN_IF_ERROR(PollWaiters(std::nullopt));
        if (!pending_[session].step.empty()) {
          out_->push_back(name + ": still blocked");
          continue;
        }
      }
      workers_[session]->Start(SplitSpecStatements(sql));
      MVDB_ASSIGN_OR_RETURN(Settled settled, Settle(session));
      if (settled == Settled::kBlocked) {
        pending_[session].step = name;
        out_->push_back(name + ": waiting");
      } else {
        Emit(name, "", workers_[session]->TakeLines());
      }
      MVDB_RETURN_IF_ERROR(
          PollWaiters(settled == Settled::kBlocked ? std::optional(session) : std::nullopt));
    }
    return PollWaiters(std::nullopt);
  }

  // Reports finished blocked steps, sessions in spec order, until a round
  // reports nothing (pg-isolation's poll_waiters).
  Status PollWaiters(std::optional<size_t> exclude) {
    bool progressed = true;
    while (progressed) {
      progressed = false;
      for (size_t s = 0; s < workers_.size(); ++s) {
        if ((exclude.has_value() && *exclude == s) || pending_[s].step.empty()) continue;
        MVDB_ASSIGN_OR_RETURN(Settled settled, Settle(s));
        if (settled == Settled::kBlocked) continue;
        Emit(pending_[s].step, "completed: ", workers_[s]->TakeLines());
        pending_[s].step.clear();
        progressed = true;
      }
    }
    return Status::OK();
  }

  // Waits until session s's step finished or waits for an open transaction.
  Result<Settled> Settle(size_t s) {
    const auto deadline = std::chrono::steady_clock::now() + kSettleLimit;
    while (true) {
      if (workers_[s]->WaitFinished(std::chrono::microseconds(0))) return Settled::kDone;
      if (IsBlocked(*workers_[s])) return Settled::kBlocked;
      if (workers_[s]->WaitFinished(std::chrono::microseconds(200))) return Settled::kDone;
      if (std::chrono::steady_clock::now() > deadline) {
        stuck_ = true;
        return Status::Aborted("session " + workers_[s]->name() +
                               ": a statement neither finished nor waited for a lock in 60 s");
      }
    }
  }

  bool IsBlocked(const SessionWorker& worker) const {
    const uint64_t holder = worker.waiting_for();
    if (holder == 0) return false;
    for (const TransactionInfo& txn : db_->database()->ListTransactions()) {
      if (txn.id == holder) {
        return txn.state == TransactionState::kActive || txn.state == TransactionState::kFailed;
      }
    }
    return false;
  }

  void Emit(const std::string& step, std::string_view prefix, std::vector<std::string> lines) {
    if (lines.empty()) lines.emplace_back();
    out_->push_back(step + ": " + std::string(prefix) + lines[0]);
    for (size_t i = 1; i < lines.size(); ++i) out_->push_back(std::move(lines[i]));
  }

  // Point 5: stop every worker first, then join.
  void StopSessions() {
    for (auto& worker : workers_) worker->RequestStop();
    for (auto& worker : workers_) worker->Join();
    workers_.clear();
    pending_.clear();
  }

  // setup and teardown: each statement on a fresh session, on its own, as
  // pg-isolation's run_sync does with an autocommit connection.
  Status RunBlocks(const std::vector<std::string>& blocks, std::string_view what) {
    std::unique_ptr<sql::Session> session = db_->NewSession(isolation_);
    for (const std::string& block : blocks) {
      for (const std::string& statement : SplitSpecStatements(block)) {
        sql::Outcome outcome = session->ExecuteText(statement);
        if (!outcome.ok()) {
          return Status::InvalidArgument(std::string(what) + " statement " + Quoted(statement) +
                                         " failed: " + outcome.error.sqlstate + " " +
                                         outcome.error.message);
        }
      }
    }
    return Status::OK();
  }

  sql::SqlDatabase* const db_;
  const IsolationSpec& spec_;
  const IsolationLevel isolation_;
  std::vector<std::string>* const out_;
  std::vector<std::unique_ptr<SessionWorker>> workers_;
  std::vector<Pending> pending_;
  bool stuck_ = false;
};

// A directory for one spec's database, removed with its content.
class ScratchDir {
 public:
  static Result<std::unique_ptr<ScratchDir>> Create(const std::string& root) {
    std::string base = root;
    if (base.empty()) {
      const char* tmpdir = std::getenv("TMPDIR");
      base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    }
    std::string pattern = base + "/mvdb-isolation-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::FromErrno("cannot create a temporary directory " + pattern, errno);
    }
    return std::unique_ptr<ScratchDir>(new ScratchDir(std::move(pattern)));
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

std::string FormatIsolationValue(const sql::Value& value) {
  switch (value.type()) {
    case sql::TypeId::kNull:
      return "\\N";
    case sql::TypeId::kBool:
      return value.bool_value() ? "True" : "False";
    case sql::TypeId::kInt:
      return std::to_string(value.int_value());
    case sql::TypeId::kFloat:
      return PythonFloatRepr(value.float_value());
    case sql::TypeId::kText:
      return value.text_value();
  }
  return "";
}

std::string CsvQuoteIsolation(std::string_view text) {
  const bool needs_quotes = text.empty() ||
                            text.find_first_of(",\"\n\r") != std::string_view::npos ||
                            PythonStrip(text).size() != text.size();
  if (!needs_quotes) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

Status RunIsolationSpec(const IsolationSpec& spec, const IsolationRunOptions& options,
                        std::vector<std::string>* transcript) {
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> dir, ScratchDir::Create(options.temp_root));
  Options db_options;
  db_options.sync = SyncMode::kOff;  // specs test visibility and locking, not durability
  db_options.default_isolation = options.isolation;
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<sql::SqlDatabase> db,
                        sql::SqlDatabase::Open(dir->path() + "/db", db_options));
  for (const std::vector<std::string>& permutation : PermutationsToRun(spec)) {
    PermutationRun run(db.get(), spec, options.isolation, transcript);
    Status status = run.Run(permutation);
    if (run.stuck()) {
      (void)db.release();
      (void)dir.release();
    }
    MVDB_RETURN_IF_ERROR(status);
  }
  db.reset();  // closes before the directory goes
  return Status::OK();
}

int RunIsolationCommand(const std::vector<std::string>& spec_paths,
                        const IsolationRunOptions& options, std::ostream& out, std::ostream& err) {
  for (const std::string& path : spec_paths) {
    std::ifstream file(path, std::ios::binary);
    if (!file.is_open()) {
      err << "mvdb isolation: cannot open " << path << ": " << std::strerror(errno) << '\n';
      return 1;
    }
    std::stringstream text;
    text << file.rdbuf();
    if (file.bad()) {
      err << "mvdb isolation: cannot read " << path << '\n';
      return 1;
    }
    Result<IsolationSpec> spec = ParseIsolationSpec(text.str());
    if (!spec.ok()) {
      err << "mvdb isolation: " << path << ": " << spec.status().message() << '\n';
      return 1;
    }
    std::vector<std::string> transcript;
    const Status status = RunIsolationSpec(*spec, options, &transcript);
    // pg-isolation prints a spec's lines joined by newlines, then one more.
    // After a failure, what ran so far is printed too, to show where.
    if (status.ok() || !transcript.empty()) {
      for (size_t i = 0; i < transcript.size(); ++i) {
        if (i > 0) out << '\n';
        out << transcript[i];
      }
      out << '\n' << std::flush;
    }
    if (!status.ok()) {
      err << "mvdb isolation: " << path << ": " << status.ToString() << '\n';
      return 1;
    }
  }
  return 0;
}

}  // namespace mvdb::shell
