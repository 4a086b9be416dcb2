// Helpers shared by the write-ahead log tests: temporary directories,
// seeds, payloads, reading a whole log back, and (from tests/testing/) the
// file system wrapper that lets a test slow down, hold back or skip
// fdatasync.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/file.h"
#include "tests/testing/sync_control_file_system.h"
#include "tests/testing/temp_dir.h"
#include "wal/log_reader.h"
#include "wal/wal.h"

namespace mvdb::testing_wal {

class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("wal") {}
};

inline uint64_t TestSeed() { return testing::TestSeed(20240611); }

// `n` bytes that depend on `tag` and their position.
inline std::vector<std::byte> Payload(size_t n, uint64_t tag) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<std::byte>((i * 131 + tag * 977 + (tag >> 8) * 13 + 7) % 251);
  }
  return out;
}

struct ReadRecord {
  Lsn lsn = 0;
  uint8_t type = 0;
  std::vector<std::byte> payload;
};

struct ReadLog {
  std::vector<ReadRecord> records;
  LogEnd end;
};

// Every record from `start` to the end of the log in `dir`.
inline Result<ReadLog> ReadWholeLog(FileSystem* fs, const std::string& dir, Lsn start) {
  MVDB_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, LogReader::Open(fs, dir, start));
  ReadLog out;
  LogRecord record;
  while (true) {
    MVDB_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    out.records.push_back(
        {record.lsn, record.type, {record.payload.begin(), record.payload.end()}});
  }
  out.end = reader->end();
  return out;
}

using testing::SyncControlFileSystem;

// Polls `done` until it holds or `timeout` passes; returns whether it held.
template <typename Pred>
bool WaitUntil(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// True when `s` failed with a message containing `text`.
inline bool Contains(const Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

}  // namespace mvdb::testing_wal
