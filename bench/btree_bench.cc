// Micro-benchmarks of the B+tree: random point lookups (on 1 and 2 threads),
// random inserts, updates and a forward scan over 1,000,000 keys of 16 bytes
// with 100-byte values, with the whole tree in the buffer pool and with a
// pool of a tenth of the tree, next to std::map doing the same operations in
// the same run. bench/README.md has the command and the figures.
//
// The data file is built once (lazily, by the first benchmark that needs it)
// in a temporary directory that is removed at exit, and is reopened when a
// benchmark wants the other cache size. Inserts delete what they inserted
// once timing stops, so every benchmark sees the same 1,000,000 keys.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bench/bench_util.h"
#include "btree/btree.h"
#include "btree/tree_store.h"
#include "buffer/buffer_pool.h"
#include "buffer/page_allocator.h"
#include "io/file.h"
#include "mvdb/status.h"

namespace mvdb::bench {
namespace {

constexpr uint64_t kNumKeys = 1'000'000;
constexpr char kTreeName[] = "bench";

// Indexes below kNumKeys are the data set; inserts use indexes above it,
// which never collide.
const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = MakeKeys(kNumKeys);
  return keys;
}

std::map<std::string, std::string>& Map() {
  static std::map<std::string, std::string> map = [] {
    std::map<std::string, std::string> m;
    for (uint64_t i = 0; i < kNumKeys; ++i) {
      m.emplace(View(Keys()[i]), MakeValue(i, 'a'));
    }
    return m;
  }();
  return map;
}

// Fresh keys for inserts, shared by all insert benchmarks.
std::atomic<uint64_t> next_new_key{kNumKeys};

enum class Cache { kFull, kTenth };

// The data file and the one TreeStore open on it.
class Engine {
 public:
  Engine(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  ~Engine() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The tree, opened with the cache size `cache` asks for; builds the data
  // file on first use. Thread-safe; the threads of one benchmark ask for the
  // same cache, so only the first reopens.
  Result<BTree*> Tree(Cache cache) {
    std::lock_guard<std::mutex> lock(mu_);
    if (store_ != nullptr && cache_ == cache) {
      return tree_;
    }
    if (data_pages_ == 0) {
      MVDB_RETURN_IF_ERROR(Build());
    }
    MVDB_RETURN_IF_ERROR(Reopen(cache));
    return tree_;
  }

  BufferPool* pool() { return store_->pool(); }

 private:
  std::string Path() const { return dir_ + "/data.mvdb"; }

  Status Build() {
    TreeStoreOptions options;
    options.cache_pages = 4 * kNumKeys * (kKeySize + kValueSize) / kPageSize;
    MVDB_ASSIGN_OR_RETURN(store_, TreeStore::Open(fs_, Path(), options));
    MVDB_ASSIGN_OR_RETURN(BTree * tree, store_->CreateTree(kTreeName));
    auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < kNumKeys; ++i) {
      MVDB_RETURN_IF_ERROR(tree->Put(View(Keys()[i]), MakeValue(i, 'a')));
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    MVDB_ASSIGN_OR_RETURN(MetaPage meta, store_->allocator()->ReadMeta());
    data_pages_ = meta.page_count;
    std::fprintf(stderr, "btree_bench: built %llu keys in %.1f s: %llu pages (%.0f MiB) in %s\n",
                 static_cast<unsigned long long>(kNumKeys), took.count(),
                 static_cast<unsigned long long>(data_pages_),
                 static_cast<double>(data_pages_ * kPageSize) / (1 << 20), Path().c_str());
    Status closed = store_->Close();
    store_.reset();
    return closed;
  }

  // Opens with a cache of twice the data (kFull) or a tenth of it (kTenth),
  // then reads the whole tree once so the cache is as warm as it can be.
  Status Reopen(Cache cache) {
    if (store_ != nullptr) {
      Status closed = store_->Close();
      store_.reset();
      MVDB_RETURN_IF_ERROR(closed);
    }
    TreeStoreOptions options;
    options.create_if_missing = false;
    options.cache_pages = cache == Cache::kFull ? 2 * data_pages_ : data_pages_ / 10;
    MVDB_ASSIGN_OR_RETURN(store_, TreeStore::Open(fs_, Path(), options));
    MVDB_ASSIGN_OR_RETURN(tree_, store_->OpenTree(kTreeName));
    cache_ = cache;
    std::unique_ptr<BTreeCursor> cursor = tree_->NewCursor();
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    }
    return cursor->status();
  }

  FileSystem* fs_;
  std::string dir_;
  std::mutex mu_;
  std::unique_ptr<TreeStore> store_;
  BTree* tree_ = nullptr;
  Cache cache_ = Cache::kFull;
  uint64_t data_pages_ = 0;
};

Engine* engine = nullptr;  // set by main for the whole run

// Buffer pool misses per operation, so a reader sees that the small cache
// really misses. One thread only: the pool's counters are shared.
class MissCounter {
 public:
  explicit MissCounter(benchmark::State& state) : state_(state) {
    if (state_.threads() == 1) {
      start_ = engine->pool()->stats().misses;
    }
  }
  void Report() {
    if (state_.threads() != 1) {
      return;
    }
    double misses = static_cast<double>(engine->pool()->stats().misses - start_);
    state_.counters["misses/op"] = benchmark::Counter(misses, benchmark::Counter::kAvgIterations);
  }

 private:
  benchmark::State& state_;
  uint64_t start_ = 0;
};

BTree* TreeOrSkip(benchmark::State& state, Cache cache) {
  Result<BTree*> tree = engine->Tree(cache);
  if (!tree.ok()) {
    state.SkipWithError(tree.status().ToString().c_str());
    return nullptr;
  }
  return *tree;
}

void MvdbLookup(benchmark::State& state, Cache cache) {
  BTree* tree = TreeOrSkip(state, cache);
  if (tree == nullptr) {
    return;
  }
  Random random(state.thread_index() + 1);
  MissCounter misses(state);
  std::string value;
  for (auto _ : state) {
    Status status = tree->Get(View(Keys()[random.Uniform(kNumKeys)]), &value);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  misses.Report();
  state.SetItemsProcessed(state.iterations());
}

void MvdbInsert(benchmark::State& state, Cache cache) {
  BTree* tree = TreeOrSkip(state, cache);
  if (tree == nullptr) {
    return;
  }
  MissCounter misses(state);
  std::vector<uint64_t> inserted;
  std::string value = MakeValue(0, 'i');
  for (auto _ : state) {
    uint64_t i = next_new_key.fetch_add(1, std::memory_order_relaxed);
    Status status = tree->Put(View(MakeKey(i)), value);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    inserted.push_back(i);
  }
  misses.Report();
  state.SetItemsProcessed(state.iterations());
  for (uint64_t i : inserted) {
    Status status = tree->Delete(View(MakeKey(i)));
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
}

void MvdbUpdate(benchmark::State& state, Cache cache) {
  BTree* tree = TreeOrSkip(state, cache);
  if (tree == nullptr) {
    return;
  }
  Random random(state.thread_index() + 7);
  MissCounter misses(state);
  std::string value = MakeValue(0, 'u');
  for (auto _ : state) {
    Status status = tree->Put(View(Keys()[random.Uniform(kNumKeys)]), value);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  misses.Report();
  state.SetItemsProcessed(state.iterations());
}

// One iteration is one step of a cursor running over the whole tree, from
// the start again when it falls off the end.
void MvdbScan(benchmark::State& state, Cache cache) {
  BTree* tree = TreeOrSkip(state, cache);
  if (tree == nullptr) {
    return;
  }
  MissCounter misses(state);
  std::unique_ptr<BTreeCursor> cursor = tree->NewCursor();
  cursor->SeekToFirst();
  size_t bytes = 0;
  for (auto _ : state) {
    if (!cursor->Valid()) {
      if (!cursor->status().ok()) {
        state.SkipWithError(cursor->status().ToString().c_str());
        break;
      }
      cursor->SeekToFirst();
    }
    bytes += cursor->key().size() + cursor->value().size();
    cursor->Next();
  }
  benchmark::DoNotOptimize(bytes);
  misses.Report();
  state.SetItemsProcessed(state.iterations());
}

void MapLookup(benchmark::State& state) {
  const auto& map = Map();
  Random random(state.thread_index() + 1);
  std::string key(kKeySize, '\0');
  std::string value;
  for (auto _ : state) {
    const Key& k = Keys()[random.Uniform(kNumKeys)];
    key.assign(k.data(), k.size());
    auto it = map.find(key);
    if (it == map.end()) {
      state.SkipWithError("std::map lost a key");
      break;
    }
    value.assign(it->second);  // as BTree::Get copies the value out
    benchmark::DoNotOptimize(value.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void MapInsert(benchmark::State& state) {
  auto& map = Map();
  std::vector<uint64_t> inserted;
  std::string value = MakeValue(0, 'i');
  for (auto _ : state) {
    uint64_t i = next_new_key.fetch_add(1, std::memory_order_relaxed);
    map.insert_or_assign(std::string(View(MakeKey(i))), value);
    inserted.push_back(i);
  }
  state.SetItemsProcessed(state.iterations());
  for (uint64_t i : inserted) {
    map.erase(std::string(View(MakeKey(i))));
  }
}

void MapUpdate(benchmark::State& state) {
  auto& map = Map();
  Random random(state.thread_index() + 7);
  std::string value = MakeValue(0, 'u');
  std::string key(kKeySize, '\0');
  for (auto _ : state) {
    const Key& k = Keys()[random.Uniform(kNumKeys)];
    key.assign(k.data(), k.size());
    map[key] = value;
  }
  state.SetItemsProcessed(state.iterations());
}

void MapScan(benchmark::State& state) {
  const auto& map = Map();
  auto it = map.begin();
  size_t bytes = 0;
  for (auto _ : state) {
    if (it == map.end()) {
      it = map.begin();
    }
    bytes += it->first.size() + it->second.size();
    ++it;
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations());
}

void RegisterAll() {
  struct Op {
    const char* name;
    void (*map)(benchmark::State&);
    void (*mvdb)(benchmark::State&, Cache);
    bool two_threads;
  };
  const Op ops[] = {
      {"lookup", MapLookup, MvdbLookup, true},
      {"insert", MapInsert, MvdbInsert, false},
      {"update", MapUpdate, MvdbUpdate, false},
      {"scan", MapScan, MvdbScan, false},
  };
  for (const Op& op : ops) {
    auto threads = [&](benchmark::internal::Benchmark* b) {
      b->UseRealTime()->Threads(1);
      if (op.two_threads) {
        b->Threads(2);
      }
    };
    threads(benchmark::RegisterBenchmark((std::string(op.name) + "/std_map").c_str(), op.map));
    threads(benchmark::RegisterBenchmark((std::string(op.name) + "/mvdb_cache_all").c_str(),
                                         op.mvdb, Cache::kFull));
    threads(benchmark::RegisterBenchmark((std::string(op.name) + "/mvdb_cache_tenth").c_str(),
                                         op.mvdb, Cache::kTenth));
  }
}

}  // namespace
}  // namespace mvdb::bench

int main(int argc, char** argv) {
  namespace b = mvdb::bench;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }

  mvdb::Result<std::unique_ptr<mvdb::FileSystem>> fs = mvdb::NewDefaultFileSystem();
  if (!fs.ok()) {
    std::fprintf(stderr, "btree_bench: %s\n", fs.status().ToString().c_str());
    return 1;
  }
  const std::string dir = b::MakeBenchDir("btree-bench");
  if (dir.empty()) return 1;
  b::Engine engine(fs->get(), dir);
  b::engine = &engine;

  benchmark::AddCustomContext("mvdb_io_backend", std::string((*fs)->name()));
  benchmark::AddCustomContext("mvdb_data_set", "1000000 keys of 16 B, values of 100 B");
  b::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
