// The SQL shell's input loop and sessions (shell/sql_shell.h). The
// meta-commands are in meta_commands.cc, the layouts in output.cc.
#include "shell/sql_shell.h"

#include <fcntl.h>
#include <sys/select.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>

#include "sql/lexer.h"
#include "sql/parser.h"

#ifdef MVDB_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

namespace mvdb::shell {
namespace {

constexpr char kFirstSession[] = "main";

bool IsBlank(std::string_view text) {
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string_view TrimLeft(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  return text;
}

// True when the text holds no statement, only blanks and comments.
bool IsEmptyStatement(std::string_view text) {
  if (IsBlank(text)) return true;
  Result<std::vector<sql::Statement>> parsed = sql::ParseScript(text);
  return parsed.ok() && parsed->empty();
}

void PrintTiming(std::chrono::nanoseconds elapsed, std::ostream& out) {
  char text[64];
  std::snprintf(text, sizeof(text), "Time: %.3f ms\n",
                std::chrono::duration<double, std::milli>(elapsed).count());
  out << text;
}

}  // namespace

SqlShell::SqlShell(sql::SqlDatabase* db, ShellOptions options, std::ostream& out, std::ostream& err)
    : db_(db), options_(std::move(options)), out_(out), err_(err) {
  if (pipe2(wake_fd_, O_NONBLOCK | O_CLOEXEC) != 0) {
    wake_fd_[0] = wake_fd_[1] = -1;
  }
  if (pipe2(interrupt_fd_, O_NONBLOCK | O_CLOEXEC) != 0) {
    interrupt_fd_[0] = interrupt_fd_[1] = -1;
  }
  AddSession(kFirstSession);
}

SqlShell::~SqlShell() {
  Finish();
  for (int fd : wake_fd_) {
    if (fd >= 0) close(fd);
  }
  for (int fd : interrupt_fd_) {
    if (fd >= 0) close(fd);
  }
}

void SqlShell::Interrupt() {
  if (interrupt_fd_[1] < 0) return;
  const char byte = 1;
  // A full pipe already holds an interrupt: nothing is lost.
  (void)!write(interrupt_fd_[1], &byte, 1);
}

bool SqlShell::FlushOutput() {
  if (!output_failed_) {
    out_.flush();
    if (out_.good()) return true;
    output_failed_ = true;
  }
  quit_ = true;
  return false;
}

bool SqlShell::CountError() {
  had_error_ = true;
  if (options_.bail) {
    bailed_ = true;
    return false;
  }
  return true;
}

SessionWorker& SqlShell::AddSession(const std::string& name) {
  const int wake = wake_fd_[1];
  sessions_.push_back(
      std::make_unique<SessionWorker>(name, db_->NewSession(options_.isolation), [wake] {
        if (wake >= 0) {
          const char byte = 1;
          // A full pipe already wakes the reader: nothing is lost.
          (void)!write(wake, &byte, 1);
        }
      }));
  return *sessions_.back();
}

SessionWorker* SqlShell::FindSession(std::string_view name) {
  for (auto& session : sessions_) {
    if (session->name() == name) return session.get();
  }
  return nullptr;
}

const SessionWorker* SqlShell::SessionOfTransaction(uint64_t id) const {
  if (id == 0) return nullptr;
  for (const auto& session : sessions_) {
    if (session->transaction_id() == id) return session.get();
  }
  return nullptr;
}

std::string SqlShell::DescribeTransaction(uint64_t id) const {
  const SessionWorker* owner = SessionOfTransaction(id);
  return owner != nullptr ? "session " + owner->name() : "transaction " + std::to_string(id);
}

std::string SqlShell::Prompt(bool continuation) const {
  std::string prompt = current().name();
  prompt += continuation ? '-' : '=';
  switch (current().block_state()) {
    case sql::BlockState::kIdle:
      break;
    case sql::BlockState::kInBlock:
      prompt += '*';
      break;
    case sql::BlockState::kFailedBlock:
      prompt += '!';
      break;
  }
  return prompt + "# ";
}

// --- Statements and their results -------------------------------------------

bool SqlShell::IsBlocked(const SessionWorker& session) const {
  // The holder must still be open: right after it commits, the woken
  // statement may not have cleared waiting_for() yet, and it is running.
  const uint64_t holder = session.waiting_for();
  if (holder == 0) return false;
  for (const TransactionInfo& txn : db_->database()->ListTransactions()) {
    if (txn.id == holder) {
      return txn.state == TransactionState::kActive || txn.state == TransactionState::kFailed;
    }
  }
  return false;
}

SqlShell::Settled SqlShell::Settle(SessionWorker& session) {
  while (true) {
    if (session.Finished()) return Settled::kDone;
    if (IsBlocked(session)) return Settled::kBlocked;
    if (session.WaitFinished(std::chrono::microseconds(200))) return Settled::kDone;
  }
}

bool SqlShell::Report(SessionWorker& session, bool labelled) {
  std::chrono::nanoseconds elapsed{0};
  const sql::Outcome outcome = session.TakeOutcome(&elapsed);
  const std::string label = labelled ? "[" + session.name() + "]" : "";
  if (outcome.ok()) {
    const sql::StatementResult& result = *outcome.result;
    if (result.rows.has_value()) {
      if (labelled) out_ << label << '\n';
      PrintStatementResult(result, options_.output, out_);
    } else if (!options_.output.quiet) {
      out_ << (labelled ? label + " " : "") << result.tag << '\n';
    }
  } else {
    if (!FlushOutput()) return false;
    err_ << (labelled ? label + " " : "") << FormatError(outcome.error) << '\n';
    err_.flush();
    had_error_ = true;
  }
  if (timing_) PrintTiming(elapsed, out_);
  if (!FlushOutput()) return false;
  if (!outcome.ok() && options_.bail) {
    bailed_ = true;
    return false;
  }
  return true;
}

bool SqlShell::ReportWoken() {
  bool reported = true;
  while (reported) {
    reported = false;
    for (auto& session : sessions_) {
      if (!session->busy() || Settle(*session) != Settled::kDone) continue;
      if (!Report(*session, /*labelled=*/true)) return false;
      reported = true;
    }
  }
  return true;
}

bool SqlShell::WaitAndReport(SessionWorker& session) {
  while (Settle(session) == Settled::kBlocked) {
    // Blocked by a session that is idle: nothing later in a script can
    // let it go on (the script would hang), so stop here.
    const SessionWorker* holder = SessionOfTransaction(session.waiting_for());
    if (holder != nullptr && !holder->busy()) {
      if (!FlushOutput()) return false;
      err_ << "mvdb: session " << session.name() << " waits for session " << holder->name()
           << ", which has nothing left to run: the script cannot go on\n";
      err_.flush();
      had_error_ = true;
      bailed_ = true;
      return false;
    }
    session.WaitFinished(std::chrono::milliseconds(5));
  }
  return Report(session, /*labelled=*/true);
}

bool SqlShell::RunStatement(Mode mode, std::string sql) {
  SessionWorker& session = current();
  if (session.busy()) {
    if (mode == Mode::kTerminal) {
      err_ << "ERROR:  session " << session.name() << " is still waiting for "
           << DescribeTransaction(session.waiting_for())
           << "; switch with \\session NAME or wait for it\n";
      err_.flush();
      had_error_ = true;
      return true;
    }
    if (!WaitAndReport(session)) return false;
  }
  session.Start(std::move(sql));
  if (Settle(session) == Settled::kDone) {
    if (!Report(session, /*labelled=*/false)) return false;
  } else {
    out_ << "(session " << session.name() << " is waiting for "
         << DescribeTransaction(session.waiting_for()) << ")\n";
    if (!FlushOutput()) return false;
  }
  return ReportWoken();
}

// --- Reading input -------------------------------------------------------------

void SqlShell::ClearInput(Input& input) {
  input.buffer.clear();
  input.buffer.shrink_to_fit();  // it may have held 64 MiB
  input.splitter.Reset();
}

bool SqlShell::HandleLine(Input& input, std::string_view line) {
  if (line.size() > sql::kMaxStatementBytes) return TooLong(input, "line");
  if (IsBlank(input.buffer)) {
    const std::string_view trimmed = TrimLeft(line);
    if (!trimmed.empty() && trimmed.front() == '\\') {
      ClearInput(input);
      // Meta-commands print their arguments back: refused like statements.
      const size_t invalid = sql::FindInvalidUtf8(trimmed);
      const bool go_on =
          invalid == std::string_view::npos
              ? RunMetaCommand(input.mode, trimmed)
              : MetaError(FormatError({"22021", sql::InvalidUtf8Message(trimmed, invalid)}));
      return go_on && ReportWoken();
    }
  }
  input.buffer.append(line);
  input.buffer += '\n';
  if (!RunCompleteStatements(input)) return false;
  if (input.buffer.size() > sql::kMaxStatementBytes) return TooLong(input, "statement");
  return true;
}

bool SqlShell::TooLong(Input& input, std::string_view what) {
  ClearInput(input);
  if (!FlushOutput()) return false;
  err_ << FormatError({"54000", std::string(what) + " is too long (more than " +
                                    std::to_string(sql::kMaxStatementBytes) + " bytes)"})
       << '\n';
  err_.flush();
  if (input.mode == Mode::kScript) {
    had_error_ = true;
    input.too_long = true;
    return false;
  }
  return CountError();
}

bool SqlShell::RunCompleteStatements(Input& input) {
  // Statements are taken from the front without moving the rest each time
  // (a line may hold a million of them).
  size_t start = 0;
  size_t end = 0;
  bool go_on = true;
  while (go_on && input.splitter.FindEnd(std::string_view(input.buffer).substr(start), &end)) {
    std::string statement = input.buffer.substr(start, end);
    start += end;
    input.splitter.Reset();
    if (!IsEmptyStatement(statement)) go_on = RunStatement(input.mode, std::move(statement));
  }
  input.buffer.erase(0, start);
  if (IsBlank(input.buffer)) ClearInput(input);
  return go_on;
}

bool SqlShell::FlushBuffer(Input& input) {
  std::string rest = std::move(input.buffer);
  ClearInput(input);
  if (IsEmptyStatement(rest)) return true;
  return RunStatement(input.mode, std::move(rest));
}

SqlShell::ScriptEnd SqlShell::RunScript(LineReader& in, const std::string& name) {
  Input input(Mode::kScript);
  std::string line;
  while (!quit_) {
    switch (in.ReadLine(&line)) {
      case LineReader::Read::kLine:
        if (HandleLine(input, line)) continue;
        if (!input.too_long) return ScriptEnd::kStopped;
        break;
      case LineReader::Read::kEnd:
        return FlushBuffer(input) ? ScriptEnd::kEnd : ScriptEnd::kStopped;
      case LineReader::Read::kError:
        // psql's words; the unfinished statement is not run.
        if (!FlushOutput()) return ScriptEnd::kStopped;
        err_ << "mvdb: " << name << ": could not read from input file: " << in.error() << '\n';
        err_.flush();
        had_error_ = true;
        return ScriptEnd::kUnreadable;
      case LineReader::Read::kTooLong:
        (void)TooLong(input, "line");
        break;
    }
    // A line or statement over the limit: what follows cannot be told
    // apart from it.
    if (quit_) return ScriptEnd::kStopped;
    err_ << "mvdb: " << name << ": the rest of the input is not read\n";
    err_.flush();
    return ScriptEnd::kUnreadable;
  }
  return ScriptEnd::kStopped;
}

bool SqlShell::RunText(std::string_view text) {
  Input input(Mode::kScript);
  size_t start = 0;
  while (start <= text.size() && !quit_) {
    size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) newline = text.size();
    if (!HandleLine(input, text.substr(start, newline - start))) return false;
    start = newline + 1;
  }
  if (quit_) return false;
  return FlushBuffer(input);
}

void SqlShell::Finish() {
  // Idle sessions close first (rolling back what they left open), so the
  // statements that wait for them go on and are reported.
  while (!sessions_.empty()) {
    for (auto& session : sessions_) {
      if (session->busy() && Settle(*session) == Settled::kDone) {
        (void)Report(*session, /*labelled=*/true);
      }
    }
    size_t victim = 0;
    while (victim < sessions_.size() && sessions_[victim]->busy()) ++victim;
    if (victim == sessions_.size()) victim = 0;  // cannot happen: someone holds the locks
    sessions_.erase(sessions_.begin() + static_cast<long>(victim));
  }
  current_ = 0;
  (void)FlushOutput();
}

// --- The terminal ----------------------------------------------------------------

#ifdef MVDB_HAVE_READLINE
namespace {

// readline's callback interface takes a plain function.
std::function<void(char*)> g_line_handler;

void OnReadlineLine(char* line) { g_line_handler(line); }

}  // namespace

void SqlShell::RunTerminal() {
  Input input(Mode::kTerminal);
  if (!options_.history_file.empty()) {
    (void)read_history(options_.history_file.c_str());
  }
  stifle_history(2000);
  // Signals are main.cc's (a thread waits for them); Ctrl-C comes back
  // through Interrupt().
  rl_catch_signals = 0;
  g_line_handler = [this, &input](char* raw) {
    if (raw == nullptr) {  // end of input (Ctrl-D)
      out_ << '\n';
      quit_ = true;
      rl_callback_handler_remove();
      return;
    }
    std::unique_ptr<char, decltype(&std::free)> line(raw, &std::free);
    if (!IsBlank(raw)) add_history(raw);
    if (!HandleLine(input, raw)) quit_ = true;
    if (quit_) {
      rl_callback_handler_remove();
      return;
    }
    rl_set_prompt(Prompt(!input.buffer.empty()).c_str());
  };
  rl_callback_handler_install(Prompt(false).c_str(), OnReadlineLine);
  while (!quit_) {
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(STDIN_FILENO, &readable);
    int max_fd = STDIN_FILENO;
    for (int fd : {wake_fd_[0], interrupt_fd_[0]}) {
      if (fd < 0) continue;
      FD_SET(fd, &readable);
      max_fd = std::max(max_fd, fd);
    }
    if (select(max_fd + 1, &readable, nullptr, nullptr, nullptr) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (interrupt_fd_[0] >= 0 && FD_ISSET(interrupt_fd_[0], &readable)) {
      char drain[64];
      while (read(interrupt_fd_[0], drain, sizeof(drain)) > 0) {
      }
      // As psql: the line and the statement typed so far are dropped, and
      // a fresh prompt follows on a new line.
      ClearInput(input);
      rl_callback_sigcleanup();
      rl_echo_signal_char(SIGINT);
      rl_replace_line("", 0);
      rl_crlf();
      rl_set_prompt(Prompt(false).c_str());
      rl_on_new_line();
      rl_redisplay();
      continue;
    }
    if (wake_fd_[0] >= 0 && FD_ISSET(wake_fd_[0], &readable)) {
      char drain[64];
      while (read(wake_fd_[0], drain, sizeof(drain)) > 0) {
      }
      bool any_finished = false;
      for (auto& session : sessions_) any_finished |= session->busy() && session->Finished();
      if (any_finished) {
        // A statement finished while the user types (a lock timeout, say):
        // print it above the line being edited, then redraw that line.
        char* saved = rl_copy_text(0, rl_end);
        const int saved_point = rl_point;
        rl_set_prompt("");
        rl_replace_line("", 0);
        rl_redisplay();
        (void)ReportWoken();
        rl_set_prompt(Prompt(!input.buffer.empty()).c_str());
        rl_replace_line(saved, 0);
        rl_point = saved_point;
        rl_redisplay();
        std::free(saved);
      }
    }
    if (FD_ISSET(STDIN_FILENO, &readable)) rl_callback_read_char();
  }
  if (!options_.history_file.empty()) {
    (void)write_history(options_.history_file.c_str());
  }
}
#else
void SqlShell::RunTerminal() {
  // Without readline: a plain prompt; results that arrived meanwhile are
  // printed before each prompt.
  Input input(Mode::kTerminal);
  std::string line;
  while (!quit_) {
    (void)ReportWoken();
    out_ << Prompt(!input.buffer.empty()) << std::flush;
    if (!std::getline(std::cin, line)) {
      out_ << '\n';
      break;
    }
    if (!HandleLine(input, line)) break;
  }
}
#endif

}  // namespace mvdb::shell
