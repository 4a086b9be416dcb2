// One named session of the SQL shell on a thread of its own, so that a
// statement waiting for another session's row lock does not freeze the
// shell (sql/README.md, "The shell and the isolation runner").
//
// The shell hands a statement to the worker (Start), then watches it:
// finished, or blocked — its statement waits for a transaction that is still
// open, which the lock manager says (Session::waiting_for() and
// Database::ListTransactions()), never a guess from a timeout.
//
// Threading: Start, Finished, TakeOutcome and the accessors are called by
// the shell's thread; the worker thread runs the statements. `on_finish`
// runs on the worker thread after each statement (the terminal uses it to
// wake its input loop).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sql/session.h"

namespace mvdb::shell {

class SessionWorker {
 public:
  SessionWorker(std::string name, std::unique_ptr<sql::Session> session,
                std::function<void()> on_finish);
  // Rolls back the session's open transaction (on the worker thread) and
  // joins it. A statement still waiting for a lock keeps the destructor
  // waiting until the holder lets go: destroy idle sessions first.
  ~SessionWorker();
  SessionWorker(const SessionWorker&) = delete;
  SessionWorker& operator=(const SessionWorker&) = delete;

  const std::string& name() const { return name_; }

  // Hands over one statement's text. REQUIRES: !busy().
  void Start(std::string sql);
  // True from Start until the outcome has been taken.
  bool busy() const;
  // True once the statement has finished (its outcome is ready).
  bool Finished() const;
  // Waits up to `timeout` for the statement to finish.
  bool WaitFinished(std::chrono::microseconds timeout);
  // The finished statement's outcome and how long it ran; makes the worker
  // idle again. REQUIRES: Finished().
  sql::Outcome TakeOutcome(std::chrono::nanoseconds* elapsed = nullptr);

  // The session's transaction-block state after its last statement (the
  // prompt's =# =*# =!#).
  sql::BlockState block_state() const;
  // Any thread, any time (sql/session.h).
  uint64_t transaction_id() const { return session_view_->transaction_id(); }
  uint64_t waiting_for() const { return session_view_->waiting_for(); }

 private:
  void Loop();

  const std::string name_;
  std::unique_ptr<sql::Session> session_;  // used by the worker thread; reset there at exit
  const sql::Session* const session_view_ = session_.get();
  const std::function<void()> on_finish_;

  mutable std::mutex mutex_;
  std::condition_variable job_ready_;
  std::condition_variable finished_changed_;
  std::string job_;
  bool has_job_ = false;
  bool busy_ = false;
  bool finished_ = false;
  bool stop_ = false;
  sql::Outcome outcome_;
  std::chrono::nanoseconds elapsed_{0};
  sql::BlockState block_state_ = sql::BlockState::kIdle;
  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace mvdb::shell
