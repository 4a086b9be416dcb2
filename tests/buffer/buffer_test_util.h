// Test helpers for the buffer layer: an in-memory PageStore that counts
// batches and injects faults, and page stamping.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "buffer/page.h"
#include "buffer/page_store.h"
#include "common/coding.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::testing {

// Behaves as DirectPageStore does (seals on write, verifies on read, pages
// never written read as zeros), but keeps the pages in a map.
class MemPageStore final : public PageStore {
 public:
  explicit MemPageStore(std::string path = "mem.mvdb") : path_(std::move(path)) {}

  Status ReadPages(std::span<PageRead> pages) override {
    std::chrono::microseconds delay;
    {
      std::lock_guard lock(mu_);
      ++read_batches_;
      pages_read_ += pages.size();
      delay = read_delay_;
    }
    // Outside the lock, so concurrent loads of other pages overlap.
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard lock(mu_);
    Status first;
    for (PageRead& page : pages) {
      if (fail_reads_) {
        page.result = Status::IOError(path_ + ": injected read failure");
      } else {
        auto it = pages_.find(page.id);
        if (it == pages_.end()) {
          std::memset(page.data.data(), 0, kPageSize);
        } else {
          std::memcpy(page.data.data(), it->second.data(), kPageSize);
        }
        page.result = VerifyPage(page.data, page.id, path_, page.id * kPageSize);
      }
      if (!page.result.ok() && first.ok()) first = page.result;
    }
    return first;
  }

  Status WritePages(std::span<PageWrite> pages) override {
    std::lock_guard lock(mu_);
    if (fail_writes_) return Status::IOError(path_ + ": injected write failure");
    write_batch_sizes_.push_back(pages.size());
    for (PageWrite& page : pages) {
      SealPage(page.data);
      std::vector<std::byte>& image = pages_[page.id];
      image.assign(page.data.begin(), page.data.end());
    }
    return Status::OK();
  }

  Status Sync() override {
    std::lock_guard lock(mu_);
    ++syncs_;
    return Status::OK();
  }

  const std::string& path() const override { return path_; }
  std::string PageLocation(PageId id) const override {
    return path_ + ": page " + std::to_string(id) + " at offset " + std::to_string(id * kPageSize);
  }

  // Faults and corruption.
  void SetFailWrites(bool fail) {
    std::lock_guard lock(mu_);
    fail_writes_ = fail;
  }
  void SetFailReads(bool fail) {
    std::lock_guard lock(mu_);
    fail_reads_ = fail;
  }
  void SetReadDelay(std::chrono::microseconds delay) {
    std::lock_guard lock(mu_);
    read_delay_ = delay;
  }
  void FlipByte(PageId id, size_t offset) {
    std::lock_guard lock(mu_);
    pages_[id].resize(kPageSize);
    pages_[id][offset] ^= std::byte{0x5a};
  }
  // Stores `image` as is: no sealing.
  void PutRaw(PageId id, std::span<const std::byte> image) {
    std::lock_guard lock(mu_);
    pages_[id].assign(image.begin(), image.end());
  }

  // Observations.
  bool Has(PageId id) const {
    std::lock_guard lock(mu_);
    return pages_.count(id) != 0;
  }
  std::vector<std::byte> Image(PageId id) const {
    std::lock_guard lock(mu_);
    auto it = pages_.find(id);
    return it == pages_.end() ? std::vector<std::byte>(kPageSize) : it->second;
  }
  std::vector<size_t> write_batch_sizes() const {
    std::lock_guard lock(mu_);
    return write_batch_sizes_;
  }
  uint64_t read_batches() const {
    std::lock_guard lock(mu_);
    return read_batches_;
  }
  uint64_t pages_read() const {
    std::lock_guard lock(mu_);
    return pages_read_;
  }
  uint64_t syncs() const {
    std::lock_guard lock(mu_);
    return syncs_;
  }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::map<PageId, std::vector<std::byte>> pages_;
  std::vector<size_t> write_batch_sizes_;
  uint64_t read_batches_ = 0;
  uint64_t pages_read_ = 0;
  uint64_t syncs_ = 0;
  bool fail_writes_ = false;
  bool fail_reads_ = false;
  std::chrono::microseconds read_delay_{0};
};

// Page content that names its page and a version, so a test can tell a
// page's bytes from any other page's or an older version's.
inline void Stamp(std::span<std::byte> page, PageId id, uint64_t version) {
  std::byte* body = page.data() + kPageHeaderSize;
  EncodeFixed64(body, id);
  EncodeFixed64(body + 8, version);
  for (size_t i = 16; i + kPageHeaderSize < kPageSize; ++i) {
    body[i] = static_cast<std::byte>((id * 31 + version * 7 + i) & 0xff);
  }
}

// True when `page` carries Stamp(id, version).
inline bool HasStamp(std::span<const std::byte> page, PageId id, uint64_t version) {
  std::vector<std::byte> expected(page.begin(), page.end());
  Stamp(expected, id, version);
  return std::memcmp(expected.data(), page.data(), kPageSize) == 0;
}

// A sealed page image of `type` stamped with (id, version), as the store
// would hold it after a write-back.
inline std::vector<std::byte> SealedImage(PageId id, PageType type, uint64_t version) {
  std::vector<std::byte> image(kPageSize);
  PageView(image).Format(id, type);
  Stamp(image, id, version);
  SealPage(image);
  return image;
}

// Success when `status` failed with a message containing `text`.
inline ::testing::AssertionResult MessageContains(const Status& status, std::string_view text) {
  if (!status.ok() && status.message().find(text) != std::string_view::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << status.ToString() << " does not contain \"" << text << "\"";
}

}  // namespace mvdb::testing
