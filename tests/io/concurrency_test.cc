// Many threads on one File at disjoint offsets, on every backend (run under
// ThreadSanitizer in CI).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "io/file.h"
#include "io_test_util.h"

namespace mvdb {
namespace {

using testing_io::Backend;
using testing_io::Pattern;

constexpr int kThreads = 4;
constexpr size_t kBlock = 4096;
constexpr size_t kBlocksPerThread = 64;
constexpr size_t kBatch = 8;

// Block b of the file belongs to thread b % kThreads.
uint64_t BlockOffset(int thread, size_t i) { return (i * kThreads + thread) * kBlock; }

class ConcurrencyTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    Result<testing_io::FsUnderTest> made = testing_io::MakeFileSystem(GetParam());
    if (!made.ok() && made.status().code() == StatusCode::kNotSupported) {
      GTEST_SKIP() << "io_uring is not available here: " << made.status().ToString();
    }
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    under_test_ = std::move(*made);
  }

  testing_io::TempDir dir_;
  testing_io::FsUnderTest under_test_;
};

TEST_P(ConcurrencyTest, WritersAtDisjointOffsetsThenVerify) {
  FileSystem* fs = under_test_.fs;
  Result<std::unique_ptr<File>> opened = fs->Open(dir_.File("shared"), {.create = true});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  File& file = **opened;

  // Each thread writes its blocks: half one by one, half in batches, syncing
  // now and then, then reads them back while the others are still writing.
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const std::string& what, const Status& s) {
        if (errors[t].empty()) errors[t] = what + ": " + s.ToString();
      };
      for (size_t i = 0; i < kBlocksPerThread / 2; ++i) {
        Status s = file.WriteAt(BlockOffset(t, i), Pattern(kBlock, BlockOffset(t, i)));
        if (!s.ok()) fail("WriteAt", s);
        if (i % 8 == 7 && !(s = file.Sync()).ok()) fail("Sync", s);
      }
      for (size_t first = kBlocksPerThread / 2; first < kBlocksPerThread; first += kBatch) {
        std::vector<std::vector<std::byte>> buffers;
        buffers.reserve(kBatch);  // the requests point into these buffers
        std::vector<IoRequest> batch(kBatch);
        for (size_t j = 0; j < kBatch; ++j) {
          uint64_t offset = BlockOffset(t, first + j);
          buffers.push_back(Pattern(kBlock, offset));
          batch[j].op = IoRequest::Op::kWrite;
          batch[j].offset = offset;
          batch[j].data = buffers.back();
        }
        if (Status s = file.SubmitBatch(batch); !s.ok()) fail("SubmitBatch", s);
      }
      std::vector<std::byte> back(kBlock);
      for (size_t i = 0; i < kBlocksPerThread; ++i) {
        Status s = file.ReadAt(BlockOffset(t, i), back);
        if (!s.ok()) {
          fail("ReadAt", s);
        } else if (back != Pattern(kBlock, BlockOffset(t, i))) {
          fail("block " + std::to_string(i) + " of thread " + std::to_string(t), Status::OK());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;

  ASSERT_EQ(*file.Size(), kThreads * kBlocksPerThread * kBlock);
  std::vector<std::byte> back(kBlock);
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < kBlocksPerThread; ++i) {
      ASSERT_TRUE(file.ReadAt(BlockOffset(t, i), back).ok());
      ASSERT_EQ(back, Pattern(kBlock, BlockOffset(t, i))) << "thread " << t << " block " << i;
    }
  }
  FileSystemStats stats = fs->stats();
  EXPECT_GE(stats.writes, kThreads * kBlocksPerThread);
  EXPECT_GE(stats.batches, kThreads * kBlocksPerThread / 2 / kBatch);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrencyTest, ::testing::ValuesIn(testing_io::AllBackends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing_io::BackendName(info.param);
                         });

}  // namespace
}  // namespace mvdb
