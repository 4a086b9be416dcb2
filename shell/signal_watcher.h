// The signals that end the SQL shell from outside: SIGTERM, SIGHUP, and
// SIGINT (Ctrl-C), which at the terminal only drops the line being typed,
// as in psql.
//
// Nothing runs in a signal handler. The constructor blocks the signals in
// the calling thread, so every thread started after it (the database's,
// the sessions') has them blocked too, and a thread of the watcher's reads
// them from a signalfd. On a signal that ends the shell it restores the
// terminal's settings (readline may have changed them), removes the
// temporary database if there is one (a database without DBDIR must not
// outlive the shell, as the README's command line says), and ends the process by the
// same signal, so the exit status says what ended it, as before. A
// temporary database needs no orderly close: nobody can open it again.
// The database of a DBDIR is left as the signal finds it, which recovery
// handles, as after a crash.
//
// A signal that was ignored when the shell started (nohup, a background
// job's SIGINT) stays ignored.
//
// Threading: create the watcher on the main thread before any other thread
// starts; the setters may be called from any thread.
#pragma once

#include <termios.h>

#include <csignal>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace mvdb::shell {

class SignalWatcher {
 public:
  SignalWatcher();
  // Stops watching and unblocks the signals (one that arrived meanwhile
  // then acts as it would have without the watcher).
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // The directory to remove before a signal ends the process (empty: none).
  void SetTemporaryDirectory(const std::string& path);
  // What SIGINT does instead of ending the process (empty: it ends it).
  // Once this returns with an empty handler, the old one is not running.
  void SetInterruptHandler(std::function<void()> handler);

 private:
  void Watch();
  // Cleans up and ends the process by `signal`. Does not return.
  [[noreturn]] void Terminate(int signal);

  sigset_t watched_{};
  sigset_t previous_mask_{};
  int signal_fd_ = -1;
  int stop_fd_[2] = {-1, -1};
  bool saved_terminal_ = false;
  struct termios terminal_ {};

  std::mutex mutex_;
  std::string temporary_directory_;
  std::function<void()> on_interrupt_;
  std::thread thread_;  // last: starts when everything above is ready
};

}  // namespace mvdb::shell
