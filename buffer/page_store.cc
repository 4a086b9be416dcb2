#include "buffer/page_store.h"

#include <atomic>
#include <cstring>
#include <vector>

namespace mvdb {

std::string PageStore::PageLocation(PageId id) const {
  return path() + ": page " + std::to_string(id);
}

namespace {

// The largest id whose byte range [id * kPageSize, (id + 1) * kPageSize)
// still fits in a 64-bit offset.
constexpr PageId kMaxDirectPageId = UINT64_MAX / kPageSize - 1;

class DirectPageStore final : public PageStore {
 public:
  explicit DirectPageStore(File* file) : file_(file) {}

  Status ReadPages(std::span<PageRead> pages) override;
  Status WritePages(std::span<PageWrite> pages) override;
  Status Sync() override { return file_->Sync(); }
  const std::string& path() const override { return file_->path(); }
  std::string PageLocation(PageId id) const override {
    return path() + ": page " + std::to_string(id) + " at offset " + std::to_string(id * kPageSize);
  }

 private:
  static uint64_t OffsetOf(PageId id) { return id * kPageSize; }
  Status CheckRequest(PageId id, size_t size) const;
  // The file's size, asking the file system only when `needed` lies beyond
  // what is already known: only this store writes the file, so it never
  // shrinks under us and the cached value can only be too small.
  Result<uint64_t> SizeCovering(uint64_t needed);
  void NoteWritten(uint64_t end);

  File* file_;
  std::atomic<uint64_t> known_size_{0};
};

Status DirectPageStore::CheckRequest(PageId id, size_t size) const {
  if (id > kMaxDirectPageId) {
    return Status::InvalidArgument(path() + ": page id " + std::to_string(id) + " out of range");
  }
  if (size != kPageSize) {
    return Status::InvalidArgument(path() + ": page buffer of " + std::to_string(size) +
                                   " bytes, expected " + std::to_string(kPageSize));
  }
  return Status::OK();
}

Result<uint64_t> DirectPageStore::SizeCovering(uint64_t needed) {
  uint64_t known = known_size_.load(std::memory_order_acquire);
  if (known >= needed) return known;
  MVDB_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  NoteWritten(size);
  return size;
}

void DirectPageStore::NoteWritten(uint64_t end) {
  uint64_t known = known_size_.load(std::memory_order_relaxed);
  while (known < end && !known_size_.compare_exchange_weak(known, end, std::memory_order_acq_rel)) {
  }
}

Status DirectPageStore::ReadPages(std::span<PageRead> pages) {
  uint64_t highest_end = 0;
  for (PageRead& page : pages) {
    page.result = CheckRequest(page.id, page.data.size());
    if (page.result.ok()) highest_end = std::max(highest_end, OffsetOf(page.id) + kPageSize);
  }
  auto size_or = SizeCovering(highest_end);
  if (!size_or.ok()) {
    for (PageRead& page : pages) {
      if (page.result.ok()) page.result = size_or.status();
    }
    return size_or.status();
  }
  const uint64_t file_size = *size_or;

  std::vector<IoRequest> requests;
  std::vector<size_t> request_page;  // index into `pages` of each request
  requests.reserve(pages.size());
  request_page.reserve(pages.size());
  for (size_t i = 0; i < pages.size(); ++i) {
    PageRead& page = pages[i];
    if (!page.result.ok()) continue;
    const uint64_t offset = OffsetOf(page.id);
    // A page the file does not reach was allocated but never written back:
    // it reads as zeros, which VerifyPage accepts as a free page. A page the
    // file reaches only partly (a torn extension) gets the bytes that exist
    // and zeros after them, so its checksum reports it.
    std::memset(page.data.data(), 0, kPageSize);
    if (offset >= file_size) continue;
    const size_t present = static_cast<size_t>(std::min<uint64_t>(kPageSize, file_size - offset));
    IoRequest request;
    request.op = IoRequest::Op::kRead;
    request.offset = offset;
    request.data = page.data.first(present);
    requests.push_back(request);
    request_page.push_back(i);
  }
  if (!requests.empty()) {
    // Per-request results are what count; the batch status repeats the first.
    (void)file_->SubmitBatch(requests);
  }
  for (size_t r = 0; r < requests.size(); ++r) {
    pages[request_page[r]].result = requests[r].result;
  }

  Status first_failure;
  for (PageRead& page : pages) {
    if (page.result.ok()) {
      page.result = VerifyPage(page.data, page.id, path(), OffsetOf(page.id));
    }
    if (!page.result.ok() && first_failure.ok()) first_failure = page.result;
  }
  return first_failure;
}

Status DirectPageStore::WritePages(std::span<PageWrite> pages) {
  std::vector<IoRequest> requests;
  requests.reserve(pages.size());
  uint64_t highest_end = 0;
  for (PageWrite& page : pages) {
    MVDB_RETURN_IF_ERROR(CheckRequest(page.id, page.data.size()));
    SealPage(page.data);
    IoRequest request;
    request.op = IoRequest::Op::kWrite;
    request.offset = OffsetOf(page.id);
    request.data = page.data;
    requests.push_back(request);
    highest_end = std::max(highest_end, request.offset + kPageSize);
  }
  if (requests.empty()) return Status::OK();
  MVDB_RETURN_IF_ERROR(file_->SubmitBatch(requests));
  NoteWritten(highest_end);
  return Status::OK();
}

}  // namespace

std::unique_ptr<PageStore> NewDirectPageStore(File* file) {
  return std::make_unique<DirectPageStore>(file);
}

}  // namespace mvdb
