// Helpers shared by the io tests: temporary directories, seeds, byte
// patterns, and the list of file systems every backend test runs against.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "io/fault_injection_file_system.h"
#include "io/file.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::testing_io {

// A fresh directory, removed with everything in it on destruction.
class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("io") {}
};

inline uint64_t TestSeed() { return testing::TestSeed(20240601); }

// `n` bytes that depend on `tag` and on their position, so a byte landing
// at the wrong offset or from the wrong write is noticed.
inline std::vector<std::byte> Pattern(size_t n, uint64_t tag) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 131 + tag * 977 + 7) % 251);
  return out;
}

enum class Backend { kPosix, kUring, kUringTinyQueue, kFaultOverPosix };

inline std::string BackendName(Backend b) {
  switch (b) {
    case Backend::kPosix:
      return "Posix";
    case Backend::kUring:
      return "Uring";
    case Backend::kUringTinyQueue:
      return "UringQueueDepth4";
    case Backend::kFaultOverPosix:
      return "FaultOverPosix";
  }
  return "Unknown";
}

// A file system under test, with whatever it wraps.
struct FsUnderTest {
  std::unique_ptr<FileSystem> base;
  std::unique_ptr<FaultInjectionFileSystem> fault;
  FileSystem* fs = nullptr;
};

// NotSupported when the backend is io_uring and the kernel refuses it.
inline Result<FsUnderTest> MakeFileSystem(Backend backend) {
  FsUnderTest out;
  switch (backend) {
    case Backend::kPosix:
    case Backend::kFaultOverPosix:
      out.base = NewPosixFileSystem();
      break;
    case Backend::kUring:
    case Backend::kUringTinyQueue: {
      // A queue of 4 makes every batch of more than 4 requests span several
      // rounds of submission.
      MVDB_ASSIGN_OR_RETURN(out.base, NewUringFileSystem(backend == Backend::kUring ? 64 : 4));
      break;
    }
  }
  out.fs = out.base.get();
  if (backend == Backend::kFaultOverPosix) {
    out.fault = std::make_unique<FaultInjectionFileSystem>(out.base.get());
    out.fs = out.fault.get();
  }
  return out;
}

inline const std::vector<Backend>& AllBackends() {
  static const std::vector<Backend> kAll = {Backend::kPosix, Backend::kUring,
                                            Backend::kUringTinyQueue, Backend::kFaultOverPosix};
  return kAll;
}

inline std::vector<std::byte> ReadAll(File& file) {
  Result<uint64_t> size = file.Size();
  EXPECT_TRUE(size.ok()) << size.status().ToString();
  if (!size.ok()) return {};
  std::vector<std::byte> out(*size);
  Status s = file.ReadAt(0, out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

}  // namespace mvdb::testing_io
