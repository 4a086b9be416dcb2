// mvdb-bench: mvdb beside RocksDB, LevelDB, LMDB, WiredTiger and SQLite on
// the same workloads (CONTRACT.md section 6; issue 6).
//
//   mvdb-bench --engine E[,E...] --workload W[,W...] [--num N] [--threads T[,T...]]
//              [--value-size B] [--key-size B] [--cache-mb M] [--sync 0|1]
//              [--duration S] [--db DIR] [--json FILE]
//   ours: W@T1:T2... in --workload (that workload on its own thread counts),
//         [--isolation read-committed|snapshot|both] [--distribution uniform|zipfian|both]
//         [--direct-io 0|1] [--seed N] [--reads N] [--fill-duration S] [--batch-size N] [--list]
//         [--calibrate] [--mode warm|cold] [--use-existing-db 0|1]
//
// This file parses the command line and runs, engine by engine, every
// (workload, threads[, isolation, distribution]) asked for, in order, on
// one open database per engine, as db_bench does: it opens, empties and
// reopens the engines (fills start empty; syncwrite reopens with sync on),
// loads the data set when a workload needs it, and prints one human line
// and one JSON object per run. The workloads and their timing are
// workloads.cc.
//
// Two regimes (--mode, the JSON's "mode"):
//  - warm (the default): every run in this process, on the database the
//    previous run left open, its cache as warm as the runs before made it.
//  - cold: what a service sees after a restart. This process loads the data
//    set (or finds it, --use-existing-db), closes the engine, reads every
//    file of its directory once (so the OS page cache holds all of it, for
//    every engine alike), and then runs each (workload, threads, ...) in a
//    new mvdb-bench process of its own (posix_spawn of /proc/self/exe with
//    the hidden --cold-run-state FILE), which opens the database — an empty
//    engine cache — runs that one workload, writes its lines and closes it.
//    FILE carries the keys YCSB D/E inserted from one process to the next.
//
// Exit status: 0 when every run succeeded; 1 when an engine failed (its
// remaining runs are skipped, the other engines still run); 2 for a usage
// error (unknown engine or workload, bad sizes).
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "engine_adapter.h"
#include "mvdb/status.h"
#include "workloads.h"

namespace mvdb::bench {
namespace {

namespace fs = std::filesystem;

struct CommandLine {
  std::string engines;
  std::string workloads;
  uint64_t num = 1000000;
  std::string threads = "1";
  size_t value_size = 100;
  size_t key_size = 16;
  size_t cache_mb = 64;
  int sync = 0;
  double duration_s = 0;
  double fill_duration_s = 0;
  size_t batch_size = 1000;
  std::string db;
  std::string json;
  std::string isolation = "both";
  std::string distribution = "both";
  int direct_io = 0;
  uint64_t seed = 301;
  std::optional<uint64_t> reads;
  bool list = false;
  bool calibrate = false;
  std::string mode = "warm";
  int use_existing_db = 0;
  // Set only in the process a cold run spawns: the file holding the
  // database's live key count, read at the start and written at the end.
  std::string cold_run_state;
};

// syncwrite's duration when --duration is 0: durable commits are slow
// enough that num of them could take hours.
constexpr double kSyncWriteDefaultSeconds = 5;
constexpr double kRawFsyncSeconds = 2;

std::vector<std::string> SplitCommas(const std::string& list) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin <= list.size()) {
    const size_t comma = std::min(list.find(',', begin), list.size());
    if (comma > begin) items.push_back(list.substr(begin, comma - begin));
    begin = comma + 1;
  }
  return items;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

// A JSON string literal.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A JSON number with `decimals` places (JSON has no NaN or infinity).
std::string Number(double x, int decimals) {
  if (!std::isfinite(x)) x = 0;
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, x);
  return text;
}

// Bytes allocated under `dir` (st_blocks, so a sparse file such as LMDB's
// map counts what it uses, not its size).
uint64_t AllocatedBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return bytes;
}

Status EmptyDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    fs::remove_all(entry.path(), ec);
    if (ec) return Status::IOError("cannot empty " + dir + ": " + ec.message());
  }
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  return Status::OK();
}

// The disk's own rate of durable writes, for syncwrite's figures to stand
// next to: pwrite of 4 KiB at offset 0 and fdatasync, on one thread, in a
// file of the engine's directory.
Result<double> RawFsyncPerSecond(const std::string& dir) {
  const std::string path = dir + "/raw-fsync-probe";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  std::string page(4096, 'x');
  uint64_t syncs = 0;
  int err = 0;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::duration<double> elapsed{0};
  while (elapsed.count() < kRawFsyncSeconds) {
    if (::pwrite(fd, page.data(), page.size(), 0) != static_cast<ssize_t>(page.size()) ||
        ::fdatasync(fd) != 0) {
      err = errno;
      break;
    }
    ++syncs;
    elapsed = std::chrono::steady_clock::now() - start;
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (err != 0) return Status::FromErrno("pwrite+fdatasync " + path, err);
  return static_cast<double>(syncs) / elapsed.count();
}

// The parent of every engine's directory: --db DIR (kept), else a fresh
// directory under $MVDB_BENCH_DIR, $TMPDIR or /var/tmp (removed at exit).
class BenchRoot {
 public:
  static Result<BenchRoot> Create(const std::string& db) {
    if (!db.empty()) return BenchRoot(db, false);
    std::string base = "/var/tmp";
    for (const char* var : {"MVDB_BENCH_DIR", "TMPDIR"}) {
      const char* value = std::getenv(var);
      if (value != nullptr && *value != '\0') {
        base = value;
        break;
      }
    }
    std::string pattern = base + "/mvdb-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::FromErrno("cannot create a directory " + pattern, errno);
    }
    return BenchRoot(pattern, true);
  }
  BenchRoot(BenchRoot&& other) noexcept
      : path_(std::move(other.path_)), remove_(std::exchange(other.remove_, false)) {}
  BenchRoot& operator=(BenchRoot&&) = delete;
  ~BenchRoot() {
    std::error_code ignored;
    if (remove_) fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  BenchRoot(std::string path, bool remove) : path_(std::move(path)), remove_(remove) {}
  std::string path_;
  bool remove_;
};

// Where the figures go: stdout's human lines, and the JSON lines to a file
// (appended) or to stdout.
class Output {
 public:
  static Result<Output> Open(const std::string& json) {
    Output output;
    if (json == "-") {
      output.json_ = stdout;
    } else if (!json.empty()) {
      output.json_ = std::fopen(json.c_str(), "a");
      if (output.json_ == nullptr) return Status::FromErrno("cannot open " + json, errno);
      output.owned_ = true;
    }
    return output;
  }
  Output(Output&& other) noexcept
      : json_(std::exchange(other.json_, nullptr)), owned_(std::exchange(other.owned_, false)) {}
  Output& operator=(Output&&) = delete;
  ~Output() {
    if (owned_) std::fclose(json_);
  }

  void Human(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }
  void Json(const std::string& object) {
    if (json_ == nullptr) return;
    std::fputs(object.c_str(), json_);
    std::fflush(json_);
  }

 private:
  Output() = default;
  std::FILE* json_ = nullptr;
  bool owned_ = false;
};

// One run's figures and what it was.
struct Report {
  std::string engine;
  std::string engine_version;
  std::string settings;
  RunSpec spec;
  const CommandLine* line = nullptr;
  bool sync = false;
  RunResult result;
  uint64_t db_bytes = 0;
  uint64_t live_keys = 0;
  double raw_fsync_per_sec = 0;
  bool cold = false;  // run in a new process on the reopened database
  double open_s = 0;  // a cold run: the time its process took to open the engine (untimed)
};

std::string IsolationName(Isolation isolation) {
  return isolation == Isolation::kReadCommitted ? "read-committed" : "snapshot";
}
std::string DistributionName(Distribution distribution) {
  return distribution == Distribution::kUniform ? "uniform" : "zipfian";
}

double Micros(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

void Emit(const Report& r, Output& output) {
  const CommandLine& line = *r.line;
  const RunResult& res = r.result;
  const bool transfer = r.spec.workload == Workload::kTxnTransfer;
  const double ops_per_sec = res.wall_s > 0 ? static_cast<double>(res.ops) / res.wall_s : 0;
  const uint64_t pair_bytes = line.key_size + line.value_size;
  const uint64_t user_bytes = pair_bytes * res.writes;
  const double write_amp =
      user_bytes == 0 ? 0
                      : static_cast<double>(res.bytes_written) / static_cast<double>(user_bytes);
  const double live_bytes = static_cast<double>(pair_bytes * r.live_keys);
  const double space_amp = live_bytes == 0 ? 0 : static_cast<double>(r.db_bytes) / live_bytes;
  const double abort_rate =
      res.ops == 0 ? 0 : static_cast<double>(res.aborts) / static_cast<double>(res.ops);
  const double p50 = Micros(res.latency.Percentile(50));
  const double p95 = Micros(res.latency.Percentile(95));
  const double p99 = Micros(res.latency.Percentile(99));
  const double p999 = Micros(res.latency.Percentile(99.9));
  const double max = Micros(res.latency.Max());

  std::string name(WorkloadName(r.spec.workload));
  if (transfer) {
    name += std::string("/") + (r.spec.isolation == Isolation::kReadCommitted ? "rc" : "si") + "/" +
            (r.spec.distribution == Distribution::kUniform ? "unif" : "zipf");
  }
  if (r.cold) name += " (cold)";
  char human[512];
  int n = std::snprintf(human, sizeof(human),
                        "%-22s %-11s %3d thr %11.0f ops/s  p50 %.1f us  p95 %.1f us  p99 %.1f us  "
                        "p99.9 %.1f us  max %.1f us  w-amp %.2f  s-amp %.2f",
                        name.c_str(), r.engine.c_str(), r.spec.threads, ops_per_sec, p50, p95, p99,
                        p999, max, write_amp, space_amp);
  std::string text(human, static_cast<size_t>(std::max(n, 0)));
  if (transfer) {
    std::snprintf(human, sizeof(human), "  aborts %llu (%.4f/commit)",
                  static_cast<unsigned long long>(res.aborts), abort_rate);
    text += human;
  }
  if (r.spec.workload == Workload::kSyncWrite) {
    std::snprintf(human, sizeof(human), "  raw fdatasync %.0f/s", r.raw_fsync_per_sec);
    text += human;
  }
  output.Human(text + "\n");

  auto u = [](uint64_t x) { return std::to_string(x); };
  std::string json = "{";
  auto field = [&json](const char* key, const std::string& value) {
    if (json.size() > 1) json += ", ";
    json += Quote(key) + ": " + value;
  };
  field("engine", Quote(r.engine));
  field("engine_version", Quote(r.engine_version));
  field("workload", Quote(WorkloadName(r.spec.workload)));
  field("num", u(line.num));
  field("threads", u(static_cast<uint64_t>(r.spec.threads)));
  field("key_size", u(line.key_size));
  field("value_size", u(line.value_size));
  field("cache_mb", u(line.cache_mb));
  field("sync", r.sync ? "1" : "0");
  field("direct_io", line.direct_io != 0 ? "1" : "0");
  field("mode", Quote(r.cold ? "cold" : "warm"));
  field("pid", u(static_cast<uint64_t>(::getpid())));  // a cold run's own process
  field("open_s", Number(r.open_s, 4));
  field("duration_s", Number(res.wall_s, 3));
  field("ops", u(res.ops));
  field("ops_per_sec", Number(ops_per_sec, 1));
  field("p50_us", Number(p50, 3));
  field("p95_us", Number(p95, 3));
  field("p99_us", Number(p99, 3));
  field("p999_us", Number(p999, 3));
  field("max_us", Number(max, 3));
  field("bytes_written", u(res.bytes_written));
  field("user_bytes", u(user_bytes));
  field("write_amp", Number(write_amp, 4));
  field("db_bytes", u(r.db_bytes));
  field("space_amp", Number(space_amp, 4));
  field("aborts", u(res.aborts));
  field("abort_rate", Number(abort_rate, 6));
  field("isolation", Quote(transfer ? IsolationName(r.spec.isolation) : ""));
  field("distribution", Quote(transfer ? DistributionName(r.spec.distribution) : ""));
  field("raw_fsync_per_sec", Number(r.raw_fsync_per_sec, 1));
  const bool batched =
      r.spec.workload == Workload::kFillBatch || r.spec.workload == Workload::kFillRandomBatch;
  field("batch_size", u(batched ? r.spec.batch_size : 1));
  field("settings", Quote(r.settings));
  output.Json(json + "}\n");
}

// Everything one invocation asks for, checked.
struct Plan {
  std::vector<std::string> engines;
  std::vector<Workload> workloads;
  // Per workload: its own thread counts (`readrandom@1:2`), else `threads`.
  std::vector<std::vector<int>> workload_threads;
  std::vector<int> threads;
  std::vector<Isolation> isolations;
  std::vector<Distribution> distributions;
  uint64_t reads = 0;
};

// Reads every regular file under `dir` once, so that the OS page cache
// holds the whole database before a cold run, whatever the load or the
// engine's close left there (a cold run measures an empty engine cache, not
// the disk). Failures are ignored: this only warms a cache.
void ReadEveryFile(const std::string& dir) {
  std::vector<char> buffer(size_t{1} << 20);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    while (::read(fd, buffer.data(), buffer.size()) > 0) {
    }
    ::close(fd);
  }
}

// The live key count a cold run's process hands to the next.
Status WriteLiveKeys(const std::string& path, uint64_t live_keys) {
  std::ofstream out(path, std::ios::trunc);
  out << live_keys << '\n';
  out.close();
  if (!out) return Status::IOError("cannot write " + path);
  return Status::OK();
}

Result<uint64_t> ReadLiveKeys(const std::string& path) {
  std::ifstream in(path);
  uint64_t live_keys = 0;
  if (!(in >> live_keys)) return Status::IOError("cannot read a key count from " + path);
  return live_keys;
}

// This program's own executable, for the processes of cold runs: the
// kernel's link to the file this process runs, which still works if a
// rebuild has replaced build/bin/mvdb-bench meanwhile.
constexpr const char* kSelf = "/proc/self/exe";

// A number for a command line, exact enough to give back the same double.
std::string Arg(double x) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", x);
  return text;
}

// Runs `program` with `argv` and waits for it; its stdout and stderr are
// ours. Returns its exit status, or an error if it could not run or was
// killed.
Result<int> RunProcess(const char* program, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program, nullptr, nullptr, args.data(), environ);
  if (rc != 0) return Status::FromErrno(std::string("posix_spawn ") + program, rc);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Status::FromErrno("waitpid", errno);
  }
  if (WIFSIGNALED(wstatus)) {
    return Status::IOError("the cold run's process was killed by signal " +
                           std::to_string(WTERMSIG(wstatus)));
  }
  return WEXITSTATUS(wstatus);
}

// What a session is in the two regimes (the file's header).
enum class Role : uint8_t {
  kWarm,      // every run here
  kColdLoad,  // loads here, spawns a process per run
  kColdRun,   // the spawned process: one run on the database it finds
};

// One engine's session: opens and reopens it in its directory, and runs
// the plan's workloads in order on it (warm), or in a process each (cold).
class EngineSession {
 public:
  EngineSession(std::string name, std::string root, const CommandLine& line, const Plan& plan,
                std::optional<double>* raw_fsync, Output* output)
      : name_(std::move(name)),
        root_(std::move(root)),
        dir_(root_ + "/" + name_),
        line_(line),
        plan_(plan),
        raw_fsync_(raw_fsync),
        output_(output),
        data_(line.num, line.key_size, line.value_size, line.seed) {
    if (!line.cold_run_state.empty()) {
      role_ = Role::kColdRun;
    } else if (line.mode == "cold") {
      role_ = Role::kColdLoad;
    }
  }

  // Runs every run of the plan; the first failure ends the session.
  Status RunAll() {
    if (role_ == Role::kColdRun) {
      // The database is the one the loading process (and the runs before)
      // left; so are the keys YCSB D/E inserted.
      MVDB_ASSIGN_OR_RETURN(const uint64_t live_keys, ReadLiveKeys(line_.cold_run_state));
      data_.RestoreInserts(live_keys);
      loaded_ = true;
    } else if (line_.use_existing_db != 0) {
      std::error_code ec;
      if (!fs::is_directory(dir_, ec) || fs::is_empty(dir_, ec)) {
        return Status::InvalidArgument("--use-existing-db 1: " + dir_ +
                                       " holds no database (run once without it)");
      }
      loaded_ = true;  // --num keys, as a run of this program left them
    } else {
      MVDB_RETURN_IF_ERROR(EmptyDirectory(dir_));
    }
    const auto open_start = std::chrono::steady_clock::now();
    MVDB_RETURN_IF_ERROR(Open(line_.sync != 0));
    open_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
    has_transactions_ = engine_->has_transactions();
    bool warned_no_transactions = false;
    for (size_t w = 0; w < plan_.workloads.size(); ++w) {
      const Workload workload = plan_.workloads[w];
      const std::vector<int>& thread_counts =
          plan_.workload_threads[w].empty() ? plan_.threads : plan_.workload_threads[w];
      current_ = std::string(WorkloadName(workload));
      if (workload == Workload::kTxnTransfer && !has_transactions_) {
        if (!warned_no_transactions) {
          std::cerr << "mvdb-bench: " << name_
                    << " has no multi-key transactions: txn-transfer skipped\n";
        }
        warned_no_transactions = true;
        continue;
      }
      for (const int threads : thread_counts) {
        RunSpec spec;
        spec.workload = workload;
        spec.threads = threads;
        spec.reads = plan_.reads;
        spec.seed = line_.seed;
        spec.dir = dir_;
        spec.duration_s = line_.duration_s;
        spec.fill_duration_s = line_.fill_duration_s;
        spec.batch_size = line_.batch_size;
        if (workload == Workload::kSyncWrite && spec.duration_s == 0) {
          spec.duration_s = kSyncWriteDefaultSeconds;
        }
        if (workload != Workload::kTxnTransfer) {
          MVDB_RETURN_IF_ERROR(RunOne(spec));
          continue;
        }
        for (const Isolation isolation : plan_.isolations) {
          for (const Distribution distribution : plan_.distributions) {
            spec.isolation = isolation;
            spec.distribution = distribution;
            MVDB_RETURN_IF_ERROR(RunOne(spec));
          }
        }
      }
    }
    current_ = "close";
    MVDB_RETURN_IF_ERROR(Close());
    if (role_ == Role::kColdRun) {
      return WriteLiveKeys(line_.cold_run_state, data_.live_keys());
    }
    return Status::OK();
  }

  const std::string& current() const { return current_; }

 private:
  Status Open(bool sync) {
    EngineConfig config;
    config.dir = dir_;
    config.cache_bytes = line_.cache_mb << 20;
    config.sync = sync;
    config.direct_io = line_.direct_io != 0;
    // Every run's threads, readwhilewriting's writer, and the main thread's
    // balance check.
    int most_threads = *std::max_element(plan_.threads.begin(), plan_.threads.end());
    for (const std::vector<int>& own : plan_.workload_threads) {
      for (const int t : own) most_threads = std::max(most_threads, t);
    }
    config.threads = most_threads + 2;
    // YCSB D/E insert at most one key per operation.
    uint64_t inserting_runs = 0;
    for (size_t w = 0; w < plan_.workloads.size(); ++w) {
      const size_t runs = plan_.workload_threads[w].empty() ? plan_.threads.size()
                                                            : plan_.workload_threads[w].size();
      inserting_runs += Inserts(plan_.workloads[w]) ? runs : 0;
    }
    config.num_keys = std::max(line_.num + inserting_runs * plan_.reads, data_.live_keys());
    config.key_size = line_.key_size;
    config.value_size = line_.value_size;
    MVDB_ASSIGN_OR_RETURN(engine_, OpenEngine(name_, config));
    sync_ = sync;
    return Status::OK();
  }

  Status Close() {
    if (engine_ == nullptr) return Status::OK();
    Status status = engine_->Close();
    engine_.reset();
    return status;
  }

  Status RunOne(const RunSpec& spec) {
    return role_ == Role::kColdLoad ? SpawnColdRun(spec) : RunHere(spec);
  }

  // A cold run: the data set loaded here (untimed) if no run has made it
  // yet, the engine closed, the OS page cache warmed, then the run in a
  // process of its own.
  Status SpawnColdRun(const RunSpec& spec) {
    if (!StartsEmpty(spec.workload) && !loaded_) {
      if (engine_ == nullptr) MVDB_RETURN_IF_ERROR(Open(line_.sync != 0));
      MVDB_RETURN_IF_ERROR(LoadDataSet(*engine_, data_, spec.threads, line_.seed));
      loaded_ = true;
    }
    // The database at rest: an LSM's compactions of the load (or of what
    // an earlier invocation left) done before the first run.
    // If that does not come (the engine's limit), the runs go on, and say so.
    if (engine_ != nullptr) {
      const Status settled = engine_->WaitForBackgroundWork();
      if (!settled.ok()) {
        std::cerr << "mvdb-bench: " << name_ << ": " << settled.ToString()
                  << "; the cold runs start anyway\n";
      }
    }
    MVDB_RETURN_IF_ERROR(Close());
    const std::string state = root_ + "/" + name_ + ".cold-run-state";
    MVDB_RETURN_IF_ERROR(WriteLiveKeys(state, data_.live_keys()));
    ReadEveryFile(dir_);
    std::vector<std::string> argv = {"mvdb-bench"};
    auto flag = [&argv](const char* name, std::string value) {
      argv.emplace_back(name);
      argv.push_back(std::move(value));
    };
    flag("--engine", name_);
    flag("--workload",
         std::string(WorkloadName(spec.workload)) + "@" + std::to_string(spec.threads));
    flag("--num", std::to_string(line_.num));
    flag("--key-size", std::to_string(line_.key_size));
    flag("--value-size", std::to_string(line_.value_size));
    flag("--cache-mb", std::to_string(line_.cache_mb));
    flag("--sync", std::to_string(line_.sync));
    flag("--direct-io", std::to_string(line_.direct_io));
    flag("--duration", Arg(line_.duration_s));
    flag("--fill-duration", Arg(line_.fill_duration_s));
    flag("--batch-size", std::to_string(line_.batch_size));
    flag("--seed", std::to_string(line_.seed));
    flag("--reads", std::to_string(spec.reads));
    flag("--isolation", IsolationName(spec.isolation));
    flag("--distribution", DistributionName(spec.distribution));
    flag("--db", root_);
    flag("--mode", "cold");
    flag("--cold-run-state", state);
    if (!line_.json.empty()) flag("--json", line_.json);
    MVDB_ASSIGN_OR_RETURN(const int exit_code, RunProcess(kSelf, argv));
    if (exit_code != 0) {
      return Status::IOError("its process (a cold run) exited with status " +
                             std::to_string(exit_code));
    }
    MVDB_ASSIGN_OR_RETURN(const uint64_t live_keys, ReadLiveKeys(state));
    data_.RestoreInserts(live_keys);
    std::error_code ignored;
    fs::remove(state, ignored);
    if (StartsEmpty(spec.workload)) {
      loaded_ = true;  // by the run itself
      data_.ResetInserts();
    }
    return Status::OK();
  }

  Status RunHere(const RunSpec& spec) {
    const bool sync = spec.workload == Workload::kSyncWrite || line_.sync != 0;
    if (StartsEmpty(spec.workload)) {
      MVDB_RETURN_IF_ERROR(Close());
      MVDB_RETURN_IF_ERROR(EmptyDirectory(dir_));
      MVDB_RETURN_IF_ERROR(Open(sync));
      loaded_ = true;  // by the run itself
      data_.ResetInserts();
    } else if (sync != sync_) {
      MVDB_RETURN_IF_ERROR(Close());
      MVDB_RETURN_IF_ERROR(Open(sync));
    }
    if (!loaded_) {
      MVDB_RETURN_IF_ERROR(LoadDataSet(*engine_, data_, spec.threads, line_.seed));
      loaded_ = true;
    }
    double raw_fsync = 0;
    if (spec.workload == Workload::kSyncWrite) {
      if (!raw_fsync_->has_value()) {
        MVDB_ASSIGN_OR_RETURN(double rate, RawFsyncPerSecond(dir_));
        *raw_fsync_ = rate;
      }
      raw_fsync = **raw_fsync_;
    }
    Report report;
    report.engine = name_;
    report.engine_version = engine_->version();
    report.settings = engine_->settings();
    report.spec = spec;
    report.line = &line_;
    report.sync = sync;
    report.raw_fsync_per_sec = raw_fsync;
    report.cold = role_ == Role::kColdRun;
    report.open_s = report.cold ? open_s_ : 0;
    MVDB_ASSIGN_OR_RETURN(report.result, RunWorkload(*engine_, data_, spec));
    report.db_bytes = AllocatedBytes(dir_);
    report.live_keys = data_.live_keys();
    Emit(report, *output_);
    return Status::OK();
  }

  std::string name_;
  std::string root_;
  std::string dir_;
  const CommandLine& line_;
  const Plan& plan_;
  std::optional<double>* raw_fsync_;
  Output* output_;
  DataSet data_;
  Role role_ = Role::kWarm;
  std::unique_ptr<EngineAdapter> engine_;
  bool has_transactions_ = false;
  double open_s_ = 0;  // the first Open's wall time
  bool sync_ = false;
  bool loaded_ = false;
  std::string current_ = "open";
};

// Thread counts separated by `separator` ("1,2,4" for --threads, "1:2:4"
// after a workload's @); `what` names them in the error.
Result<std::vector<int>> ParseThreads(const std::string& list, char separator,
                                      const std::string& what) {
  std::vector<int> counts;
  size_t begin = 0;
  while (begin <= list.size()) {
    const size_t end = std::min(list.find(separator, begin), list.size());
    const std::string item = list.substr(begin, end - begin);
    char* stop = nullptr;
    const long threads = std::strtol(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0' || threads < 1 || threads > 1024) {
      return Status::InvalidArgument(what + ": \"" + item + "\" is not a count from 1 to 1024");
    }
    counts.push_back(static_cast<int>(threads));
    begin = end + 1;
  }
  return counts;
}

// The plan, or a message for stderr (a usage error: exit 2).
Result<Plan> MakePlan(const CommandLine& line) {
  Plan plan;
  const std::vector<std::string> engines = AvailableEngines();
  for (const std::string& name : SplitCommas(line.engines)) {
    if (std::find(engines.begin(), engines.end(), name) == engines.end()) {
      return Status::InvalidArgument("unknown engine \"" + name +
                                     "\"; this build has: " + JoinNames(engines));
    }
    plan.engines.push_back(name);
  }
  for (const std::string& item : SplitCommas(line.workloads)) {
    const size_t at = item.find('@');
    const std::string name = item.substr(0, at);
    std::optional<Workload> workload = ParseWorkload(name);
    if (!workload.has_value()) {
      return Status::InvalidArgument("unknown workload \"" + name +
                                     "\"; the workloads are: " + JoinNames(WorkloadNames()));
    }
    plan.workloads.push_back(*workload);
    std::vector<int> own;
    if (at != std::string::npos) {
      MVDB_ASSIGN_OR_RETURN(own, ParseThreads(item.substr(at + 1), ':', item));
    }
    plan.workload_threads.push_back(std::move(own));
  }
  if (plan.engines.empty() || plan.workloads.empty()) {
    return Status::InvalidArgument(
        "--engine and --workload are required; engines: " + JoinNames(engines) +
        "; workloads: " + JoinNames(WorkloadNames()));
  }
  MVDB_ASSIGN_OR_RETURN(plan.threads, ParseThreads(line.threads, ',', "--threads"));
  if (line.isolation != "snapshot") plan.isolations.push_back(Isolation::kReadCommitted);
  if (line.isolation != "read-committed") plan.isolations.push_back(Isolation::kSnapshot);
  if (line.distribution != "zipfian") plan.distributions.push_back(Distribution::kUniform);
  if (line.distribution != "uniform") plan.distributions.push_back(Distribution::kZipfian);
  if (line.key_size < 8) return Status::InvalidArgument("--key-size must be at least 8");
  if (line.value_size < 8) {
    return Status::InvalidArgument("--value-size must be at least 8 (the balance)");
  }
  if (line.num < 2) return Status::InvalidArgument("--num must be at least 2");
  if (line.key_size < 20 && line.num >= static_cast<uint64_t>(std::pow(10.0, line.key_size))) {
    return Status::InvalidArgument("--num does not fit in --key-size decimal digits");
  }
  plan.reads = line.reads.value_or(line.num);
  if (!line.cold_run_state.empty()) {
    // What a cold run's process is given by the one that spawns it.
    if (line.db.empty() || plan.engines.size() != 1 || plan.workloads.size() != 1 ||
        plan.isolations.size() != 1 || plan.distributions.size() != 1 ||
        (plan.workload_threads[0].empty() ? plan.threads : plan.workload_threads[0]).size() != 1) {
      return Status::InvalidArgument(
          "--cold-run-state is mvdb-bench's own: one engine, one run, --db; use --mode cold");
    }
  }
  return plan;
}

int Run(const CommandLine& line) {
  if (line.calibrate) {
    std::printf(
        "measurement overhead: %.1f ns per operation (one steady_clock read + Histogram::Record)\n",
        MeasurementOverheadNs());
    return 0;
  }
  if (line.list) {
    std::printf("engines: %s\nworkloads: %s\n", JoinNames(AvailableEngines()).c_str(),
                JoinNames(WorkloadNames()).c_str());
    return 0;
  }
  Result<Plan> plan = MakePlan(line);
  if (!plan.ok()) {
    std::cerr << "mvdb-bench: " << plan.status().message() << '\n';
    return 2;
  }
  Result<Output> output = Output::Open(line.json);
  if (!output.ok()) {
    std::cerr << "mvdb-bench: " << output.status().ToString() << '\n';
    return 2;
  }
  Result<BenchRoot> root = BenchRoot::Create(line.db);
  if (!root.ok()) {
    std::cerr << "mvdb-bench: " << root.status().ToString() << '\n';
    return 1;
  }
  std::optional<double> raw_fsync;  // measured once, before the first syncwrite
  int exit_code = 0;
  for (const std::string& engine : plan->engines) {
    EngineSession session(engine, root->path(), line, *plan, &raw_fsync, &*output);
    Status status = session.RunAll();
    if (!status.ok()) {
      std::cerr << "mvdb-bench: " << engine << " " << session.current() << ": " << status.ToString()
                << '\n';
      exit_code = 1;
    }
  }
  return exit_code;
}

int Main(int argc, char** argv) {
  CommandLine line;
  CLI::App app{"mvdb-bench: mvdb beside other storage engines on the same workloads"};
  app.add_option("--engine", line.engines, "engines, comma-separated (--list shows them)");
  app.add_option("--workload", line.workloads,
                 "workloads, comma-separated, run in this order; W@T1:T2 runs W on its own "
                 "thread counts instead of --threads");
  app.add_option("--num", line.num, "keys in the data set")->capture_default_str();
  app.add_option("--threads", line.threads, "threads; a comma list runs each workload per count")
      ->capture_default_str();
  app.add_option("--value-size", line.value_size, "value bytes")->capture_default_str();
  app.add_option("--key-size", line.key_size, "key bytes (decimal digits, at least 8)")
      ->capture_default_str();
  app.add_option("--cache-mb", line.cache_mb, "each engine's cache in MiB")->capture_default_str();
  app.add_option("--sync", line.sync, "1: every commit on stable storage")
      ->check(CLI::IsMember({0, 1}))
      ->capture_default_str();
  app.add_option("--duration", line.duration_s,
                 "stop each workload but the fills after S seconds (0: no cap)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--fill-duration", line.fill_duration_s,
                 "time the fills (fillseq, fillrandom, fillbatch, fillrandombatch) for at most S "
                 "seconds, then load the rest of the "
                 "data set untimed (0: time the whole fill)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--batch-size", line.batch_size,
                 "fillbatch, fillrandombatch: key-value pairs per commit")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--db", line.db, "keep the databases in DIR/<engine> (default: a temporary one)");
  app.add_option("--json", line.json, "append one JSON object per run to FILE ('-': stdout)");
  app.add_option("--isolation", line.isolation, "txn-transfer's isolation")
      ->check(CLI::IsMember({"read-committed", "snapshot", "both"}))
      ->capture_default_str();
  app.add_option("--distribution", line.distribution, "txn-transfer's accounts")
      ->check(CLI::IsMember({"uniform", "zipfian", "both"}))
      ->capture_default_str();
  app.add_option("--direct-io", line.direct_io, "1: O_DIRECT where the engine offers it")
      ->check(CLI::IsMember({0, 1}))
      ->capture_default_str();
  app.add_option("--seed", line.seed, "seed of every random choice")->capture_default_str();
  app.add_option("--reads", line.reads,
                 "operations of the read, YCSB and transfer workloads "
                 "(default: --num)");
  app.add_option("--mode", line.mode,
                 "warm: every run in this process, one after the other on the open database; "
                 "cold: each run in a new process on the reopened database (empty engine "
                 "cache, the OS page cache warm)")
      ->check(CLI::IsMember({"warm", "cold"}))
      ->capture_default_str();
  app.add_option("--use-existing-db", line.use_existing_db,
                 "1: the engine's directory under --db already holds the --num keys (left by "
                 "an earlier run with the same --num, --key-size, --value-size); do not empty "
                 "and load it")
      ->check(CLI::IsMember({0, 1}))
      ->capture_default_str();
  // The process a cold run spawns: not for people (no group: not in --help).
  app.add_option("--cold-run-state", line.cold_run_state)->group("");
  app.add_flag("--list", line.list, "print the engines and workloads, exit");
  app.add_flag("--calibrate", line.calibrate,
               "print the cost of timing one operation (clock + histogram), exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return Run(line);
}

}  // namespace
}  // namespace mvdb::bench

int main(int argc, char** argv) {
  // mvdb and the adapters report failures as Status; what can still throw
  // is the standard library (bad_alloc, thread creation) and CLI11.
  try {
    return mvdb::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mvdb-bench: " << e.what() << '\n';
    return 2;
  }
}
