// ReadPageGuard and WritePageGuard: the RAII handles on a pinned, latched
// frame. Releasing one gives its latch and pin back to the pool.
#include "buffer/buffer_pool.h"
#include "buffer/frame.h"

namespace mvdb {

ReadPageGuard::ReadPageGuard(ReadPageGuard&& other) noexcept
    : pool_(other.pool_), frame_(other.frame_), id_(other.id_) {
  other.pool_ = nullptr;
  other.frame_ = nullptr;
  other.id_ = kInvalidPageId;
}

ReadPageGuard& ReadPageGuard::operator=(ReadPageGuard&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = other.pool_;
    frame_ = other.frame_;
    id_ = other.id_;
    other.pool_ = nullptr;
    other.frame_ = nullptr;
    other.id_ = kInvalidPageId;
  }
  return *this;
}

std::span<const std::byte> ReadPageGuard::data() const { return frame_->bytes(); }

void ReadPageGuard::Release() {
  if (frame_ == nullptr) return;
  pool_->ReleaseRead(frame_);
  pool_ = nullptr;
  frame_ = nullptr;
  id_ = kInvalidPageId;
}

WritePageGuard::WritePageGuard(WritePageGuard&& other) noexcept
    : pool_(other.pool_), frame_(other.frame_), id_(other.id_) {
  other.pool_ = nullptr;
  other.frame_ = nullptr;
  other.id_ = kInvalidPageId;
}

WritePageGuard& WritePageGuard::operator=(WritePageGuard&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = other.pool_;
    frame_ = other.frame_;
    id_ = other.id_;
    other.pool_ = nullptr;
    other.frame_ = nullptr;
    other.id_ = kInvalidPageId;
  }
  return *this;
}

std::span<const std::byte> WritePageGuard::data() const { return frame_->bytes(); }

std::span<std::byte> WritePageGuard::mutable_data() { return frame_->bytes(); }

void WritePageGuard::Release() {
  if (frame_ == nullptr) return;
  pool_->ReleaseWrite(frame_);
  pool_ = nullptr;
  frame_ = nullptr;
  id_ = kInvalidPageId;
}

}  // namespace mvdb
