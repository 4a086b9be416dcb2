// mvdb_torture: the kill -9 torture test of the database facade (db/).
//
// One program, two roles. The parent creates a database, then, cycle after
// cycle, starts itself as a child (--child), lets it commit, kills it with
// SIGKILL at a random moment and checks what a reopen recovers. The child
// runs T committer threads plus a thread that asks for checkpoints.
//
// The workload: thread t owns accounts "a/<t>/<i>" in tree "accounts" and
// keys "seq/<t>" and "flip/<t>" in tree "meta". Its s-th commit is one
// TreeBatch at SyncMode::kFull that moves an amount between two of its
// accounts, sets seq/<t> to s, and puts flip/<t> when s is odd or deletes it
// when s is even. Which accounts, the amount and the padding each value
// carries are a pure function of (seed, t, s) (Transfer below), so the
// parent can compute the exact contents of every key after any number of
// commits without being told what the child did.
//
// Protocol on the child's standard output (a pipe; every line is one
// write(2) of under PIPE_BUF bytes, so lines never interleave):
//   "ready"      Open (with recovery) returned
//   "<t> <s>"    thread t's commit s was acknowledged: Write returned OK
//   "ckpt"       the checkpoint thread is about to call Engine::Checkpoint
//   "ckpt-done"  and that call returned OK
//
// What the parent checks after each kill, on a copy of the directory (so the
// original stays exactly as the kill left it, and the next child recovers
// from a real crash state, possibly being killed during that recovery):
//   1. CheckDatabase passes on the files as the crash left them.
//   2. For every thread, with L the last seq acknowledged (or the seq
//      recovered in the cycle before, if none was acknowledged since):
//      L <= recovered seq <= L + 1. Nothing acknowledged is lost; at most the
//      one commit in flight when the child died appears besides.
//   3. Every account, seq and flip key of the thread holds exactly what
//      Transfer gives after the recovered seq: all of a batch or none of it,
//      across both trees. (So each thread's total stays what it started at.)
//   4. CheckDatabase passes again after the recovered engine closed.
//
// What this covers and what it does not: SIGKILL ends the process, but the
// kernel keeps every write it accepted in the page cache, so this tests
// crash safety of the process (no half-applied batch survives in memory
// that was about to be written, recovery from any moment, checkpoints cut
// anywhere) but never loses an unsynced write. Power loss, torn pages and
// dropped unsynced writes are covered by the deterministic crash tests
// through the fault-injecting file system (io/fault_injection_file_system.h).
//
// Kill moments, chosen per cycle from the seed: a random time after
// "ready"; right after the child's k-th "ckpt" line (mid-checkpoint); or a
// random time from the start, which can land inside Open and its recovery. The child
// also runs the engine's own background checkpoints with small thresholds,
// so random kills hit them too.
//
// Usage:
//   mvdb_torture [--cycles N] [--seed S] [--threads T] [--dir DIR] [--keep]
//   mvdb_torture --cycles 2000        about ten minutes (a cycle takes ~0.3 s)
//   mvdb_torture --cycles 40000       a soak of a few hours
// The seed defaults to MVDB_SEED, else the time; it is printed first, and a
// failure names it and the cycle. The same seed repeats the workload and
// the kill choices; the timing of each kill differs from run to run. The database
// lives in a fresh directory under --dir (default $TMPDIR or /tmp), removed
// at the end unless the run failed or --keep was given.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "mvdb/status.h"

namespace mvdb::torture {
namespace {

constexpr int kAccountsPerThread = 256;
constexpr int64_t kInitialBalance = 1000;

struct Config {
  bool child = false;
  int cycles = 20;
  int threads = 4;
  uint64_t seed = 0;
  std::string base_dir;
  std::string db_dir;  // child: the database
  bool keep = false;
};

// splitmix64: the deterministic source of every workload decision.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
uint64_t Mix(uint64_t a, uint64_t b, uint64_t c) { return Mix(Mix(Mix(a) ^ b) ^ c); }

std::string AccountKey(int t, int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "a/%d/%04d", t, i);
  return buf;
}
std::string SeqKey(int t) { return "seq/" + std::to_string(t); }
std::string FlipKey(int t) { return "flip/" + std::to_string(t); }

// An account's value: "<balance>|<padding>". The padding is usually short,
// sometimes a few KiB so the value goes to overflow pages; `h` decides.
std::string AccountValue(int64_t balance, uint64_t h) {
  std::string out = std::to_string(balance) + "|";
  const size_t pad = (h % 64 == 0) ? 2500 + (h >> 8) % 12000 : (h >> 8) % 120;
  for (size_t i = 0; i < pad; ++i) out.push_back(static_cast<char>('a' + (h + i) % 26));
  return out;
}

bool ParseInt(std::string_view text, int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseBalance(std::string_view value, int64_t* balance) {
  const size_t bar = value.find('|');
  return bar != std::string_view::npos && ParseInt(value.substr(0, bar), balance);
}

// Commit s of thread t: `amount` moves from account `from` to `to`, whose
// new values get the padding chosen by from_pad / to_pad.
struct Transfer {
  int from = 0, to = 0;
  int64_t amount = 0;
  uint64_t from_pad = 0, to_pad = 0;
};

Transfer TransferFor(uint64_t seed, int t, int64_t s) {
  const uint64_t h = Mix(seed, static_cast<uint64_t>(t), static_cast<uint64_t>(s));
  Transfer x;
  x.from = static_cast<int>(h % kAccountsPerThread);
  x.to = static_cast<int>((x.from + 1 + (h >> 16) % (kAccountsPerThread - 1)) % kAccountsPerThread);
  x.amount = 1 + static_cast<int64_t>((h >> 32) % 500);
  x.from_pad = Mix(h ^ 1);
  x.to_pad = Mix(h ^ 2);
  return x;
}

// What thread t's keys hold after its commit `seq` (the parent's oracle).
struct ThreadModel {
  int64_t seq = 0;
  std::vector<int64_t> balance;
  std::vector<std::string> value;

  void Init(uint64_t seed, int t) {
    seq = 0;
    balance.assign(kAccountsPerThread, kInitialBalance);
    value.clear();
    for (int i = 0; i < kAccountsPerThread; ++i) {
      value.push_back(AccountValue(kInitialBalance, Mix(seed, t, ~uint64_t{0} - i)));
    }
  }
  void Apply(uint64_t seed, int t) {
    ++seq;
    const Transfer x = TransferFor(seed, t, seq);
    balance[x.from] -= x.amount;
    balance[x.to] += x.amount;
    value[x.from] = AccountValue(balance[x.from], x.from_pad);
    value[x.to] = AccountValue(balance[x.to], x.to_pad);
  }
};

EngineOptions TortureOptions() {
  EngineOptions options;
  options.cache_mb = 1;  // 128 pages: eviction and write-back during commits
  options.sync = SyncMode::kFull;
  // Checkpoints every fraction of a second, and small log segments, so that
  // kills land in checkpoints and in segment recycling.
  options.checkpoint_wal_bytes = 128 << 10;
  options.checkpoint_interval = std::chrono::milliseconds(50);
  options.wal_segment_bytes = 64 << 10;
  return options;
}

// ---------------------------------------------------------------- child

// One line to standard output in one write(2): the parent reads a line as
// soon as it exists, and lines of concurrent threads never interleave.
void Say(const std::string& line) {
  const std::string out = line + "\n";
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::_Exit(3);
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildDie(const std::string& what, const Status& s) {
  std::fprintf(stderr, "mvdb_torture child: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::_Exit(2);
}

void CommitLoop(Engine* engine, uint64_t seed, int t) {
  std::string value;
  Status s = engine->Get("meta", SeqKey(t), &value);
  if (!s.ok()) ChildDie("read " + SeqKey(t), s);
  int64_t seq = 0;
  if (!ParseInt(value, &seq)) ChildDie("parse " + SeqKey(t), Status::Corruption(value));
  std::vector<int64_t> balance(kAccountsPerThread);
  for (int i = 0; i < kAccountsPerThread; ++i) {
    s = engine->Get("accounts", AccountKey(t, i), &value);
    if (!s.ok()) ChildDie("read " + AccountKey(t, i), s);
    if (!ParseBalance(value, &balance[i])) {
      ChildDie("parse " + AccountKey(t, i), Status::Corruption(value));
    }
  }
  TreeBatch batch;
  for (;;) {
    const int64_t next = seq + 1;
    const Transfer x = TransferFor(seed, t, next);
    batch.Clear();
    batch.Put("accounts", AccountKey(t, x.from),
              AccountValue(balance[x.from] - x.amount, x.from_pad));
    batch.Put("accounts", AccountKey(t, x.to), AccountValue(balance[x.to] + x.amount, x.to_pad));
    batch.Put("meta", SeqKey(t), std::to_string(next));
    if (next % 2 == 1) {
      batch.Put("meta", FlipKey(t), std::to_string(next));
    } else {
      batch.Delete("meta", FlipKey(t));
    }
    s = engine->Write(batch, SyncMode::kFull);
    if (!s.ok()) ChildDie("commit " + std::to_string(next) + " of thread " + std::to_string(t), s);
    balance[x.from] -= x.amount;
    balance[x.to] += x.amount;
    seq = next;
    Say(std::to_string(t) + " " + std::to_string(seq));
  }
}

// Asks for a checkpoint every 10 to 80 ms, announcing each first, so the
// parent can kill in the middle of one.
void CheckpointLoop(Engine* engine, uint64_t seed) {
  std::mt19937_64 rng(Mix(seed ^ 0xc4c4));
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng() % 70));
    Say("ckpt");
    const Status s = engine->Checkpoint();
    if (!s.ok()) ChildDie("checkpoint", s);
    Say("ckpt-done");
  }
}

int RunChild(const Config& config) {
  EngineOptions options = TortureOptions();
  options.create_if_missing = false;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(config.db_dir, options);
  if (!engine.ok()) ChildDie("open " + config.db_dir, engine.status());
  Say("ready");
  std::vector<std::thread> threads;
  threads.reserve(config.threads + 1);
  for (int t = 0; t < config.threads; ++t) {
    threads.emplace_back(CommitLoop, engine->get(), config.seed, t);
  }
  threads.emplace_back(CheckpointLoop, engine->get(), config.seed);
  // The threads never return: the parent ends this process with SIGKILL.
  for (std::thread& thread : threads) thread.join();
  return 2;
}

// --------------------------------------------------------------- parent

enum class KillMode { kRandomTime, kMidCheckpoint, kEarly };

const char* ModeName(KillMode mode) {
  switch (mode) {
    case KillMode::kRandomTime:
      return "random-time";
    case KillMode::kMidCheckpoint:
      return "mid-checkpoint";
    case KillMode::kEarly:
      return "early";
  }
  return "?";
}

using Clock = std::chrono::steady_clock;

// A failure of the run (not of the engine alone): the message says what.
[[nodiscard]] Status Fail(const std::string& what) { return Status::Aborted(what); }

class Parent {
 public:
  explicit Parent(Config config)
      : config_(std::move(config)), rng_(Mix(config_.seed ^ 0x9a7e)), models_(config_.threads) {}

  Status Run();
  const std::string& work_dir() const { return work_dir_; }

 private:
  Status Setup();
  Status RunCycle(int cycle);
  // Reads what the child wrote, parsing complete lines. Sets *eof at the
  // end of the pipe.
  Status ReadLines(bool* eof);
  Status HandleLine(std::string_view line);
  Status Verify();

  Config config_;
  std::mt19937_64 rng_;
  std::string work_dir_, db_dir_, copy_dir_;
  std::vector<ThreadModel> models_;  // as of the last verified recovery
  std::vector<int64_t> acked_;       // last seq acknowledged (or recovered)

  // The running child.
  int fd_ = -1;
  std::string pending_;
  bool ready_ = false;
  int ckpt_lines_ = 0;
  int ckpt_done_lines_ = 0;

  uint64_t total_acks_ = 0;
  uint64_t in_flight_recovered_ = 0;
  int killed_in_checkpoint_ = 0;  // cycles killed inside Engine::Checkpoint
};

Status Parent::Setup() {
  std::string tmpl = config_.base_dir + "/mvdb-torture-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Status::FromErrno("mkdtemp " + tmpl, errno);
  work_dir_ = tmpl;
  db_dir_ = work_dir_ + "/db";
  copy_dir_ = work_dir_ + "/recovered";

  EngineOptions options = TortureOptions();
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(db_dir_, options));
  MVDB_RETURN_IF_ERROR(engine->CreateTree("accounts"));
  MVDB_RETURN_IF_ERROR(engine->CreateTree("meta"));
  TreeBatch batch;
  for (int t = 0; t < config_.threads; ++t) {
    models_[t].Init(config_.seed, t);
    for (int i = 0; i < kAccountsPerThread; ++i) {
      batch.Put("accounts", AccountKey(t, i), models_[t].value[i]);
    }
    batch.Put("meta", SeqKey(t), "0");
  }
  MVDB_RETURN_IF_ERROR(engine->Write(batch, SyncMode::kFull));
  acked_.assign(config_.threads, 0);
  return engine->Close();
}

Status Parent::HandleLine(std::string_view line) {
  if (line == "ready") {
    ready_ = true;
    return Status::OK();
  }
  if (line == "ckpt") {
    ++ckpt_lines_;
    return Status::OK();
  }
  if (line == "ckpt-done") {
    ++ckpt_done_lines_;
    return Status::OK();
  }
  const size_t space = line.find(' ');
  int64_t t = 0, seq = 0;
  if (space == std::string_view::npos || !ParseInt(line.substr(0, space), &t) ||
      !ParseInt(line.substr(space + 1), &seq) || t < 0 || t >= config_.threads) {
    return Fail("unexpected line from the child: '" + std::string(line) + "'");
  }
  // A thread commits one batch at a time, each the next seq after the
  // state it recovered, which is the state the last verification saw.
  if (seq != acked_[t] + 1) {
    return Fail("thread " + std::to_string(t) + " acknowledged seq " + std::to_string(seq) +
                " after " + std::to_string(acked_[t]));
  }
  acked_[t] = seq;
  ++total_acks_;
  return Status::OK();
}

Status Parent::ReadLines(bool* eof) {
  char buf[4096];
  const ssize_t n = ::read(fd_, buf, sizeof(buf));
  if (n < 0) return errno == EINTR ? Status::OK() : Status::FromErrno("read from child", errno);
  if (n == 0) {
    *eof = true;
    return Status::OK();
  }
  pending_.append(buf, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
    MVDB_RETURN_IF_ERROR(HandleLine(std::string_view(pending_).substr(start, nl - start)));
  }
  pending_.erase(0, start);
  return Status::OK();
}

Status Parent::RunCycle(int cycle) {
  static constexpr KillMode kRotation[] = {KillMode::kRandomTime, KillMode::kMidCheckpoint,
                                           KillMode::kRandomTime, KillMode::kEarly};
  const KillMode mode = kRotation[cycle % 4];
  const uint64_t acks_before = total_acks_;

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", errno);
  // Everything the exec needs is built before fork: the child may only make
  // async-signal-safe calls until it execs.
  const std::string threads = std::to_string(config_.threads);
  const std::string seed = std::to_string(config_.seed);
  std::vector<const char*> argv = {"mvdb_torture",  "--child",    "--dir",
                                   db_dir_.c_str(), "--threads",  threads.c_str(),
                                   "--seed",        seed.c_str(), nullptr};
  const pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    // dup2 clears close-on-exec on the new descriptor.
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
    ::execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
    ::_exit(127);
  }
  ::close(fds[1]);
  fd_ = fds[0];
  pending_.clear();
  ready_ = false;
  ckpt_lines_ = 0;
  ckpt_done_lines_ = 0;

  const Clock::time_point start = Clock::now();
  const Clock::time_point give_up = start + std::chrono::seconds(60);
  Clock::time_point kill_at = Clock::time_point::max();
  if (mode == KillMode::kEarly) {
    kill_at = start + std::chrono::microseconds(rng_() % 60000);
  }
  const int ckpt_target = 1 + static_cast<int>(rng_() % 3);
  const auto after_ready = std::chrono::milliseconds(10 + rng_() % 600);
  const auto after_ckpt = std::chrono::microseconds(rng_() % 3000);

  Status status;
  bool eof = false;
  while (status.ok() && !eof) {
    const Clock::time_point now = Clock::now();
    if (kill_at == Clock::time_point::max()) {
      if (mode == KillMode::kRandomTime && ready_) kill_at = now + after_ready;
      if (mode == KillMode::kMidCheckpoint && ckpt_lines_ >= ckpt_target) {
        kill_at = now + after_ckpt;
      }
    }
    if (now >= kill_at) break;
    if (now >= give_up) {
      status = Fail("the child made no progress in 60 s (ready=" + std::to_string(ready_) +
                    ", ckpt lines " + std::to_string(ckpt_lines_) + ")");
      break;
    }
    const auto wait = std::min(kill_at, give_up) - now;
    const int timeout_ms = static_cast<int>(
        std::min<int64_t>(100, std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno != EINTR) status = Status::FromErrno("poll", errno);
    if (r > 0) status = ReadLines(&eof);
  }
  ::kill(pid, SIGKILL);
  const double lived_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  // What the child wrote before it died was acknowledged: read all of it.
  while (status.ok() && !eof) status = ReadLines(&eof);
  ::close(fd_);
  fd_ = -1;
  MVDB_RETURN_IF_ERROR(status);
  if (!WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL) {
    return Fail("the child ended by itself (wait status " + std::to_string(wstatus) +
                "); its error is above");
  }
  if (!pending_.empty()) return Fail("the child's last line is incomplete: " + pending_);

  // Lines read after the kill count too: they were written before it.
  const bool in_checkpoint = ckpt_lines_ > ckpt_done_lines_;
  killed_in_checkpoint_ += in_checkpoint ? 1 : 0;
  const uint64_t in_flight_before = in_flight_recovered_;
  MVDB_RETURN_IF_ERROR(Verify());
  std::printf("cycle %d %s: killed after %.0f ms%s, %llu acks, %llu in-flight commits recovered\n",
              cycle, ModeName(mode), lived_ms, in_checkpoint ? " inside Engine::Checkpoint" : "",
              static_cast<unsigned long long>(total_acks_ - acks_before),
              static_cast<unsigned long long>(in_flight_recovered_ - in_flight_before));
  std::fflush(stdout);
  return Status::OK();
}

Status Parent::Verify() {
  std::error_code ec;
  std::filesystem::remove_all(copy_dir_, ec);
  std::filesystem::copy(db_dir_, copy_dir_, std::filesystem::copy_options::recursive, ec);
  if (ec) return Fail("copy " + db_dir_ + ": " + ec.message());

  std::string report;
  Status s = CheckDatabase(copy_dir_, &report);
  if (!s.ok()) return s.WithContext("check of the files the kill left\n" + report);

  EngineOptions options = TortureOptions();
  options.create_if_missing = false;
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(copy_dir_, options));
  for (int t = 0; t < config_.threads; ++t) {
    const std::string who = "thread " + std::to_string(t) + ": ";
    std::string value;
    MVDB_RETURN_IF_ERROR(engine->Get("meta", SeqKey(t), &value).WithContext(who + SeqKey(t)));
    int64_t seq = 0;
    if (!ParseInt(value, &seq)) return Fail(who + "seq is '" + value + "'");
    if (seq < acked_[t]) {
      return Fail(who + "acknowledged commit lost: recovered seq " + std::to_string(seq) +
                  " < last acknowledged " + std::to_string(acked_[t]));
    }
    if (seq > acked_[t] + 1) {
      return Fail(who + "recovered seq " + std::to_string(seq) + " > last acknowledged " +
                  std::to_string(acked_[t]) + " + 1");
    }
    if (seq == acked_[t] + 1) ++in_flight_recovered_;
    ThreadModel& model = models_[t];
    while (model.seq < seq) model.Apply(config_.seed, t);
    acked_[t] = seq;

    int64_t total = 0;
    for (int i = 0; i < kAccountsPerThread; ++i) {
      const std::string key = AccountKey(t, i);
      MVDB_RETURN_IF_ERROR(engine->Get("accounts", key, &value).WithContext(who + key));
      int64_t balance = 0;
      if (!ParseBalance(value, &balance)) return Fail(who + key + " is malformed");
      total += balance;
      if (value != model.value[i]) {
        return Fail(who + key + " holds balance " + std::to_string(balance) + " (" +
                    std::to_string(value.size()) + " bytes), expected " +
                    std::to_string(model.balance[i]) + " (" +
                    std::to_string(model.value[i].size()) + " bytes) after seq " +
                    std::to_string(seq));
      }
    }
    if (total != kInitialBalance * kAccountsPerThread) {
      return Fail(who + "accounts total " + std::to_string(total));
    }
    s = engine->Get("meta", FlipKey(t), &value);
    if (seq % 2 == 1 ? !(s.ok() && value == std::to_string(seq)) : !s.IsNotFound()) {
      return Fail(who + FlipKey(t) + " after seq " + std::to_string(seq) + ": " + s.ToString() +
                  (s.ok() ? " '" + value + "'" : ""));
    }
  }
  MVDB_RETURN_IF_ERROR(engine->Close());
  engine.reset();
  s = CheckDatabase(copy_dir_, &report);
  if (!s.ok()) return s.WithContext("check after recovery and close\n" + report);
  return Status::OK();
}

Status Parent::Run() {
  MVDB_RETURN_IF_ERROR(Setup());
  for (int cycle = 0; cycle < config_.cycles; ++cycle) {
    MVDB_RETURN_IF_ERROR(RunCycle(cycle).WithContext("cycle " + std::to_string(cycle)));
  }
  // A run in which nothing committed checked nothing.
  if (config_.cycles > 0 && total_acks_ == 0)
    return Fail("no commit was acknowledged in any cycle");
  std::printf(
      "%d cycles (%d killed inside Engine::Checkpoint), %llu acknowledged commits, %llu in-flight "
      "commits recovered\n",
      config_.cycles, killed_in_checkpoint_, static_cast<unsigned long long>(total_acks_),
      static_cast<unsigned long long>(in_flight_recovered_));
  return Status::OK();
}

// ------------------------------------------------------------------ main

bool ParseArgs(int argc, char** argv, Config* config) {
  const char* env_seed = std::getenv("MVDB_SEED");
  config->seed =
      env_seed != nullptr ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  const char* tmp = std::getenv("TMPDIR");
  config->base_dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--child") {
      config->child = true;
    } else if (arg == "--keep") {
      config->keep = true;
    } else if (arg == "--cycles" && has_value) {
      config->cycles = std::atoi(argv[++i]);
    } else if (arg == "--threads" && has_value) {
      config->threads = std::atoi(argv[++i]);
    } else if (arg == "--seed" && has_value) {
      config->seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--dir" && has_value) {
      (config->child ? config->db_dir : config->base_dir) = argv[++i];
    } else {
      return false;
    }
  }
  return config->threads >= 1 && config->threads <= 64 && config->cycles >= 0 &&
         (!config->child || !config->db_dir.empty());
}

}  // namespace
}  // namespace mvdb::torture

int main(int argc, char** argv) {
  using mvdb::torture::Config;
  using mvdb::torture::Parent;
  Config config;
  if (!mvdb::torture::ParseArgs(argc, argv, &config)) {
    std::fprintf(stderr,
                 "usage: %s [--cycles N] [--seed S] [--threads T] [--dir DIR] [--keep]\n"
                 "(the seed defaults to MVDB_SEED, else the time)\n",
                 argv[0]);
    return 2;
  }
  if (config.child) return mvdb::torture::RunChild(config);

  std::printf("mvdb_torture: seed=%llu cycles=%d threads=%d\n",
              static_cast<unsigned long long>(config.seed), config.cycles, config.threads);
  std::fflush(stdout);
  Parent parent(config);
  const mvdb::Status s = parent.Run();
  if (!s.ok()) {
    std::fprintf(stderr,
                 "mvdb_torture: FAILED (seed=%llu): %s\n"
                 "  the database is kept in %s; rerun with --seed %llu\n",
                 static_cast<unsigned long long>(config.seed), s.ToString().c_str(),
                 parent.work_dir().c_str(), static_cast<unsigned long long>(config.seed));
    return 1;
  }
  if (!config.keep) {
    std::error_code ec;
    std::filesystem::remove_all(parent.work_dir(), ec);
  }
  return 0;
}
