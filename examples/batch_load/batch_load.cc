// batch_load: a bulk load through WriteBatch, writes without a read. An
// example of mvdb's embedded API (mvdb/db.h) and nothing else, built
// against an installed mvdb (README.md here).
//
//   batch_load [--keys N] [--batch B] [DBDIR]
//
// Opens DBDIR (a temporary directory, removed at the end, without one) and
// loads N keys (default 100,000) into two tables, `items` and `index`, B
// keys a batch (default 1,000): each batch puts B items and their index
// entries and commits them atomically with Database::Write. Then it checks
// what a user relies on: every key is there (counted with an iterator in
// one snapshot), both tables hold as many entries, the two tables agree,
// and after closing and reopening the database nothing is missing. It
// prints the counts and how long the load took (the time is for reading,
// not checked). Exit status 1 if a check fails or mvdb reports an error.
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "mvdb/db.h"

namespace {

constexpr char kItems[] = "items";
constexpr char kIndex[] = "index";

[[noreturn]] void Die(const char* what, const mvdb::Status& status) {
  std::fprintf(stderr, "batch_load: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

std::string ItemKey(int64_t i) {
  std::string digits = std::to_string(i);
  return "item-" + std::string(10 - std::min<size_t>(10, digits.size()), '0') + digits;
}

// The number of entries of `table`, read in one snapshot.
int64_t Count(mvdb::Database& db, const char* table) {
  std::unique_ptr<mvdb::Transaction> txn = db.Begin();
  std::unique_ptr<mvdb::Iterator> it = txn->NewIterator(table);
  int64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) Die("counting", it->status());
  it.reset();
  if (mvdb::Status s = txn->Commit(); !s.ok()) Die("commit of the count", s);
  return n;
}

// True when both tables hold `keys` entries and every index entry names
// its item.
bool Check(mvdb::Database& db, int64_t keys, const char* when) {
  const int64_t items = Count(db, kItems);
  const int64_t index = Count(db, kIndex);
  std::string value, item;
  bool agree = true;
  for (int64_t i = 0; i < keys && agree; i += keys / 100 + 1) {  // a sample of 100
    agree = db.Get(kIndex, "by-number-" + std::to_string(i), &value).ok() && value == ItemKey(i) &&
            db.Get(kItems, value, &item).ok() && item == "item number " + std::to_string(i);
  }
  std::printf("%s: %lld items, %lld index entries, index and items %s\n", when,
              static_cast<long long>(items), static_cast<long long>(index),
              agree ? "agree" : "DISAGREE");
  return items == keys && index == keys && agree;
}

std::unique_ptr<mvdb::Database> OpenDatabase(const std::string& dir) {
  mvdb::Result<std::unique_ptr<mvdb::Database>> db = mvdb::Database::Open(dir);
  if (!db.ok()) Die(("open " + dir).c_str(), db.status());
  return std::move(*db);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t keys = 100000;
  int64_t batch_size = 1000;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--keys" && i + 1 < argc) {
      keys = std::atoll(argv[++i]);
    } else if (arg == "--batch" && i + 1 < argc) {
      batch_size = std::atoll(argv[++i]);
    } else if (arg[0] != '-' && dir.empty()) {
      dir = arg;
    } else {
      std::fprintf(stderr, "usage: %s [--keys N] [--batch B] [DBDIR]\n", argv[0]);
      return 2;
    }
  }
  if (keys < 1 || batch_size < 1) return 2;
  const bool temporary = dir.empty();
  if (temporary) {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/batch-load-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) Die("mkdtemp", mvdb::Status::FromErrno(dir, errno));
  }

  std::unique_ptr<mvdb::Database> db = OpenDatabase(dir);
  for (const char* table : {kItems, kIndex}) {
    if (mvdb::Status s = db->CreateTable(table); !s.ok()) Die("creating a table", s);
  }

  // The load: each batch is one atomic commit over both tables, with no
  // read before the writes. The batch is reused: Clear keeps its memory.
  const auto start = std::chrono::steady_clock::now();
  mvdb::WriteBatch batch;
  int64_t batches = 0;
  for (int64_t first = 0; first < keys; first += batch_size) {
    batch.Clear();
    for (int64_t i = first; i < std::min(keys, first + batch_size); ++i) {
      const std::string key = ItemKey(i);
      batch.Put(kItems, key, "item number " + std::to_string(i));
      batch.Put(kIndex, "by-number-" + std::to_string(i), key);
    }
    if (mvdb::Status s = db->Write(batch); !s.ok()) Die("writing a batch", s);
    ++batches;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%s: loaded %lld keys into 2 tables in %lld batches of up to %lld keys "
      "(%.2f s, %.0f keys/s)\n",
      dir.c_str(), static_cast<long long>(keys), static_cast<long long>(batches),
      static_cast<long long>(batch_size), seconds, keys / std::max(seconds, 1e-9));

  // A misuse is a Status, not a crash: a batch naming a missing table
  // applies none of its writes.
  batch.Clear();
  batch.Put(kItems, "item-extra", "never written");
  batch.Put("no-such-table", "k", "v");
  const mvdb::Status refused = db->Write(batch);
  std::string ignored;
  const bool untouched = db->Get(kItems, "item-extra", &ignored).IsNotFound();
  std::printf("a batch naming a missing table: %s; its other write %s\n",
              refused.ToString().c_str(), untouched ? "was not applied" : "WAS APPLIED");

  bool ok = refused.IsNotFound() && untouched && Check(*db, keys, "after the load");
  if (mvdb::Status s = db->Close(); !s.ok()) Die("close", s);
  db = OpenDatabase(dir);
  ok = Check(*db, keys, "after a reopen") && ok;
  if (mvdb::Status s = db->Close(); !s.ok()) Die("close", s);
  db.reset();
  if (temporary) std::filesystem::remove_all(dir);
  std::printf("%s\n", ok ? "all checks passed" : "A CHECK FAILED");
  return ok ? 0 : 1;
}
