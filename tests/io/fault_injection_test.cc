// FaultInjectionFileSystem: injected failures, simulated crashes and what a
// crash leaves on disk.
#include "io/fault_injection_file_system.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "io_test_util.h"

namespace mvdb {
namespace {

using testing_io::Pattern;
using testing_io::ReadAll;
using testing_io::TempDir;

class FaultInjectionTest : public ::testing::Test {
 protected:
  std::unique_ptr<File> OpenFile(const std::string& name) {
    Result<std::unique_ptr<File>> file = fs_.Open(dir_.File(name), {.create = true});
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(*file) : nullptr;
  }

  // A file that exists durably (its name synced) with `content` synced.
  std::unique_ptr<File> DurableFile(const std::string& name,
                                    const std::vector<std::byte>& content) {
    auto file = OpenFile(name);
    EXPECT_TRUE(file->WriteAt(0, content).ok());
    EXPECT_TRUE(file->Sync().ok());
    EXPECT_TRUE(fs_.SyncDir(dir_.path()).ok());
    return file;
  }

  // The content of `name` as the base file system sees it, or nullopt.
  std::optional<std::vector<std::byte>> OnDisk(const std::string& name) {
    Result<std::unique_ptr<File>> file = base_->Open(dir_.File(name), {});
    if (!file.ok()) return std::nullopt;
    return ReadAll(**file);
  }

  TempDir dir_;
  std::unique_ptr<FileSystem> base_ = NewPosixFileSystem();
  FaultInjectionFileSystem fs_{base_.get()};
};

TEST_F(FaultInjectionTest, NameAndCounters) {
  EXPECT_EQ(fs_.name(), "fault(posix)");
  auto file = OpenFile("f");
  ASSERT_TRUE(file->WriteAt(0, Pattern(10, 1)).ok());
  ASSERT_TRUE(file->WriteAt(10, Pattern(10, 2)).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  EXPECT_EQ(fs_.write_count(), 2u);
  EXPECT_EQ(fs_.sync_count(), 2u);
}

TEST_F(FaultInjectionTest, ThirdWriteFailsWithEnospcAndWritesNothing) {
  auto file = OpenFile("f");
  fs_.FailWrite(3, ENOSPC, /*sticky=*/false);
  ASSERT_TRUE(file->WriteAt(0, Pattern(100, 1)).ok());
  ASSERT_TRUE(file->WriteAt(100, Pattern(100, 2)).ok());
  Status s = file->WriteAt(50, Pattern(100, 3));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(std::string(s.message()).find("No space left on device"), std::string::npos)
      << s.ToString();
  EXPECT_NE(std::string(s.message()).find(dir_.File("f") + " at 50"), std::string::npos)
      << s.ToString();

  std::vector<std::byte> expected = Pattern(100, 1);
  auto second = Pattern(100, 2);
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(ReadAll(*file), expected) << "earlier writes intact, the failed one wrote nothing";
  EXPECT_TRUE(file->WriteAt(200, Pattern(1, 4)).ok()) << "not sticky: the 4th write works";
}

TEST_F(FaultInjectionTest, StickyWriteFaultFailsEveryLaterWrite) {
  auto file = OpenFile("f");
  fs_.FailWrite(2, EIO, /*sticky=*/true);
  EXPECT_TRUE(file->WriteAt(0, Pattern(10, 1)).ok());
  for (int i = 0; i < 3; ++i) {
    Status s = file->WriteAt(0, Pattern(10, 2));
    EXPECT_TRUE(s.IsIOError());
    EXPECT_NE(std::string(s.message()).find("Input/output error"), std::string::npos);
  }
  EXPECT_TRUE(file->Sync().ok()) << "a write fault does not touch syncs";
  fs_.ClearFaults();
  EXPECT_TRUE(file->WriteAt(0, Pattern(10, 2)).ok());
}

TEST_F(FaultInjectionTest, StickySyncFailure) {
  auto file = OpenFile("f");
  fs_.FailSync(1, EIO, /*sticky=*/true);
  ASSERT_TRUE(file->WriteAt(0, Pattern(10, 1)).ok());
  for (int i = 0; i < 3; ++i) {
    Status s = file->Sync();
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_NE(std::string(s.message()).find("Input/output error"), std::string::npos);
  }
  EXPECT_FALSE(fs_.SyncDir(dir_.path()).ok()) << "directory syncs are syncs too";
  EXPECT_TRUE(file->WriteAt(10, Pattern(10, 2)).ok()) << "a sync fault does not touch writes";
  fs_.ClearFaults();
  EXPECT_TRUE(file->Sync().ok());
}

TEST_F(FaultInjectionTest, FailedSyncMakesNothingDurable) {
  auto synced = Pattern(64, 1);
  auto file = DurableFile("f", synced);
  ASSERT_TRUE(file->WriteAt(0, Pattern(64, 2)).ok());
  fs_.FailSync(1, EIO, /*sticky=*/false);
  EXPECT_FALSE(file->Sync().ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(OnDisk("f"), synced);
}

TEST_F(FaultInjectionTest, DropUnsyncedDataRestoresLastSyncedContentAndSize) {
  auto synced = Pattern(10000, 1);
  auto file = DurableFile("f", synced);
  // Overwrite the middle, extend, shrink, extend again; one more handle too.
  ASSERT_TRUE(file->WriteAt(4000, Pattern(3000, 2)).ok());
  ASSERT_TRUE(file->WriteAt(9000, Pattern(5000, 3)).ok());
  ASSERT_TRUE(file->Truncate(6000).ok());
  Result<std::unique_ptr<File>> other = fs_.Open(dir_.File("f"), {});
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->WriteAt(20000, Pattern(100, 4)).ok());
  ASSERT_EQ(*file->Size(), 20100u);

  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(OnDisk("f"), synced);
  // Handles stay usable, and what is synced now survives the next crash.
  ASSERT_TRUE(file->WriteAt(0, Pattern(10, 5)).ok());
  ASSERT_TRUE((*other)->Sync().ok());
  ASSERT_TRUE(file->WriteAt(10, Pattern(10, 6)).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  auto expected = synced;
  auto head = Pattern(10, 5);
  std::copy(head.begin(), head.end(), expected.begin());
  EXPECT_EQ(OnDisk("f"), expected);
}

TEST_F(FaultInjectionTest, TornLastWriteKeepsExactlyHalf) {
  auto synced = Pattern(8192, 1);
  auto file = DurableFile("f", synced);
  ASSERT_TRUE(file->WriteAt(0, Pattern(8192, 2)).ok());  // undone entirely
  auto last = Pattern(8192, 3);
  ASSERT_TRUE(file->WriteAt(0, last).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData({.tear_last_write = true}).ok());
  auto expected = synced;
  std::copy(last.begin(), last.begin() + 4096, expected.begin());
  EXPECT_EQ(OnDisk("f"), expected);
}

TEST_F(FaultInjectionTest, TornWriteKeepsTheChosenBytesAndExtendsOnlyThatFar) {
  auto synced = Pattern(8192, 1);
  auto file = DurableFile("f", synced);
  auto appended = Pattern(8192, 2);
  ASSERT_TRUE(file->WriteAt(8192, appended).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData({.tear_last_write = true, .torn_bytes = 512}).ok());
  auto expected = synced;
  expected.insert(expected.end(), appended.begin(), appended.begin() + 512);
  EXPECT_EQ(OnDisk("f"), expected);
}

TEST_F(FaultInjectionTest, CrashAfterKOperationsStopsEverything) {
  auto file = OpenFile("f");
  fs_.SetCrashAfter(3);
  ASSERT_TRUE(file->WriteAt(0, Pattern(10, 1)).ok());
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_FALSE(fs_.crashed());
  ASSERT_TRUE(file->WriteAt(10, Pattern(10, 2)).ok()) << "the 3rd operation still happens";
  EXPECT_TRUE(fs_.crashed());

  std::vector<std::byte> buf(5);
  const Status crash = Status::IOError("simulated crash");
  EXPECT_EQ(file->WriteAt(0, Pattern(10, 3)).ToString(), crash.ToString());
  EXPECT_EQ(file->ReadAt(0, buf).ToString(), crash.ToString());
  EXPECT_EQ(file->Sync().ToString(), crash.ToString());
  EXPECT_EQ(file->Truncate(0).ToString(), crash.ToString());
  EXPECT_EQ(file->Size().status().ToString(), crash.ToString());
  EXPECT_EQ(fs_.Open(dir_.File("g"), {.create = true}).status().ToString(), crash.ToString());
  EXPECT_EQ(fs_.SyncDir(dir_.path()).ToString(), crash.ToString());
  EXPECT_EQ(fs_.Exists(dir_.File("f")).status().ToString(), crash.ToString());
  EXPECT_EQ(fs_.ListDir(dir_.path()).status().ToString(), crash.ToString());
  EXPECT_EQ(fs_.Rename(dir_.File("f"), dir_.File("h")).ToString(), crash.ToString());
  EXPECT_EQ(fs_.Remove(dir_.File("f")).ToString(), crash.ToString());

  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs_.crashed());
  EXPECT_FALSE(*fs_.Exists(dir_.File("f"))) << "its name was never synced";
}

TEST_F(FaultInjectionTest, CrashAfterZeroIsImmediate) {
  fs_.SetCrashAfter(0);
  EXPECT_TRUE(fs_.crashed());
  EXPECT_FALSE(fs_.Open(dir_.File("f"), {.create = true}).ok());
}

TEST_F(FaultInjectionTest, CreatedFileNeedsItsDirectorySynced) {
  auto kept = OpenFile("kept");
  ASSERT_TRUE(kept->WriteAt(0, Pattern(10, 1)).ok());
  ASSERT_TRUE(kept->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.path() + "/").ok()) << "trailing slash names the same directory";

  auto lost = OpenFile("lost");
  ASSERT_TRUE(lost->WriteAt(0, Pattern(10, 2)).ok());
  ASSERT_TRUE(lost->Sync().ok()) << "syncing the file does not make its name durable";
  auto moved = OpenFile("tmp");
  ASSERT_TRUE(moved->WriteAt(0, Pattern(10, 3)).ok());
  ASSERT_TRUE(moved->Sync().ok());
  ASSERT_TRUE(fs_.Rename(dir_.File("tmp"), dir_.File("final")).ok());

  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(OnDisk("kept"), Pattern(10, 1));
  EXPECT_EQ(OnDisk("lost"), std::nullopt);
  EXPECT_EQ(OnDisk("final"), std::nullopt) << "renaming an undurable file keeps it undurable";
  EXPECT_EQ(OnDisk("tmp"), std::nullopt);
}

TEST_F(FaultInjectionTest, RenamedFileKeepsItsUnsyncedWrites) {
  auto synced = Pattern(100, 1);
  auto file = DurableFile("old", synced);
  ASSERT_TRUE(file->WriteAt(0, Pattern(100, 2)).ok());
  ASSERT_TRUE(fs_.Rename(dir_.File("old"), dir_.File("new")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(OnDisk("new"), synced);
}

TEST_F(FaultInjectionTest, FaultsHitBatchedWrites) {
  auto file = OpenFile("f");
  fs_.FailWrite(2, ENOSPC, /*sticky=*/false);
  std::vector<std::vector<std::byte>> buffers = {Pattern(10, 1), Pattern(10, 2), Pattern(10, 3)};
  std::vector<IoRequest> batch(3);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].op = IoRequest::Op::kWrite;
    batch[i].offset = 10 * i;
    batch[i].data = buffers[i];
  }
  Status s = file->SubmitBatch(batch);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(batch[0].result.ok());
  EXPECT_TRUE(batch[1].result.IsIOError());
  EXPECT_TRUE(batch[2].result.ok());
  EXPECT_EQ(fs_.write_count(), 3u);
  std::vector<std::byte> middle(10);
  ASSERT_TRUE(file->ReadAt(10, middle).ok());
  EXPECT_EQ(middle, std::vector<std::byte>(10, std::byte{0})) << "the failed write left a hole";
}

// The use the wrapper exists for: crash a small workload after every one of
// its write and sync operations in turn, and check that what survives is
// exactly what was synced last.
TEST_F(FaultInjectionTest, CrashAtEveryOperationOfAWorkload) {
  // Returns the number of write and sync operations, and in `durable` what
  // the file must hold after a crash (nullopt: the file must not exist).
  auto workload = [&](std::optional<std::vector<std::byte>>* durable) {
    *durable = std::nullopt;
    Result<std::unique_ptr<File>> opened = fs_.Open(dir_.File("w"), {.create = true});
    if (!opened.ok()) return;
    File& file = **opened;
    std::vector<std::byte> current;
    auto write = [&](uint64_t offset, size_t n, uint64_t tag) {
      auto data = Pattern(n, tag);
      if (!file.WriteAt(offset, data).ok()) return false;
      if (current.size() < offset + n) current.resize(offset + n);
      std::copy(data.begin(), data.end(), current.begin() + static_cast<ptrdiff_t>(offset));
      return true;
    };
    bool name_durable = false;
    auto sync = [&] {
      if (!file.Sync().ok()) return false;
      if (name_durable) *durable = current;
      return true;
    };
    if (!write(0, 4096, 1) || !sync()) return;
    if (!fs_.SyncDir(dir_.path()).ok()) return;
    name_durable = true;
    *durable = current;
    if (!write(4096, 4096, 2) || !write(0, 100, 3) || !sync()) return;
    if (!write(8192, 4096, 4) || !write(4096, 4096, 5) || !sync()) return;
    (void)write(0, 4096, 6);
  };

  std::optional<std::vector<std::byte>> durable;
  workload(&durable);
  const uint64_t total = fs_.write_count() + fs_.sync_count();
  ASSERT_EQ(total, 10u);
  ASSERT_TRUE(fs_.Remove(dir_.File("w")).ok());

  for (uint64_t k = 0; k <= total; ++k) {
    SCOPED_TRACE("crash after " + std::to_string(k) + " operations");
    fs_.SetCrashAfter(k);
    workload(&durable);
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
    EXPECT_EQ(OnDisk("w"), durable);
    if (OnDisk("w")) {
      ASSERT_TRUE(fs_.Remove(dir_.File("w")).ok());
    }
  }
}

}  // namespace
}  // namespace mvdb
