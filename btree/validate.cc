#include "btree/validate.h"

#include <string>

#include "btree/node.h"
#include "btree/overflow.h"

namespace mvdb::btree {

Status ValidatePage(std::span<const std::byte> page, PageId id) {
  if (page.size() != kPageSize) {
    return Status::Corruption("page " + std::to_string(id) + " has " + std::to_string(page.size()) +
                              " bytes, not " + std::to_string(kPageSize));
  }
  switch (ConstPageView(page).type()) {
    case PageType::kBTreeLeaf:
    case PageType::kBTreeInner:
      return ValidateNode(page, id);
    case PageType::kOverflow:
      return ValidateOverflowPage(page, id);
    default:
      return Status::OK();  // the allocator checks its own pages
  }
}

}  // namespace mvdb::btree
