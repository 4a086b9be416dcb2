// The database facade: write batches and their encoding, reopen, the lock,
// recovery after a crash, sticky failure, damaged files, segment removal
// and CheckDatabase.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "btree/tree_store.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "engine/record_format.h"
#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "tests/engine/engine_test_util.h"

namespace mvdb {
namespace {

using testing_db::Model;
using testing_db::TempDir;
using testing_db::Value;

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogLevel(LogLevel::kNone); }

  EngineOptions Options(FileSystem* fs = nullptr) {
    EngineOptions options;
    options.fs = fs != nullptr ? fs : posix_.get();
    options.cache_mb = 4;
    options.background_checkpoints = false;
    return options;
  }

  std::unique_ptr<Engine> OpenOk(const std::string& dir, const EngineOptions& options) {
    auto engine = Engine::Open(dir, options);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // Simulates a crash of `engine`: the file system dies, the engine is
  // dropped, unsynced data is lost.
  static void Crash(FaultInjectionFileSystem* fault, std::unique_ptr<Engine> engine,
                    bool tear = false) {
    fault->SetCrashAfter(0);
    engine.reset();
    ASSERT_TRUE(fault->DropUnsyncedData(CrashOptions{.tear_last_write = tear}).ok());
    fault->ClearFaults();
  }

  std::unique_ptr<FileSystem> posix_ = NewPosixFileSystem();
  TempDir tmp_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using testing::FlipByte;

std::vector<std::string> WalFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/wal")) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// ---- TreeBatch encoding ----

// A batch's ops are views into its arena, into the strings it took over or
// into the caller's bytes: each must read back what was given, across many
// arena blocks (and a piece larger than a block), after the source strings
// are gone, after the batch is moved, and after Decode's payload is gone.
TEST(WriteBatchTest, OpsKeepTheirBytes) {
  const std::string borrowed_key = "borrowed-key";
  const std::string borrowed_value = Value(300, 9);
  std::vector<std::string> want_keys;
  std::vector<std::string> want_values;
  TreeBatch batch;
  for (int i = 0; i < 3000; ++i) {  // about 100 bytes an op: several 64 KiB blocks
    std::string key = "key" + std::to_string(i);
    std::string value = Value(90, static_cast<uint64_t>(i));
    want_keys.push_back(key);
    want_values.push_back(value);
    if (i % 3 == 0) {
      batch.Put("tree", key, value);
    } else if (i % 3 == 1) {
      batch.PutMoved("tree", key, std::move(value));
    } else {
      batch.Delete("tree", key);
      want_values.back().clear();
    }
    key.assign(key.size(), 'x');  // the batch must not see the caller's buffer change
  }
  const std::string huge = Value(200000, 7);  // larger than an arena block
  batch.Put("tree", "huge", huge);
  batch.PutBorrowed("tree", borrowed_key, borrowed_value);
  batch.DeleteBorrowed("tree", borrowed_key);
  want_keys.insert(want_keys.end(), {"huge", borrowed_key, borrowed_key});
  want_values.insert(want_values.end(), {huge, borrowed_value, ""});
  const TreeBatch moved = std::move(batch);
  ASSERT_EQ(moved.count(), want_keys.size());
  for (size_t i = 0; i < want_keys.size(); ++i) {
    EXPECT_EQ(moved.ops()[i].tree, "tree");
    EXPECT_EQ(moved.ops()[i].key, want_keys[i]) << i;
    EXPECT_EQ(moved.ops()[i].value, want_values[i]) << i;
  }
  // The borrowed op reads the caller's bytes themselves, not a copy.
  EXPECT_EQ(moved.ops()[want_keys.size() - 2].key.data(), borrowed_key.data());
  auto decoded = [&] {
    const std::string payload = moved.Encode();
    return TreeBatch::Decode(payload);  // the payload dies here
  }();
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->count(), want_keys.size());
  for (size_t i = 0; i < want_keys.size(); ++i) {
    EXPECT_EQ(decoded->ops()[i].is_delete, moved.ops()[i].is_delete) << i;
    EXPECT_EQ(decoded->ops()[i].key, want_keys[i]) << i;
    EXPECT_EQ(decoded->ops()[i].value, want_values[i]) << i;
  }
  TreeBatch cleared = std::move(*decoded);
  cleared.Clear();
  EXPECT_TRUE(cleared.empty());
  cleared.Put("t", "k", "v");
  ASSERT_EQ(cleared.count(), 1u);
  EXPECT_EQ(cleared.ops()[0].value, "v");
}

TEST(WriteBatchTest, RoundTrip) {
  TreeBatch batch;
  batch.Put("t1", "k1", "v1");
  batch.Delete("t2", "k2");
  batch.Put("t3", std::string(kMaxKeySize, 'k'), Value(100000, 3));
  batch.Put("t1", "empty", "");
  const std::string encoded = batch.Encode();
  auto decoded = TreeBatch::Decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->count(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(decoded->ops()[i].is_delete, batch.ops()[i].is_delete);
    EXPECT_EQ(decoded->ops()[i].tree, batch.ops()[i].tree);
    EXPECT_EQ(decoded->ops()[i].key, batch.ops()[i].key);
    EXPECT_EQ(decoded->ops()[i].value, batch.ops()[i].value);
  }
  EXPECT_EQ(decoded->Encode(), encoded);
  TreeBatch empty;
  auto none = TreeBatch::Decode(empty.Encode());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(WriteBatchTest, MalformedPayloadsAreCorruption) {
  TreeBatch batch;
  batch.Put("tree", "key", "value");
  batch.Delete("other", "gone");
  const std::string good = batch.Encode();
  // Every truncation and every extension is refused.
  for (size_t n = 0; n < good.size(); ++n) {
    auto decoded = TreeBatch::Decode(good.substr(0, n));
    EXPECT_TRUE(decoded.status().IsCorruption()) << "prefix " << n;
  }
  EXPECT_TRUE(TreeBatch::Decode(good + "x").status().IsCorruption());
  auto patched = [&](size_t offset, char byte) {
    std::string bad = good;
    bad[offset] = byte;
    return TreeBatch::Decode(bad).status();
  };
  EXPECT_TRUE(patched(0, '\xff').IsCorruption());   // op count
  EXPECT_TRUE(patched(3, '\x7f').IsCorruption());   // a huge op count
  EXPECT_TRUE(patched(4, 9).IsCorruption());        // kind
  EXPECT_TRUE(patched(5, 0).IsCorruption());        // tree length 0 (then 0x00)
  EXPECT_TRUE(patched(6, '\x40').IsCorruption());   // tree length > 1 KiB
  EXPECT_TRUE(patched(8, '\x40').IsCorruption());   // key length > 1 KiB
  EXPECT_TRUE(patched(12, '\x7f').IsCorruption());  // value length beyond the payload
  // Every single-byte change of a length or kind field decodes to an error
  // or to a batch that re-encodes to exactly the bytes given: never a crash.
  for (size_t offset = 0; offset < good.size(); ++offset) {
    for (int byte : {0, 1, 0x7f, 0xff}) {
      std::string bad = good;
      bad[offset] = static_cast<char>(byte);
      auto decoded = TreeBatch::Decode(bad);
      if (decoded.ok()) {
        EXPECT_EQ(decoded->Encode(), bad);
      } else {
        EXPECT_TRUE(decoded.status().IsCorruption());
      }
    }
  }
}

TEST(WriteBatchTest, TreeNameRecords) {
  const std::string encoded = db_record::EncodeTreeName("accounts");
  auto name = db_record::DecodeTreeName(std::as_bytes(std::span(encoded.data(), encoded.size())));
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "accounts");
  for (size_t n = 0; n < encoded.size(); ++n) {
    auto bad = db_record::DecodeTreeName(std::as_bytes(std::span(encoded.data(), n)));
    EXPECT_TRUE(bad.status().IsCorruption()) << n;
  }
}

// ---- the engine ----

TEST_F(DbTest, AtomicBatchAcrossTreesSurvivesReopen) {
  {
    auto engine = OpenOk(tmp_.path(), Options());
    ASSERT_NE(engine, nullptr);
    for (const char* tree : {"a", "b", "c"}) ASSERT_TRUE(engine->CreateTree(tree).ok());
    TreeBatch batch;
    batch.Put("a", "k", "1");
    batch.Put("b", "k", Value(50000, 1));
    batch.Put("c", "k", "3");
    ASSERT_TRUE(engine->Write(batch).ok());
    TreeBatch second;
    second.Delete("a", "k");
    second.Put("c", "k", "33");
    ASSERT_TRUE(engine->Write(second).ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  auto engine = OpenOk(tmp_.path(), Options());
  ASSERT_NE(engine, nullptr);
  std::string value;
  EXPECT_TRUE(engine->Get("a", "k", &value).IsNotFound());
  ASSERT_TRUE(engine->Get("b", "k", &value).ok());
  EXPECT_EQ(value, Value(50000, 1));
  ASSERT_TRUE(engine->Get("c", "k", &value).ok());
  EXPECT_EQ(value, "33");
  auto trees = engine->ListTrees();
  ASSERT_TRUE(trees.ok());
  EXPECT_EQ(*trees, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(DbTest, InvalidWritesAreRefusedBeforeLogging) {
  auto engine = OpenOk(tmp_.path(), Options());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->CreateTree("t").ok());
  EXPECT_EQ(engine->CreateTree("t").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->CreateTree("").code(), StatusCode::kInvalidArgument);
  const uint64_t before = engine->stats().wal_bytes;
  TreeBatch missing;
  missing.Put("t", "k", "v");
  missing.Put("nope", "k", "v");
  EXPECT_TRUE(engine->Write(missing).IsNotFound());
  TreeBatch long_key;
  long_key.Put("t", std::string(kMaxKeySize + 1, 'k'), "v");
  EXPECT_EQ(engine->Write(long_key).code(), StatusCode::kInvalidArgument);
  TreeBatch empty_key;
  empty_key.Put("t", "", "v");
  EXPECT_EQ(engine->Write(empty_key).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->stats().wal_bytes, before);
  std::string value;
  EXPECT_TRUE(engine->Get("t", "k", &value).IsNotFound());
  EXPECT_TRUE(engine->health().ok());
}

TEST_F(DbTest, SecondOpenIsBusyAndChangesNothing) {
  auto engine = OpenOk(tmp_.path(), Options());
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->CreateTree("t").ok());
  const std::string data = ReadFile(tmp_.File("data.mvdb"));
  const std::vector<std::string> wal = WalFiles(tmp_.path());
  auto second = Engine::Open(tmp_.path(), Options());
  ASSERT_TRUE(second.status().IsBusy()) << second.status().ToString();
  EXPECT_NE(second.status().message().find("process " + std::to_string(::getpid())),
            std::string::npos)
      << second.status().ToString();
  EXPECT_EQ(ReadFile(tmp_.File("data.mvdb")), data);
  EXPECT_EQ(WalFiles(tmp_.path()), wal);
  std::string report;
  EXPECT_TRUE(CheckDatabase(tmp_.path(), &report, posix_.get()).IsBusy());
  EXPECT_NE(report.find("locked by process"), std::string::npos) << report;
  // The first engine goes on unharmed.
  TreeBatch batch;
  batch.Put("t", "k", "v");
  EXPECT_TRUE(engine->Write(batch).ok());
}

TEST_F(DbTest, RecoveryReplaysAcknowledgedBatchesAfterCrash) {
  FaultInjectionFileSystem fault(posix_.get());
  Model model;
  {
    auto engine = OpenOk(tmp_.path(), Options(&fault));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("x").ok());
    ASSERT_TRUE(engine->CreateTree("y").ok());
    for (int i = 0; i < 50; ++i) {
      TreeBatch batch;
      batch.Put("x", "k" + std::to_string(i % 7), Value(10 + i, i));
      batch.Put("y", "k" + std::to_string(i), Value(3000, i));
      if (i % 5 == 0) batch.Delete("x", "k" + std::to_string((i + 3) % 7));
      ASSERT_TRUE(engine->Write(batch).ok());
      testing_db::ApplyToModel(batch, &model);
      if (i == 20) {
        ASSERT_TRUE(engine->Checkpoint().ok());
      }
    }
    Crash(&fault, std::move(engine));
  }
  auto engine = OpenOk(tmp_.path(), Options(&fault));
  ASSERT_NE(engine, nullptr);
  EXPECT_GT(engine->stats().recovered_batches, 0u);
  std::map<std::string, std::set<std::string>> keys;
  for (int i = 0; i < 50; ++i) {
    keys["x"].insert("k" + std::to_string(i % 7));
    keys["y"].insert("k" + std::to_string(i));
  }
  EXPECT_EQ(testing_db::ReadBack(engine.get(), keys), model);
}

TEST_F(DbTest, FsyncFailureIsStickyAndReopenRecovers) {
  FaultInjectionFileSystem fault(posix_.get());
  Model model;
  {
    auto engine = OpenOk(tmp_.path(), Options(&fault));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("t").ok());
    for (int i = 0; i < 10; ++i) {
      TreeBatch batch;
      batch.Put("t", "k" + std::to_string(i), "v" + std::to_string(i));
      ASSERT_TRUE(engine->Write(batch).ok());
      testing_db::ApplyToModel(batch, &model);
    }
    fault.FailSync(1, EIO, /*sticky=*/false);
    TreeBatch failing;
    failing.Put("t", "k0", "changed");
    const Status failed = engine->Write(failing);
    ASSERT_TRUE(failed.IsIOError()) << failed.ToString();
    EXPECT_NE(failed.message().find("database failed"), std::string::npos) << failed.ToString();
    EXPECT_NE(failed.message().find("reopen"), std::string::npos);
    fault.ClearFaults();
    // Sticky: the file system works again, the engine still refuses.
    TreeBatch later;
    later.Put("t", "k1", "later");
    const Status refused = engine->Write(later);
    EXPECT_TRUE(refused.IsIOError());
    EXPECT_EQ(refused.ToString(), failed.ToString());
    EXPECT_TRUE(engine->Checkpoint().IsIOError());
    EXPECT_TRUE(engine->stats().failed);
    EXPECT_TRUE(engine->Close().IsIOError());
  }
  ASSERT_TRUE(fault.DropUnsyncedData().ok());
  auto engine = OpenOk(tmp_.path(), Options(&fault));
  ASSERT_NE(engine, nullptr);
  std::map<std::string, std::set<std::string>> keys;
  for (int i = 0; i < 10; ++i) keys["t"].insert("k" + std::to_string(i));
  Model recovered = testing_db::ReadBack(engine.get(), keys);
  // The failed batch was never acknowledged: it may or may not be there.
  if (recovered["t"]["k0"] == "changed") model["t"]["k0"] = "changed";
  EXPECT_EQ(recovered, model);
}

TEST_F(DbTest, NoSpaceOnWalWriteLosesNothingAcknowledged) {
  FaultInjectionFileSystem fault(posix_.get());
  Model model;
  {
    auto engine = OpenOk(tmp_.path(), Options(&fault));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("t").ok());
    for (int i = 0; i < 5; ++i) {
      TreeBatch batch;
      batch.Put("t", "k" + std::to_string(i), Value(200, i));
      ASSERT_TRUE(engine->Write(batch).ok());
      testing_db::ApplyToModel(batch, &model);
    }
    fault.FailWrite(1, ENOSPC, /*sticky=*/true);
    TreeBatch batch;
    batch.Put("t", "full", "x");
    const Status status = engine->Write(batch);
    ASSERT_TRUE(status.IsIOError()) << status.ToString();
    EXPECT_NE(status.message().find("No space left on device"), std::string::npos)
        << status.ToString();
    fault.ClearFaults();
  }
  ASSERT_TRUE(fault.DropUnsyncedData().ok());
  auto engine = OpenOk(tmp_.path(), Options(&fault));
  ASSERT_NE(engine, nullptr);
  std::map<std::string, std::set<std::string>> keys;
  for (int i = 0; i < 5; ++i) keys["t"].insert("k" + std::to_string(i));
  EXPECT_EQ(testing_db::ReadBack(engine.get(), keys), model);
  std::string value;
  EXPECT_TRUE(engine->Get("t", "full", &value).IsNotFound());
}

TEST_F(DbTest, CorruptRecordInTheMiddleOfTheLogFailsOpen) {
  FaultInjectionFileSystem fault(posix_.get());
  {
    auto engine = OpenOk(tmp_.path(), Options(&fault));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("t").ok());
    for (int i = 0; i < 20; ++i) {
      TreeBatch batch;
      batch.Put("t", "k" + std::to_string(i), Value(100, i));
      ASSERT_TRUE(engine->Write(batch).ok());
    }
    Crash(&fault, std::move(engine));
  }
  const std::vector<std::string> segments = WalFiles(tmp_.path());
  ASSERT_EQ(segments.size(), 1u);
  const uint64_t offset = 32 + 5 * 160 + 40;  // inside an early record's bytes
  FlipByte(segments[0], offset);
  auto engine = Engine::Open(tmp_.path(), Options(&fault));
  ASSERT_TRUE(engine.status().IsCorruption()) << engine.status().ToString();
  EXPECT_NE(engine.status().message().find(segments[0]), std::string::npos)
      << engine.status().ToString();
  EXPECT_NE(engine.status().message().find("offset"), std::string::npos);
  std::string report;
  EXPECT_TRUE(CheckDatabase(tmp_.path(), &report, posix_.get()).IsCorruption()) << report;
  EXPECT_NE(report.find(segments[0]), std::string::npos) << report;
}

TEST_F(DbTest, CorruptDataPageIsReportedByGet) {
  {
    auto engine = OpenOk(tmp_.path(), Options());
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("t").ok());
    TreeBatch batch;
    batch.Put("t", "key", "value");
    ASSERT_TRUE(engine->Write(batch).ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  uint64_t offset = 0;
  {
    auto store = TreeStore::Open(posix_.get(), tmp_.File("data.mvdb"), TreeStoreOptions{});
    ASSERT_TRUE(store.ok());
    auto tree = (*store)->OpenTree("t");
    ASSERT_TRUE(tree.ok());
    auto where = (*store)->page_store()->OffsetOf((*tree)->root());
    ASSERT_TRUE(where.ok());
    offset = *where;
    (*store)->Abandon();
  }
  FlipByte(tmp_.File("data.mvdb"), offset + 100);
  auto engine = OpenOk(tmp_.path(), Options());
  ASSERT_NE(engine, nullptr);
  std::string value;
  const Status status = engine->Get("t", "key", &value);
  ASSERT_TRUE(status.IsCorruption()) << status.ToString();
  EXPECT_NE(status.message().find("data.mvdb"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("page"), std::string::npos) << status.ToString();
  ASSERT_TRUE(engine->Close().ok());
  std::string report;
  EXPECT_TRUE(CheckDatabase(tmp_.path(), &report, posix_.get()).IsCorruption()) << report;
}

TEST_F(DbTest, CheckpointsKeepTheLogBounded) {
  EngineOptions options = Options();
  options.wal_segment_bytes = 4096;
  auto engine = OpenOk(tmp_.path(), options);
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->CreateTree("t").ok());
  size_t most = 0;
  for (int i = 0; i < 600; ++i) {
    TreeBatch batch;
    batch.Put("t", "k" + std::to_string(i % 50), Value(300, i));
    ASSERT_TRUE(engine->Write(batch, SyncMode::kOff).ok());
    if (i % 50 == 49) {
      ASSERT_TRUE(engine->Checkpoint().ok());
      most = std::max(most, WalFiles(tmp_.path()).size());
    }
  }
  // 50 batches of ~350 bytes span about 5 segments of 4 KiB.
  EXPECT_LE(most, 3u);
  EXPECT_GT(engine->stats().checkpoints, 10u);
}

TEST_F(DbTest, BackgroundCheckpointsFollowLogGrowth) {
  EngineOptions options = Options();
  options.background_checkpoints = true;
  options.wal_segment_bytes = 4096;
  options.checkpoint_wal_bytes = 16 << 10;
  auto engine = OpenOk(tmp_.path(), options);
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->CreateTree("t").ok());
  for (int i = 0; i < 400; ++i) {
    TreeBatch batch;
    batch.Put("t", "k" + std::to_string(i % 20), Value(500, i));
    ASSERT_TRUE(engine->Write(batch, SyncMode::kNormal).ok());
  }
  // How many checkpoints that takes depends on how fast the background
  // thread keeps up with the commits; what must hold is that it catches up:
  // the log since the last checkpoint falls below the threshold, and the
  // segments before it are removed.
  auto caught_up = [&] {
    const EngineStats stats = engine->stats();
    return stats.checkpoints >= 1 && WalFiles(tmp_.path()).size() <= 12u;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!caught_up() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(engine->stats().checkpoints, 1u);
  EXPECT_LE(WalFiles(tmp_.path()).size(), 12u);  // 400 x ~530 bytes would be ~52
  ASSERT_TRUE(engine->Close().ok());
}

TEST_F(DbTest, DropAndRecreateTreeReplays) {
  FaultInjectionFileSystem fault(posix_.get());
  {
    auto engine = OpenOk(tmp_.path(), Options(&fault));
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("t").ok());
    TreeBatch batch;
    batch.Put("t", "old", "1");
    ASSERT_TRUE(engine->Write(batch).ok());
    ASSERT_TRUE(engine->DropTree("t").ok());
    EXPECT_TRUE(engine->DropTree("t").IsNotFound());
    ASSERT_TRUE(engine->CreateTree("t").ok());
    TreeBatch fresh;
    fresh.Put("t", "new", "2");
    ASSERT_TRUE(engine->Write(fresh).ok());
    Crash(&fault, std::move(engine));
  }
  auto engine = OpenOk(tmp_.path(), Options(&fault));
  ASSERT_NE(engine, nullptr);
  std::string value;
  EXPECT_TRUE(engine->Get("t", "old", &value).IsNotFound());
  ASSERT_TRUE(engine->Get("t", "new", &value).ok());
  EXPECT_EQ(value, "2");
  ASSERT_TRUE(engine->Close().ok());
  std::string report;
  EXPECT_TRUE(CheckDatabase(tmp_.path(), &report, posix_.get()).ok()) << report;
}

TEST_F(DbTest, CheckDatabaseReportsEveryFile) {
  {
    auto engine = OpenOk(tmp_.path(), Options());
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->CreateTree("accounts").ok());
    TreeBatch batch;
    batch.Put("accounts", "alice", "100");
    ASSERT_TRUE(engine->Write(batch).ok());
    ASSERT_TRUE(engine->Close().ok());
  }
  std::string report;
  const Status status = CheckDatabase(tmp_.path(), &report, posix_.get());
  ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << report;
  for (const char* expected : {"lock: free", "meta slot 0", "meta slot 1", "newest checkpoint",
                               "tree 'accounts': OK, 1 entries", "segment ", "result: OK"}) {
    EXPECT_NE(report.find(expected), std::string::npos) << expected << "\n" << report;
  }
  // Checking changed nothing and left the database openable.
  auto engine = OpenOk(tmp_.path(), Options());
  ASSERT_NE(engine, nullptr);
  std::string value;
  ASSERT_TRUE(engine->Get("accounts", "alice", &value).ok());
  EXPECT_EQ(value, "100");
}

}  // namespace
}  // namespace mvdb
