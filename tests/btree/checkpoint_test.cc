// TreeStore over copy-on-write checkpoints: a crash at every write and sync
// of a scripted workload, sticky failure, and bounded space.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "btree/tree_store.h"
#include "btree_test_util.h"
#include "io/fault_injection_file_system.h"

namespace mvdb {
namespace {

using Model = std::map<std::string, std::string>;

constexpr char kTree[] = "t";

// The tree's content, or an empty model when it does not exist.
Result<Model> ReadTree(TreeStore* store) {
  Result<BTree*> tree = store->OpenTree(kTree);
  if (!tree.ok() && tree.status().IsNotFound()) return Model();
  MVDB_RETURN_IF_ERROR(tree.status());
  Model model;
  std::unique_ptr<BTreeCursor> cursor = (*tree)->NewCursor();
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    model.emplace(std::string(cursor->key()), std::string(cursor->value()));
  }
  MVDB_RETURN_IF_ERROR(cursor->status());
  return model;
}

// What one run of the script got done before the file system died.
struct ScriptRun {
  std::vector<Model> checkpoints;  // state of each checkpoint that returned OK
  std::optional<Model> in_flight;  // state of the checkpoint that failed, if one did
};

// Rounds of puts, overwrites and deletes, each ending with a checkpoint,
// through a cache small enough that eviction writes pages between them.
ScriptRun RunScript(FileSystem* fs, const std::string& path, uint64_t seed) {
  ScriptRun run;
  TreeStoreOptions options;
  options.cache_pages = 16;
  options.writeback_batch = 4;
  auto opened = TreeStore::Open(fs, path, options);
  if (!opened.ok()) return run;
  std::unique_ptr<TreeStore> store = std::move(*opened);
  run.checkpoints.push_back(Model());  // Open took checkpoint 1 of the new file
  std::mt19937_64 rng(seed);
  Model model;
  bool failed = false;
  BTree* tree = nullptr;
  for (uint64_t round = 0; round < 4 && !failed; ++round) {
    if (tree == nullptr) {
      auto created = store->CreateTree(kTree);
      if (!created.ok()) break;
      tree = *created;
    }
    for (int op = 0; op < 150 && !failed; ++op) {
      const std::string key = testing::NumberKey(rng() % 400);
      if (rng() % 5 == 0) {
        const Status status = tree->Delete(key);
        failed = !status.ok() && !status.IsNotFound();
        model.erase(key);
      } else {
        const std::string value = testing::MakeValue(key, round * 1000 + op, 100 + rng() % 800);
        failed = !tree->Put(key, value).ok();
        model[key] = value;
      }
    }
    if (failed) break;
    if (store->Checkpoint(round + 1).ok()) {
      run.checkpoints.push_back(model);
    } else {
      run.in_flight = model;
      failed = true;
    }
  }
  (void)store->Close();  // fails once the file system is dead; nothing more reaches it
  return run;
}

std::string Describe(const Model& model) { return std::to_string(model.size()) + " keys"; }

void CrashAtEveryPoint(bool tear) {
  const uint64_t seed = testing::TestSeed(42);
  SCOPED_TRACE("seed=" + std::to_string(seed) + " tear=" + std::to_string(tear));
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();

  // A run without a crash counts the points to crash at.
  uint64_t points = 0;
  {
    FaultInjectionFileSystem fault(posix.get());
    const ScriptRun full = RunScript(&fault, dir.File("full.mvdb"), seed);
    ASSERT_EQ(full.checkpoints.size(), 5u);
    points = fault.write_count() + fault.sync_count();
  }
  ASSERT_GT(points, 20u);

  // How the crashes fell, so the test shows it covered what it claims.
  uint64_t inside_checkpoint = 0;
  uint64_t got_in_flight = 0;
  uint64_t got_nonempty = 0;
  for (uint64_t k = 0; k <= points; ++k) {
    SCOPED_TRACE("crash after " + std::to_string(k) + " of " + std::to_string(points) +
                 " writes and syncs");
    const std::string path = dir.File("crash-" + std::to_string(k) + ".mvdb");
    FaultInjectionFileSystem fault(posix.get());
    fault.SetCrashAfter(k);
    const ScriptRun run = RunScript(&fault, path, seed);
    ASSERT_TRUE(fault.DropUnsyncedData(CrashOptions{.tear_last_write = tear}).ok());
    fault.ClearFaults();

    auto reopened = TreeStore::Open(&fault, path, TreeStoreOptions{});
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    std::unique_ptr<TreeStore> store = std::move(*reopened);
    auto report = store->Check();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    auto content = ReadTree(store.get());
    ASSERT_TRUE(content.ok()) << content.status().ToString();

    // The last checkpoint that returned OK, or the one the crash cut short.
    const Model last = run.checkpoints.empty() ? Model() : run.checkpoints.back();
    const bool matches = *content == last || (run.in_flight && *content == *run.in_flight);
    EXPECT_TRUE(matches) << "reopened with " << Describe(*content) << "; last checkpoint "
                         << Describe(last) << " (" << run.checkpoints.size() << " completed)"
                         << (run.in_flight ? ", one in flight with " + Describe(*run.in_flight)
                                           : std::string());
    if (!matches) return;
    inside_checkpoint += run.in_flight ? 1 : 0;
    got_in_flight += run.in_flight && *content != last ? 1 : 0;
    got_nonempty += content->empty() ? 0 : 1;
    ASSERT_TRUE(store->Close().ok());
  }
  std::printf("%llu crash points: %llu inside a checkpoint (%llu kept it), %llu non-empty\n",
              static_cast<unsigned long long>(points + 1),
              static_cast<unsigned long long>(inside_checkpoint),
              static_cast<unsigned long long>(got_in_flight),
              static_cast<unsigned long long>(got_nonempty));
  // Without a tear, a checkpoint whose last sync did not return is lost;
  // with one, a meta slot can survive whole (its tail is zeros anyway).
  EXPECT_GT(inside_checkpoint, 0u);
  EXPECT_GT(got_nonempty, 0u);
}

TEST(CheckpointCrashTest, CrashAtEveryWriteAndSyncLeavesTheLastCheckpoint) {
  CrashAtEveryPoint(/*tear=*/false);
}

TEST(CheckpointCrashTest, CrashWithATornLastWriteLeavesTheLastCheckpoint) {
  CrashAtEveryPoint(/*tear=*/true);
}

TEST(CheckpointTest, SyncFailureIsStickyAndReopenRecoversThePreviousCheckpoint) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  FaultInjectionFileSystem fault(posix.get());
  const std::string path = dir.File("sticky.mvdb");
  Model model;
  {
    auto opened = TreeStore::Open(&fault, path, TreeStoreOptions{});
    ASSERT_TRUE(opened.ok());
    std::unique_ptr<TreeStore> store = std::move(*opened);
    auto tree = store->CreateTree(kTree);
    ASSERT_TRUE(tree.ok());
    for (int i = 0; i < 300; ++i) {
      const std::string key = testing::NumberKey(i);
      model[key] = testing::MakeValue(key, 1, 100);
      ASSERT_TRUE((*tree)->Put(key, model[key]).ok());
    }
    auto first = store->Checkpoint(7);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->lsn, 7u);
    for (int i = 0; i < 300; ++i) {
      const std::string key = testing::NumberKey(i);
      ASSERT_TRUE((*tree)->Put(key, testing::MakeValue(key, 2, 100)).ok());
    }
    fault.FailSync(1, EIO, /*sticky=*/false);
    const auto failed = store->Checkpoint(8);
    ASSERT_TRUE(failed.status().IsIOError()) << failed.status().ToString();
    const auto again = store->Checkpoint(9);
    ASSERT_TRUE(again.status().IsIOError());
    EXPECT_NE(again.status().message().find("data file failed"), std::string_view::npos)
        << again.status().ToString();
    EXPECT_NE(again.status().message().find("reopen the database to recover"),
              std::string_view::npos);
    EXPECT_FALSE(store->Close().ok());
  }
  ASSERT_TRUE(fault.DropUnsyncedData(CrashOptions{.tear_last_write = true}).ok());
  auto reopened = TreeStore::Open(&fault, path, TreeStoreOptions{});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->page_store()->checkpoint_lsn(), 7u);
  ASSERT_TRUE((*reopened)->Check().ok());
  auto content = ReadTree(reopened->get());
  ASSERT_TRUE(content.ok());
  EXPECT_TRUE(*content == model);
}

TEST(CheckpointTest, SpaceStaysBoundedWhenAWorkingSetIsRewritten) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  TreeStoreOptions options;
  options.cache_pages = 64;
  auto opened = TreeStore::Open(posix.get(), dir.File("space.mvdb"), options);
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<TreeStore> store = std::move(*opened);
  auto tree = store->CreateTree(kTree);
  ASSERT_TRUE(tree.ok());
  uint64_t first_slots = 0;
  for (uint64_t round = 1; round <= 30; ++round) {
    for (int i = 0; i < 1000; ++i) {
      const std::string key = testing::NumberKey(i);
      ASSERT_TRUE((*tree)->Put(key, testing::MakeValue(key, round, 100)).ok());
    }
    auto result = store->Checkpoint(round);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    if (round == 1) first_slots = store->page_store()->stats().slot_count;
  }
  auto report = store->Check();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Two images per page at most (the durable one and the newest) plus maps.
  EXPECT_LE(report->slot_count, 2 * report->page_count + 8)
      << "first checkpoint spanned " << first_slots << " slots";
  EXPECT_GT(report->free_slots, 0u);
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace mvdb
