// The engines this build of mvdb-bench has: mvdb always, each peer when its
// library was found at configure time (bench/driver/CMakeLists.txt).
#include <string>
#include <string_view>
#include <vector>

#include "engine_adapter.h"

namespace mvdb::bench {
namespace {

using Opener = Result<std::unique_ptr<EngineAdapter>> (*)(const EngineConfig&);

struct Entry {
  const char* name;
  Opener open;
};

constexpr Entry kEngines[] = {
    {"mvdb", &OpenMvdb},
#ifdef MVDB_BENCH_HAVE_ROCKSDB
    {"rocksdb", &OpenRocksDb},
    {"rocksdb-txn", &OpenRocksDbTxn},
#endif
#ifdef MVDB_BENCH_HAVE_LEVELDB
    {"leveldb", &OpenLevelDb},
#endif
#ifdef MVDB_BENCH_HAVE_LMDB
    {"lmdb", &OpenLmdb},
#endif
#ifdef MVDB_BENCH_HAVE_WIREDTIGER
    {"wiredtiger", &OpenWiredTiger},
#endif
#ifdef MVDB_BENCH_HAVE_SQLITE
    {"sqlite", &OpenSqlite},
#endif
};

}  // namespace

Result<std::unique_ptr<EngineAdapter>> OpenEngine(std::string_view name,
                                                  const EngineConfig& config) {
  for (const Entry& entry : kEngines) {
    if (name == entry.name) return entry.open(config);
  }
  std::string known;
  for (const std::string& e : AvailableEngines()) known += (known.empty() ? "" : ", ") + e;
  return Status::NotSupported("no engine \"" + std::string(name) +
                              "\" in this build (it has: " + known + ")");
}

std::vector<std::string> AvailableEngines() {
  std::vector<std::string> names;
  for (const Entry& entry : kEngines) names.emplace_back(entry.name);
  return names;
}

}  // namespace mvdb::bench
