// The thread that waits for the shell's signals (shell/signal_watcher.h).
#include "shell/signal_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

namespace mvdb::shell {
namespace {

// remove_all, again if a database thread created a file in a directory
// after it was listed (ENOTEMPTY); once the top directory is gone nothing
// can be created under it.
void RemoveTree(const std::string& path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::error_code error;
    std::filesystem::remove_all(path, error);
    if (!error) return;
  }
}

}  // namespace

SignalWatcher::SignalWatcher() {
  sigemptyset(&watched_);
  for (int signal : {SIGTERM, SIGHUP, SIGINT}) {
    struct sigaction current {};
    if (sigaction(signal, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    sigaddset(&watched_, signal);
  }
  pthread_sigmask(SIG_BLOCK, &watched_, &previous_mask_);
  signal_fd_ = signalfd(-1, &watched_, SFD_CLOEXEC);
  if (signal_fd_ < 0 || pipe2(stop_fd_, O_CLOEXEC) != 0) {
    // Cannot happen short of running out of descriptors; then the signals
    // act as they would without the watcher.
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
    return;
  }
  saved_terminal_ = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &terminal_) == 0;
  thread_ = std::thread([this] { Watch(); });
}

SignalWatcher::~SignalWatcher() {
  if (thread_.joinable()) {
    const char byte = 1;
    (void)!write(stop_fd_[1], &byte, 1);
    thread_.join();
  }
  for (int fd : {signal_fd_, stop_fd_[0], stop_fd_[1]}) {
    if (fd >= 0) close(fd);
  }
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void SignalWatcher::SetTemporaryDirectory(const std::string& path) {
  std::lock_guard lock(mutex_);
  temporary_directory_ = path;
}

void SignalWatcher::SetInterruptHandler(std::function<void()> handler) {
  std::lock_guard lock(mutex_);
  on_interrupt_ = std::move(handler);
}

void SignalWatcher::Watch() {
  struct pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_[0], POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    struct signalfd_siginfo info {};
    if (read(signal_fd_, &info, sizeof(info)) != static_cast<ssize_t>(sizeof(info))) continue;
    const int signal = static_cast<int>(info.ssi_signo);
    {
      std::lock_guard lock(mutex_);
      if (signal == SIGINT && on_interrupt_) {
        on_interrupt_();
        continue;
      }
    }
    Terminate(signal);
  }
}

void SignalWatcher::Terminate(int signal) {
  if (saved_terminal_) (void)tcsetattr(STDIN_FILENO, TCSANOW, &terminal_);
  std::string directory;
  {
    std::lock_guard lock(mutex_);
    directory = temporary_directory_;
  }
  if (!directory.empty()) RemoveTree(directory);
  // The same signal again, unblocked in this thread with its default
  // action: the process ends as it would have without the watcher.
  std::signal(signal, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  raise(signal);
  _exit(128 + signal);  // not reached
}

}  // namespace mvdb::shell
