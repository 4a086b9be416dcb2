#include "mvdb/version.h"

namespace mvdb {

const char* Version() { return MVDB_VERSION_STRING; }

}  // namespace mvdb
