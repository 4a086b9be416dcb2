// The contract of io/file.h, run against every backend: POSIX, io_uring
// (with a normal and a tiny queue) and the fault-injection wrapper with no
// faults armed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "io/file.h"
#include "io_test_util.h"

namespace mvdb {
namespace {

using testing_io::Backend;
using testing_io::Pattern;
using testing_io::TempDir;

class FileSystemTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    Result<testing_io::FsUnderTest> made = testing_io::MakeFileSystem(GetParam());
    if (!made.ok() && made.status().code() == StatusCode::kNotSupported) {
      GTEST_SKIP() << "io_uring is not available here: " << made.status().ToString();
    }
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    under_test_ = std::move(*made);
    fs_ = under_test_.fs;
  }

  std::unique_ptr<File> OpenFile(const std::string& name, OpenOptions options = {.create = true}) {
    Result<std::unique_ptr<File>> file = fs_->Open(dir_.File(name), options);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(*file) : nullptr;
  }

  TempDir dir_;
  testing_io::FsUnderTest under_test_;
  FileSystem* fs_ = nullptr;
};

TEST_P(FileSystemTest, NameSaysWhichBackend) {
  switch (GetParam()) {
    case Backend::kPosix:
      EXPECT_EQ(fs_->name(), "posix");
      break;
    case Backend::kUring:
    case Backend::kUringTinyQueue:
      EXPECT_EQ(fs_->name(), "io_uring");
      break;
    case Backend::kFaultOverPosix:
      EXPECT_EQ(fs_->name(), "fault(posix)");
      break;
  }
}

TEST_P(FileSystemTest, WriteReadRoundTripAtVariousOffsets) {
  auto file = OpenFile("data");
  ASSERT_NE(file, nullptr);
  struct Case {
    uint64_t offset;
    size_t length;
  };
  // Disjoint: unaligned, page-straddling, beyond the end (a hole), past 4 GiB.
  const Case cases[] = {{0, 1},
                        {1, 100},
                        {4095, 2},
                        {8192, 4096},
                        {16383, 10000},
                        {1 << 20, 65536},
                        {(1ull << 32) + 7, 333}};
  uint64_t tag = 1;
  uint64_t end = 0;
  for (const Case& c : cases) {
    auto data = Pattern(c.length, tag++);
    ASSERT_TRUE(file->WriteAt(c.offset, data).ok());
    end = std::max(end, c.offset + c.length);
  }
  tag = 1;
  for (const Case& c : cases) {
    std::vector<std::byte> back(c.length);
    ASSERT_TRUE(file->ReadAt(c.offset, back).ok()) << "offset " << c.offset;
    EXPECT_EQ(back, Pattern(c.length, tag++)) << "offset " << c.offset;
  }
  Result<uint64_t> size = file->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, end);
  // The hole between 1 MiB + 64 KiB and 4 GiB reads as zeros.
  std::vector<std::byte> hole(512, std::byte{0xff});
  ASSERT_TRUE(file->ReadAt(1ull << 31, hole).ok());
  EXPECT_EQ(hole, std::vector<std::byte>(512, std::byte{0}));
}

TEST_P(FileSystemTest, LargeTransferInOneRequest) {
  auto file = OpenFile("large");
  ASSERT_NE(file, nullptr);
  auto data = Pattern(8 << 20, 9);
  ASSERT_TRUE(file->WriteAt(12345, data).ok());
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE(file->ReadAt(12345, back).ok());
  EXPECT_EQ(back, data);
}

TEST_P(FileSystemTest, BatchOfTwoHundredMixedRequests) {
  const uint64_t seed = testing_io::TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr size_t kBlock = 4096;
  constexpr size_t kBlocks = 256;
  auto file = OpenFile("batch");
  ASSERT_NE(file, nullptr);
  std::vector<std::byte> model = Pattern(kBlock * kBlocks, 0);
  ASSERT_TRUE(file->WriteAt(0, model).ok());

  // Each request stays inside its own block, so no two requests of the
  // batch overlap and the result does not depend on their order.
  std::vector<size_t> blocks(kBlocks);
  std::iota(blocks.begin(), blocks.end(), 0);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  std::vector<std::vector<std::byte>> buffers(200);
  std::vector<IoRequest> requests(200);
  for (size_t i = 0; i < requests.size(); ++i) {
    size_t length = 1 + rng() % kBlock;
    uint64_t offset = blocks[i] * kBlock + rng() % (kBlock - length + 1);
    bool write = rng() % 2 == 0;
    buffers[i] = write ? Pattern(length, 1000 + i) : std::vector<std::byte>(length);
    requests[i].op = write ? IoRequest::Op::kWrite : IoRequest::Op::kRead;
    requests[i].offset = offset;
    requests[i].data = buffers[i];
  }
  FileSystemStats before = fs_->stats();
  ASSERT_TRUE(file->SubmitBatch(requests).ok());
  FileSystemStats after = fs_->stats();
  EXPECT_EQ(after.batches, before.batches + 1);
  EXPECT_EQ(after.reads + after.writes, before.reads + before.writes + requests.size());

  for (size_t i = 0; i < requests.size(); ++i) {
    const IoRequest& r = requests[i];
    ASSERT_TRUE(r.result.ok()) << i << ": " << r.result.ToString();
    auto at = model.begin() + static_cast<ptrdiff_t>(r.offset);
    if (r.op == IoRequest::Op::kRead) {
      EXPECT_TRUE(std::equal(buffers[i].begin(), buffers[i].end(), at)) << "request " << i;
    } else {
      std::copy(buffers[i].begin(), buffers[i].end(), at);
    }
  }
  EXPECT_EQ(testing_io::ReadAll(*file), model);
}

// OpenOptions::map_reads: reads copy from a mapping of the file, yet see
// every write (through this handle or another), the file growing past the
// first mapping, and end of file exactly as the system-call path does,
// also after a truncation.
TEST_P(FileSystemTest, MappedReadsSeeWritesGrowthAndTheEndOfTheFile) {
  auto file = OpenFile("mapped", {.create = true, .map_reads = true});
  ASSERT_NE(file, nullptr);
  const std::vector<std::byte> first = Pattern(3 * 8192, 1);
  ASSERT_TRUE(file->WriteAt(0, first).ok());
  std::vector<std::byte> buf(8192);
  ASSERT_TRUE(file->ReadAt(8192, buf).ok());
  EXPECT_EQ(buf, std::vector<std::byte>(first.begin() + 8192, first.begin() + 2 * 8192));
  // An overwrite is visible to the next mapped read.
  ASSERT_TRUE(file->WriteAt(8192, Pattern(8192, 2)).ok());
  ASSERT_TRUE(file->ReadAt(8192, buf).ok());
  EXPECT_EQ(buf, Pattern(8192, 2));

  // Growth past the first mapping (64 MiB), written in a batch.
  const uint64_t far = uint64_t{100} << 20;
  std::vector<std::byte> far_data = Pattern(8192, 3);
  std::vector<IoRequest> writes(1);
  writes[0].op = IoRequest::Op::kWrite;
  writes[0].offset = far;
  writes[0].data = far_data;
  ASSERT_TRUE(file->SubmitBatch(writes).ok());
  ASSERT_TRUE(file->ReadAt(far, buf).ok());
  EXPECT_EQ(buf, Pattern(8192, 3));

  // Another handle extends the file: this one learns the size on demand.
  {
    auto other = OpenFile("mapped", {});
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(other->WriteAt(far + 8192, Pattern(8192, 4)).ok());
  }
  ASSERT_TRUE(file->ReadAt(far + 8192, buf).ok());
  EXPECT_EQ(buf, Pattern(8192, 4));

  // In a batch of mapped reads only the one past the end fails.
  std::vector<std::byte> a(8192), b(8192), c(8192);
  std::vector<IoRequest> reads(3);
  reads[0].offset = 0;
  reads[0].data = a;
  reads[1].offset = far;
  reads[1].data = b;
  reads[2].offset = far + 3 * 8192;
  reads[2].data = c;
  EXPECT_TRUE(file->SubmitBatch(reads).IsCorruption());
  EXPECT_TRUE(reads[0].result.ok()) << reads[0].result.ToString();
  EXPECT_TRUE(reads[1].result.ok()) << reads[1].result.ToString();
  EXPECT_TRUE(reads[2].result.IsCorruption()) << reads[2].result.ToString();
  EXPECT_EQ(a, std::vector<std::byte>(first.begin(), first.begin() + 8192));
  EXPECT_EQ(b, Pattern(8192, 3));

  // After a truncation the removed bytes are past the end again: a
  // Corruption, as without the mapping, never a fault.
  ASSERT_TRUE(file->Truncate(8192).ok());
  Status past = file->ReadAt(8192, buf);
  EXPECT_TRUE(past.IsCorruption()) << past.ToString();
  EXPECT_NE(std::string(past.message()).find("got 0"), std::string::npos) << past.ToString();
  ASSERT_TRUE(file->ReadAt(0, buf).ok());
}

// A truncation behind the handle's back (another process, say) leaves the
// mapping longer than the file: the mapped copy faults (SIGBUS), and the
// read reports the missing bytes as the system-call path does instead of
// killing the process.
TEST_P(FileSystemTest, MappedReadOfBytesTruncatedElsewhereIsAnErrorNotACrash) {
  auto file = OpenFile("shrunk", {.create = true, .map_reads = true});
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->WriteAt(0, Pattern(4 * 8192, 5)).ok());
  std::vector<std::byte> buf(8192);
  ASSERT_TRUE(file->ReadAt(2 * 8192, buf).ok());  // mapped now
  ASSERT_EQ(::truncate(dir_.File("shrunk").c_str(), 8192), 0);
  Status gone = file->ReadAt(2 * 8192, buf);
  EXPECT_TRUE(gone.IsCorruption() || gone.IsIOError()) << gone.ToString();
  EXPECT_NE(std::string(gone.message()).find("got 0"), std::string::npos) << gone.ToString();
  ASSERT_TRUE(file->ReadAt(0, buf).ok());
  EXPECT_EQ(buf, Pattern(8192, 5));
}

TEST_P(FileSystemTest, ReadPastEndOfFileIsCorruption) {
  auto file = OpenFile("short");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->WriteAt(0, Pattern(100, 1)).ok());
  std::vector<std::byte> buf(200);
  Status s = file->ReadAt(50, buf);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  const std::string message(s.message());
  EXPECT_NE(message.find(dir_.File("short")), std::string::npos) << message;
  EXPECT_NE(message.find("at 50"), std::string::npos) << message;
  EXPECT_NE(message.find("wanted 200 bytes, got 50"), std::string::npos) << message;

  std::vector<std::byte> one(1);
  s = file->ReadAt(100, one);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(std::string(s.message()).find("got 0"), std::string::npos) << s.ToString();

  // In a batch only the request past the end fails; the rest complete.
  std::vector<std::byte> a(10), b(10), c(10);
  std::vector<IoRequest> batch(3);
  batch[0].offset = 0;
  batch[0].data = a;
  batch[1].offset = 95;
  batch[1].data = b;
  batch[2].offset = 90;
  batch[2].data = c;
  s = file->SubmitBatch(batch);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(batch[0].result.ok());
  EXPECT_TRUE(batch[1].result.IsCorruption());
  EXPECT_TRUE(batch[2].result.ok());
  auto expected = Pattern(100, 1);
  EXPECT_TRUE(std::equal(c.begin(), c.end(), expected.begin() + 90));
}

TEST_P(FileSystemTest, SizeAndTruncate) {
  auto file = OpenFile("sized");
  ASSERT_NE(file, nullptr);
  Result<uint64_t> size = file->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  ASSERT_TRUE(file->WriteAt(0, Pattern(10000, 2)).ok());
  EXPECT_EQ(*file->Size(), 10000u);
  ASSERT_TRUE(file->Truncate(4096).ok());
  EXPECT_EQ(*file->Size(), 4096u);
  std::vector<std::byte> buf(1);
  EXPECT_TRUE(file->ReadAt(4096, buf).IsCorruption());
  ASSERT_TRUE(file->Truncate(20000).ok());
  EXPECT_EQ(*file->Size(), 20000u);
  std::vector<std::byte> tail(20000 - 4096);
  ASSERT_TRUE(file->ReadAt(4096, tail).ok());
  EXPECT_EQ(tail, std::vector<std::byte>(tail.size(), std::byte{0}));
}

TEST_P(FileSystemTest, StatsCountEveryRequest) {
  auto file = OpenFile("stats");
  ASSERT_NE(file, nullptr);
  FileSystemStats before = fs_->stats();
  ASSERT_TRUE(file->WriteAt(0, Pattern(300, 1)).ok());
  std::vector<std::byte> buf(120);
  ASSERT_TRUE(file->ReadAt(10, buf).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Sync().ok());
  FileSystemStats after = fs_->stats();
  EXPECT_EQ(after.writes - before.writes, 1u);
  EXPECT_EQ(after.bytes_written - before.bytes_written, 300u);
  EXPECT_EQ(after.reads - before.reads, 1u);
  EXPECT_EQ(after.bytes_read - before.bytes_read, 120u);
  EXPECT_EQ(after.syncs - before.syncs, 2u);
  EXPECT_EQ(after.batches, before.batches);
}

TEST_P(FileSystemTest, NamespaceOperations) {
  const std::string sub = dir_.File("sub");
  ASSERT_TRUE(fs_->CreateDir(sub).ok());
  ASSERT_TRUE(fs_->CreateDir(sub).ok()) << "CreateDir of an existing directory is OK";
  EXPECT_TRUE(*fs_->Exists(sub));
  for (const char* name : {"b", "a", "c"}) {
    ASSERT_TRUE(fs_->Open(sub + "/" + name, {.create = true}).ok());
  }
  Result<std::vector<std::string>> names = fs_->ListDir(sub);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(fs_->SyncDir(sub).ok());

  ASSERT_TRUE(fs_->Rename(sub + "/a", sub + "/z").ok());
  EXPECT_FALSE(*fs_->Exists(sub + "/a"));
  EXPECT_TRUE(*fs_->Exists(sub + "/z"));
  ASSERT_TRUE(fs_->Remove(sub + "/b").ok());
  EXPECT_FALSE(*fs_->Exists(sub + "/b"));
  EXPECT_EQ(*fs_->ListDir(sub), (std::vector<std::string>{"c", "z"}));

  EXPECT_TRUE(fs_->Remove(sub + "/b").IsNotFound());
  EXPECT_TRUE(fs_->Rename(sub + "/b", sub + "/y").IsNotFound());
  EXPECT_TRUE(fs_->Open(sub + "/missing", {}).status().IsNotFound());
  EXPECT_TRUE(fs_->ListDir(dir_.File("nope")).status().IsNotFound());
  EXPECT_FALSE(fs_->Remove(sub).ok()) << "a directory that is not empty stays";

  ASSERT_TRUE(fs_->Remove(sub + "/c").ok());
  ASSERT_TRUE(fs_->Remove(sub + "/z").ok());
  ASSERT_TRUE(fs_->Remove(sub).ok());
  EXPECT_FALSE(*fs_->Exists(sub));
  ASSERT_TRUE(fs_->Open(dir_.File("plain"), {.create = true}).ok());
  EXPECT_FALSE(fs_->CreateDir(dir_.File("plain")).ok()) << "a file is in the way";
}

TEST_P(FileSystemTest, FailedWriteNamesFileAndOffset) {
  ASSERT_NE(OpenFile("ro"), nullptr);
  Result<std::unique_ptr<File>> ro = fs_->Open(dir_.File("ro"), {.read_only = true});
  ASSERT_TRUE(ro.ok());
  Status s = (*ro)->WriteAt(8192, Pattern(10, 1));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(s.message(), "pwrite " + dir_.File("ro") + " at 8192: Bad file descriptor");
}

TEST_P(FileSystemTest, DirectIoRoundTrip) {
  Result<std::unique_ptr<File>> file =
      fs_->Open(dir_.File("direct"), {.create = true, .direct_io = true});
  if (!file.ok() && file.status().message().find("Invalid argument") != std::string::npos) {
    GTEST_SKIP() << "this file system refuses O_DIRECT: " << file.status().ToString();
  }
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  constexpr size_t kSize = size_t{3} * 4096;
  struct FreeDeleter {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, FreeDeleter> out(
      static_cast<std::byte*>(std::aligned_alloc(4096, kSize)));
  std::unique_ptr<std::byte, FreeDeleter> in(
      static_cast<std::byte*>(std::aligned_alloc(4096, kSize)));
  auto data = Pattern(kSize, 5);
  std::copy(data.begin(), data.end(), out.get());
  ASSERT_TRUE((*file)->WriteAt(8192, std::span(out.get(), kSize)).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->ReadAt(8192, std::span(in.get(), kSize)).ok());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), in.get()));
}

TEST_P(FileSystemTest, LockFileIsExclusiveWithinTheProcess) {
  const std::string path = dir_.File("LOCK");
  Result<std::unique_ptr<FileLock>> lock = fs_->LockFile(path);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  std::ifstream recorded(path);
  std::string pid;
  recorded >> pid;
  EXPECT_EQ(pid, std::to_string(::getpid()));

  Result<std::unique_ptr<FileLock>> second = fs_->LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsBusy()) << second.status().ToString();
  EXPECT_EQ(second.status().message(),
            path + " is locked by process " + std::to_string(::getpid()));

  lock->reset();
  Result<std::unique_ptr<FileLock>> again = fs_->LockFile(path);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

// Exit codes of the child in LockFileIsExclusiveAcrossProcesses.
constexpr int kChildGotLock = 10;
constexpr int kChildBusyNamingParent = 11;
constexpr int kChildOtherResult = 12;

// Forks a child that tries the lock with a POSIX file system of its own (an
// inherited io_uring ring must not be used after fork) and returns its exit
// code.
int TryLockInChild(const std::string& path) {
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child == 0) {
    auto fs = NewPosixFileSystem();
    Result<std::unique_ptr<FileLock>> lock = fs->LockFile(path);
    int code = kChildOtherResult;
    if (lock.ok()) {
      code = kChildGotLock;
    } else if (lock.status().IsBusy() && lock.status().message() == path +
                                                                        " is locked by process " +
                                                                        std::to_string(parent)) {
      code = kChildBusyNamingParent;
    }
    ::_exit(code);
  }
  if (child < 0) return -1;
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_P(FileSystemTest, LockFileIsExclusiveAcrossProcesses) {
  const std::string path = dir_.File("LOCK");
  Result<std::unique_ptr<FileLock>> lock = fs_->LockFile(path);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(TryLockInChild(path), kChildBusyNamingParent);
  lock->reset();
  EXPECT_EQ(TryLockInChild(path), kChildGotLock);
}

INSTANTIATE_TEST_SUITE_P(Backends, FileSystemTest, ::testing::ValuesIn(testing_io::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing_io::BackendName(info.param);
                         });

}  // namespace
}  // namespace mvdb
