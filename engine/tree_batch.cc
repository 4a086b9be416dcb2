// TreeBatch and the tree-name records: encoding and checked decoding of
// the payloads in engine/record_format.md.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "btree/btree.h"
#include "common/coding.h"
#include "engine/engine.h"
#include "engine/record_format.h"

namespace mvdb {

namespace {

std::byte* Bytes(std::string& s, size_t offset) {
  return reinterpret_cast<std::byte*>(s.data()) + offset;
}

Status Malformed(size_t offset, const std::string& what) {
  return Status::Corruption("malformed write batch at payload offset " + std::to_string(offset) +
                            ": " + what);
}

}  // namespace

std::string_view TreeBatch::Keep(std::string_view bytes) {
  if (bytes.empty()) return {};
  constexpr size_t kBlockSize = 64 << 10;
  if (bytes.size() > free_size_) {
    // A piece larger than a block gets a block of its own size.
    const size_t size = std::max(kBlockSize, bytes.size());
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
    free_ = blocks_.back().get();
    free_size_ = size;
  }
  char* at = free_;
  std::memcpy(at, bytes.data(), bytes.size());
  free_ += bytes.size();
  free_size_ -= bytes.size();
  return {at, bytes.size()};
}

void TreeBatch::Put(std::string_view tree, std::string_view key, std::string_view value) {
  const std::string_view kept_tree = Keep(tree);
  const std::string_view kept_key = Keep(key);
  ops_.push_back(Op{false, kept_tree, kept_key, Keep(value)});
}

void TreeBatch::PutMoved(std::string_view tree, std::string_view key, std::string&& value) {
  const std::string_view kept_tree = Keep(tree);
  const std::string_view kept_key = Keep(key);
  ops_.push_back(Op{false, kept_tree, kept_key, moved_.emplace_back(std::move(value))});
}

void TreeBatch::Delete(std::string_view tree, std::string_view key) {
  const std::string_view kept_tree = Keep(tree);
  ops_.push_back(Op{true, kept_tree, Keep(key), {}});
}

void TreeBatch::Clear() {
  ops_.clear();
  blocks_.clear();
  free_ = nullptr;
  free_size_ = 0;
  moved_.clear();
}

size_t TreeBatch::count() const { return ops_.size(); }

// REQUIRES (checked by Engine::Write before encoding): names and keys fit
// u16 and values u32, as the limits of db_record::TreeNameProblem and
// kMaxKeySize / kMaxValueSize guarantee.
std::string TreeBatch::Encode() const {
  size_t size = db_record::kBatchHeaderSize;
  for (const Op& op : ops_) {
    size += db_record::kOpHeaderSize + op.tree.size() + op.key.size() + op.value.size();
  }
  // Appended piece by piece into reserved room: a load's record is
  // hundreds of KiB, which filling with zeros first would write twice.
  std::string out;
  out.reserve(size);
  std::array<std::byte, db_record::kOpHeaderSize> header;
  const auto append = [&out](std::span<const std::byte> bytes) {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  std::array<std::byte, db_record::kBatchHeaderSize> count;
  EncodeFixed32(count.data(), static_cast<uint32_t>(ops_.size()));
  append(count);
  for (const Op& op : ops_) {
    header[0] = static_cast<std::byte>(op.is_delete ? db_record::kOpDelete : db_record::kOpPut);
    EncodeFixed16(header.data() + 1, static_cast<uint16_t>(op.tree.size()));
    EncodeFixed16(header.data() + 3, static_cast<uint16_t>(op.key.size()));
    EncodeFixed32(header.data() + 5, static_cast<uint32_t>(op.value.size()));
    append(header);
    out.append(op.tree);
    out.append(op.key);
    out.append(op.value);
  }
  return out;
}

Result<TreeBatch> TreeBatch::Decode(std::string_view payload) {
  const auto* data = reinterpret_cast<const std::byte*>(payload.data());
  const size_t size = payload.size();
  if (size < db_record::kBatchHeaderSize) {
    return Malformed(0, std::to_string(size) + " bytes, shorter than the 4-byte op count");
  }
  const uint32_t count = DecodeFixed32(data);
  // Every op takes at least its header, so a count the bytes cannot hold is
  // refused before anything is reserved for it.
  if (count > (size - db_record::kBatchHeaderSize) / db_record::kOpHeaderSize) {
    return Malformed(0, "op count " + std::to_string(count) + " does not fit in " +
                            std::to_string(size) + " bytes");
  }
  TreeBatch batch;
  batch.ops_.reserve(count);
  size_t pos = db_record::kBatchHeaderSize;
  for (uint32_t i = 0; i < count; ++i) {
    const std::string which = "op " + std::to_string(i) + ": ";
    if (size - pos < db_record::kOpHeaderSize) {
      return Malformed(pos, which + "header runs past the end");
    }
    const uint8_t kind = static_cast<uint8_t>(data[pos]);
    const size_t tree_size = DecodeFixed16(data + pos + 1);
    const size_t key_size = DecodeFixed16(data + pos + 3);
    const size_t value_size = DecodeFixed32(data + pos + 5);
    if (kind != db_record::kOpPut && kind != db_record::kOpDelete) {
      return Malformed(pos, which + "unknown kind " + std::to_string(kind));
    }
    if (tree_size == 0 || tree_size > kMaxKeySize) {
      return Malformed(pos, which + "tree name length " + std::to_string(tree_size));
    }
    if (key_size == 0 || key_size > kMaxKeySize) {
      return Malformed(pos, which + "key length " + std::to_string(key_size));
    }
    if (value_size > kMaxValueSize || (kind == db_record::kOpDelete && value_size != 0)) {
      return Malformed(pos, which + "value length " + std::to_string(value_size));
    }
    pos += db_record::kOpHeaderSize;
    if (size - pos < tree_size + key_size + value_size) {
      return Malformed(pos, which + "needs " + std::to_string(tree_size + key_size + value_size) +
                                " bytes, " + std::to_string(size - pos) + " left");
    }
    Op op;
    op.is_delete = kind == db_record::kOpDelete;
    op.tree = batch.Keep(payload.substr(pos, tree_size));
    op.key = batch.Keep(payload.substr(pos + tree_size, key_size));
    op.value = batch.Keep(payload.substr(pos + tree_size + key_size, value_size));
    pos += tree_size + key_size + value_size;
    batch.ops_.push_back(op);
  }
  if (pos != size) {
    return Malformed(pos, std::to_string(size - pos) + " bytes after the last op");
  }
  return batch;
}

namespace db_record {

std::string TreeNameProblem(std::string_view name) {
  if (name.empty()) return "empty tree name";
  if (name.size() > kMaxKeySize) {
    return "tree name of " + std::to_string(name.size()) + " bytes exceeds " +
           std::to_string(kMaxKeySize);
  }
  return "";
}

std::string EncodeTreeName(std::string_view name) {
  std::string out(kTreeNameHeaderSize, '\0');
  EncodeFixed16(Bytes(out, 0), static_cast<uint16_t>(name.size()));
  out.append(name);
  return out;
}

Result<std::string> DecodeTreeName(std::span<const std::byte> payload) {
  if (payload.size() < kTreeNameHeaderSize) {
    return Status::Corruption("malformed tree record: " + std::to_string(payload.size()) +
                              " bytes, shorter than its length field");
  }
  const size_t length = DecodeFixed16(payload.data());
  if (length != payload.size() - kTreeNameHeaderSize) {
    return Status::Corruption("malformed tree record: name length " + std::to_string(length) +
                              " but " + std::to_string(payload.size() - kTreeNameHeaderSize) +
                              " bytes follow");
  }
  std::string name(reinterpret_cast<const char*>(payload.data()) + kTreeNameHeaderSize, length);
  if (std::string problem = TreeNameProblem(name); !problem.empty()) {
    return Status::Corruption("malformed tree record: " + problem);
  }
  return name;
}

std::string RecordTypeName(uint8_t type) {
  switch (type) {
    case kWriteBatch:
      return "write batch";
    case kCreateTree:
      return "create tree";
    case kDropTree:
      return "drop tree";
    default:
      return "unknown type " + std::to_string(type);
  }
}

}  // namespace db_record

}  // namespace mvdb
