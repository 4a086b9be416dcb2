// Deterministic crash tests of the database facade: a scripted workload
// (trees created, batches across trees, large values, deletes, a
// checkpoint in the middle, a tree dropped) is run once to count its write
// and sync requests, then once per request with the file system dying
// there. After each crash the unsynced data is dropped (and, in the torn
// variant, the last write of each file half kept), the database reopened,
// and its state must equal exactly the acknowledged steps, possibly plus
// the one in flight (or, after acknowledged kOff batches, the state after
// any step from the last durable one on); CheckDatabase must pass.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/logging.h"
#include "engine/engine.h"
#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "tests/engine/engine_test_util.h"

namespace mvdb {
namespace {

using testing_db::Model;
using testing_db::TempDir;
using testing_db::Value;

struct Step {
  enum Kind { kCreate, kDrop, kBatch, kCheckpoint } kind;
  std::string tree;
  TreeBatch batch;
  SyncMode sync = SyncMode::kFull;
};

// The script. Segments are small, so it also switches segments and removes
// them after the checkpoint.
std::vector<Step> Script() {
  std::vector<Step> steps;
  for (const char* tree : {"a", "b", "c"}) steps.push_back({Step::kCreate, tree, {}});
  for (int i = 0; i < 8; ++i) {
    Step step{Step::kBatch, "", {}};
    step.batch.Put("a", "k" + std::to_string(i % 3), Value(20 + i, i));
    step.batch.Put("b", "k" + std::to_string(i), Value(i == 2 || i == 6 ? 20000 : 300, i));
    step.batch.Put("c", "same", std::to_string(i));
    if (i % 3 == 2) step.batch.Delete("a", "k" + std::to_string((i + 1) % 3));
    // Not durable when acknowledged: the checkpoint after them must make
    // the log durable before its meta slot, or recovery finds a checkpoint
    // ahead of the log.
    if (i == 3 || i == 4) step.sync = SyncMode::kOff;
    steps.push_back(std::move(step));
    if (i == 4) steps.push_back({Step::kCheckpoint, "", {}});
  }
  steps.push_back({Step::kDrop, "c", {}});
  Step last{Step::kBatch, "", {}};
  last.batch.Put("a", "last", Value(5000, 99));
  last.batch.Delete("b", "k2");
  steps.push_back(std::move(last));
  return steps;
}

Status RunStep(Engine* engine, const Step& step) {
  switch (step.kind) {
    case Step::kCreate:
      return engine->CreateTree(step.tree);
    case Step::kDrop:
      return engine->DropTree(step.tree);
    case Step::kBatch:
      return engine->Write(step.batch, step.sync);
    case Step::kCheckpoint:
      return engine->Checkpoint();
  }
  return Status::OK();
}

void ApplyStep(const Step& step, Model* model) {
  switch (step.kind) {
    case Step::kCreate:
      (*model)[step.tree];
      break;
    case Step::kDrop:
      model->erase(step.tree);
      break;
    case Step::kBatch:
      testing_db::ApplyToModel(step.batch, model);
      break;
    case Step::kCheckpoint:
      break;
  }
}

EngineOptions CrashOptions_(FileSystem* fs) {
  EngineOptions options;
  options.fs = fs;
  options.cache_mb = 1;  // a 16-page pool: evictions during the workload
  options.background_checkpoints = false;
  options.wal_segment_bytes = 16 << 10;
  return options;
}

// The states a crash may leave: the state after each step, from the last
// one whose acknowledgement promised durability up to the one in flight.
struct Outcome {
  std::vector<Model> states;  // states[i]: after the first i steps
  size_t durable = 0;         // states before this one may not be recovered
  uint64_t operations = 0;

  bool Allows(const Model& state) const {
    for (size_t i = durable; i < states.size(); ++i) {
      if (states[i] == state) return true;
    }
    return false;
  }
};

// Runs the script until a step fails; counts write and sync requests.
Outcome RunScript(const std::string& dir, FaultInjectionFileSystem* fault) {
  Outcome outcome;
  outcome.states.emplace_back();
  const uint64_t start = fault->write_count() + fault->sync_count();
  auto engine = Engine::Open(dir, CrashOptions_(fault));
  if (engine.ok()) {
    for (const Step& step : Script()) {
      Model next = outcome.states.back();
      ApplyStep(step, &next);
      outcome.states.push_back(std::move(next));  // acknowledged or in flight
      if (!RunStep(engine->get(), step).ok()) break;
      // A kOff batch is only in the kernel; a checkpoint syncs the log.
      if (step.kind != Step::kBatch || step.sync == SyncMode::kFull) {
        outcome.durable = outcome.states.size() - 1;
      }
    }
    (void)(*engine)->Close();
  }
  outcome.operations = fault->write_count() + fault->sync_count() - start;
  return outcome;
}

std::map<std::string, std::set<std::string>> AllKeys() {
  std::map<std::string, std::set<std::string>> keys;
  for (const Step& step : Script()) testing_db::AddKeys(step.batch, &keys);
  return keys;
}

void CrashEverywhere(bool tear) {
  SetLogLevel(LogLevel::kNone);
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  uint64_t total = 0;
  {
    TempDir dir;
    FaultInjectionFileSystem fault(posix.get());
    total = RunScript(dir.path(), &fault).operations;
  }
  ASSERT_GT(total, 40u);
  std::printf("crash points: %llu (tear=%d)\n", static_cast<unsigned long long>(total), tear);
  const auto keys = AllKeys();
  for (uint64_t k = 0; k <= total; ++k) {
    SCOPED_TRACE("crash after " + std::to_string(k) + " of " + std::to_string(total) +
                 " operations, tear=" + std::to_string(tear));
    TempDir dir;
    FaultInjectionFileSystem fault(posix.get());
    fault.SetCrashAfter(k);
    const Outcome outcome = RunScript(dir.path(), &fault);
    ASSERT_TRUE(fault.DropUnsyncedData(CrashOptions{.tear_last_write = tear}).ok());
    fault.ClearFaults();
    auto engine = Engine::Open(dir.path(), CrashOptions_(&fault));
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const Model state = testing_db::ReadBack(engine->get(), keys);
    EXPECT_TRUE(outcome.Allows(state))
        << "recovered " << state.size() << " trees; " << outcome.states.size() - 1
        << " steps started, the first " << outcome.durable << " durable";
    ASSERT_TRUE((*engine)->Close().ok());
    std::string report;
    const Status checked = CheckDatabase(dir.path(), &report, &fault);
    ASSERT_TRUE(checked.ok()) << checked.ToString() << "\n" << report;
  }
}

TEST(DbCrashTest, CrashAtEveryWriteAndSync) { CrashEverywhere(/*tear=*/false); }

TEST(DbCrashTest, CrashAtEveryWriteAndSyncWithTornLastWrite) { CrashEverywhere(/*tear=*/true); }

}  // namespace
}  // namespace mvdb
