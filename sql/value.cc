// The names of SQL types as PostgreSQL spells them in messages (42804 and
// friends quote them), so mvdb's errors read like PostgreSQL's.
#include "sql/value.h"

namespace mvdb::sql {

std::string_view TypeName(TypeId type) {
  switch (type) {
    case TypeId::kBool:
      return "boolean";
    case TypeId::kInt:
      return "bigint";
    case TypeId::kFloat:
      return "double precision";
    case TypeId::kText:
      return "text";
    case TypeId::kNull:
      break;
  }
  return "unknown";
}

}  // namespace mvdb::sql
