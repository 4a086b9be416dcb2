// A session of the SQL shell on its own thread (shell/session_worker.h).
#include "shell/session_worker.h"

#include <utility>

namespace mvdb::shell {

SessionWorker::SessionWorker(std::string name, std::unique_ptr<sql::Session> session,
                             std::function<void()> on_finish)
    : name_(std::move(name)),
      session_(std::move(session)),
      on_finish_(std::move(on_finish)),
      thread_([this] { Loop(); }) {}

SessionWorker::~SessionWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    job_ready_.notify_one();
  }
  thread_.join();
}

void SessionWorker::Start(std::string sql) {
  std::lock_guard lock(mutex_);
  job_ = std::move(sql);
  has_job_ = true;
  busy_ = true;
  finished_ = false;
  job_ready_.notify_one();
}

bool SessionWorker::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

bool SessionWorker::Finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

bool SessionWorker::WaitFinished(std::chrono::microseconds timeout) {
  std::unique_lock lock(mutex_);
  return finished_changed_.wait_for(lock, timeout, [this] { return finished_; });
}

sql::Outcome SessionWorker::TakeOutcome(std::chrono::nanoseconds* elapsed) {
  std::lock_guard lock(mutex_);
  finished_ = false;
  busy_ = false;
  if (elapsed != nullptr) *elapsed = elapsed_;
  return std::move(outcome_);
}

sql::BlockState SessionWorker::block_state() const {
  std::lock_guard lock(mutex_);
  return block_state_;
}

void SessionWorker::Loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    job_ready_.wait(lock, [this] { return has_job_ || stop_; });
    if (!has_job_) break;
    std::string sql = std::move(job_);
    has_job_ = false;
    lock.unlock();
    const auto start = std::chrono::steady_clock::now();
    sql::Outcome outcome = session_->ExecuteText(sql);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const sql::BlockState state = session_->block_state();
    lock.lock();
    outcome_ = std::move(outcome);
    elapsed_ = elapsed;
    block_state_ = state;
    finished_ = true;
    finished_changed_.notify_all();
    if (on_finish_) {
      lock.unlock();
      on_finish_();
      lock.lock();
    }
  }
  lock.unlock();
  // Rolls back here, on the thread the session belongs to.
  session_.reset();
}

}  // namespace mvdb::shell
