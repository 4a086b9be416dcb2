// A recorder of transactional key-value histories and a checker that finds
// the isolation anomalies of Adya's "Weak Consistency" (1999) in them, the
// way Elle (Kingsbury & Alvaro, VLDB 2020) does.
//
// What a history must look like to be checkable:
//   - Every write writes a value unique in the whole history (the workloads
//     use "t<txn id>-<n>"), so a read names exactly the write it observed.
//   - Every transaction that writes key k reads k first (read-modify-write,
//     Get or GetForUpdate). The value read just before its first write of k
//     is the version its write replaced: a "previous version" link. The
//     initial transaction T0 does the same on empty keys (it reads "absent").
//     A blind write (no read first) is recorded but cannot be placed in the
//     version order; the report notes it.
//   - Only the last write of k in a transaction is installed at commit; its
//     earlier writes of k are intermediate values nobody else may see.
//
// Version order. The committed installed writes of each key, linked to the
// versions they replaced, form a tree rooted at "absent". At snapshot
// isolation, and at read committed when read-modify-writes use
// GetForUpdate, it must be one chain: two committed writers that replaced
// the same version is a fork, a lost update (P4).
//
// Dependency edges between committed transactions (the nodes):
//   T1 -ww-> T2  T2 installed the version right after T1's (same key).
//   T1 -wr-> T2  T2 read a version T1 installed.
//   T1 -rw-> T2  T1 read version v of k and T2 installed the version right
//                after v (an anti-dependency: T1 did not see T2's write).
// Reads of a key after the transaction's own write of it are internal and
// make no edge (they are checked against the transaction's own last write).
//
// Anomalies (each reported with the transactions, keys and values):
//   G0          a cycle of ww edges only (write cycle).
//   G1a         a committed transaction read a value written by an aborted
//               one (aborted read).
//   G1b         a committed transaction read a value its committed writer
//               later overwrote in the same transaction (intermediate read).
//   G1c         a cycle of ww and wr edges with at least one wr edge
//               (circular information flow).
//   G-single    a cycle with exactly one rw edge, the others ww or wr (read
//               skew). Forbidden at snapshot isolation, allowed at read
//               committed.
//   lost update P4, above.
//   internal    a transaction's read of a key it wrote did not return its
//               own last write.
//   garbage     a read returned a value no transaction wrote to that key.
// G2 (a cycle with two or more rw edges, write skew) is allowed at both of
// mvdb's levels and is only counted, never reported as an anomaly.
//
// Cycles are searched per strongly connected component (Tarjan): a ww-only
// component of two or more transactions holds a G0 cycle; a wr edge inside a
// ww+wr component lies on a G1c cycle; an rw edge a -> b closes a G-single
// cycle when b reaches a over ww and wr edges (reachability between the
// ww+wr components, then a breadth-first search for the path). At most one
// cycle of each kind is reported per component.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/options.h"

namespace mvdb::testing {

// One read or write, in the order the transaction did it.
struct HistoryOp {
  enum class Kind : uint8_t { kRead, kWrite };
  Kind kind = Kind::kRead;
  std::string key;
  // A read: the value observed, or nullopt for "absent" (NotFound).
  // A write: the value written, or nullopt for a delete.
  std::optional<std::string> value;
};

struct TransactionRecord {
  uint64_t id = 0;
  IsolationLevel isolation = IsolationLevel::kSnapshot;
  // Commit returned OK. Everything else (a voluntary rollback, a failed
  // operation, a failed commit) is aborted.
  bool committed = false;
  std::vector<HistoryOp> ops;
};

// Collects the transactions of several worker threads without locking: each
// worker appends to its own log, and the logs are merged after the run.
class HistoryRecorder {
 public:
  // One worker's transactions. Used by one thread at a time; a transaction
  // is open between Begin and End.
  class Worker {
   public:
    void Begin(uint64_t id, IsolationLevel isolation);
    void Read(std::string_view key, std::optional<std::string> observed);
    void Write(std::string_view key, std::string_view value);
    void Delete(std::string_view key);
    void End(bool committed);

   private:
    friend class HistoryRecorder;
    TransactionRecord& open();
    std::vector<TransactionRecord> done_;
    std::optional<TransactionRecord> open_;
  };

  explicit HistoryRecorder(int workers);
  // REQUIRES: 0 <= index < workers.
  Worker& worker(int index) { return *workers_[index]; }

  // Every finished transaction of every worker, by id. REQUIRES: no worker
  // is running.
  std::vector<TransactionRecord> History() const;

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
};

enum class AnomalyKind : uint8_t {
  kG0,
  kG1a,
  kG1b,
  kG1c,
  kGSingle,
  kLostUpdate,
  kInternal,
  kGarbageRead,
};
inline constexpr int kAnomalyKinds = 8;

// "G0", "G1a", ..., "lost-update", "internal", "garbage-read".
const char* AnomalyKindName(AnomalyKind kind);

struct Anomaly {
  AnomalyKind kind;
  std::vector<uint64_t> txns;  // the transactions involved
  std::string description;     // e.g. "T12 -ww(k3)-> T15 -rw(k7)-> T12"
};

struct HistoryReport {
  std::vector<Anomaly> anomalies;

  size_t committed = 0;
  size_t aborted = 0;
  size_t ww_edges = 0;
  size_t wr_edges = 0;
  size_t rw_edges = 0;
  // Strongly connected components of the full graph (two or more
  // transactions) holding no G0, G1c or G-single cycle: only G2 cycles,
  // which both levels allow.
  size_t g2_only_components = 0;
  // What the checker could not place (blind writes, ambiguous reads of
  // "absent" on keys that were deleted, duplicate values, a search cut
  // short); empty for the histories mvdb's tests produce.
  std::vector<std::string> notes;

  size_t Count(AnomalyKind kind) const;
  // Counts of transactions, edges and anomalies per kind, then the first
  // few descriptions of each kind and the notes.
  std::string Summary() const;
};

// Checks a history of unique-valued read-modify-write transactions (see the
// top of this file). Transactions may come in any order; ids must be unique.
HistoryReport CheckHistory(const std::vector<TransactionRecord>& history);

}  // namespace mvdb::testing
