// Helpers shared by the database facade's tests: temporary directories on
// tmpfs (crash enumeration fsyncs a lot), seeds, values, and reading a whole
// database back into a model.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "tests/testing/temp_dir.h"

namespace mvdb::testing_db {

// tree -> key -> value.
using Model = std::map<std::string, std::map<std::string, std::string>>;

class TempDir : public testing::TempDir {
 public:
  explicit TempDir(bool tmpfs = true) : testing::TempDir("db", tmpfs) {}
};

inline uint64_t TestSeed() { return testing::TestSeed(20240611); }

// `n` bytes that depend on `tag`.
inline std::string Value(size_t n, uint64_t tag) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i * 7 + tag * 13) % 26);
  return out;
}

// Every tree of `engine` with the values of the keys in `keys` (the keys a
// test ever wrote to a tree of that name).
inline Model ReadBack(Engine* engine, const std::map<std::string, std::set<std::string>>& keys) {
  Model model;
  auto trees = engine->ListTrees();
  EXPECT_TRUE(trees.ok()) << trees.status().ToString();
  if (!trees.ok()) return model;
  for (const std::string& tree : *trees) {
    auto& contents = model[tree];
    auto it = keys.find(tree);
    if (it == keys.end()) continue;
    for (const std::string& key : it->second) {
      std::string value;
      const Status s = engine->Get(tree, key, &value);
      if (s.ok()) {
        contents[key] = value;
      } else {
        EXPECT_TRUE(s.IsNotFound()) << s.ToString();
      }
    }
  }
  return model;
}

inline void ApplyToModel(const TreeBatch& batch, Model* model) {
  for (const TreeBatch::Op& op : batch.ops()) {
    if (op.is_delete) {
      (*model)[std::string(op.tree)].erase(std::string(op.key));
    } else {
      (*model)[std::string(op.tree)][std::string(op.key)] = op.value;
    }
  }
}

inline void AddKeys(const TreeBatch& batch, std::map<std::string, std::set<std::string>>* keys) {
  for (const TreeBatch::Op& op : batch.ops())
    (*keys)[std::string(op.tree)].insert(std::string(op.key));
}

}  // namespace mvdb::testing_db
