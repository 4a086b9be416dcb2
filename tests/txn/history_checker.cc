// The history recorder and the anomaly checker (definitions at the top of
// history_checker.h). The checker works in four passes: index every write by
// its unique value, judge every read (internal, G1a, G1b, garbage), link the
// installed writes of each key into its version tree (forks are lost
// updates), then build the ww/wr/rw graph and search its strongly connected
// components for G0, G1c and G-single cycles.
#include "tests/txn/history_checker.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace mvdb::testing {

// ---- Recorder ---------------------------------------------------------------

TransactionRecord& HistoryRecorder::Worker::open() {
  // Recording outside a transaction is a bug of the test driving the
  // recorder; keep the operation in a placeholder rather than crash, and the
  // checker will see a transaction with id 0 it does not expect.
  if (!open_.has_value()) open_.emplace();
  return *open_;
}

void HistoryRecorder::Worker::Begin(uint64_t id, IsolationLevel isolation) {
  open_.emplace();
  open_->id = id;
  open_->isolation = isolation;
}

void HistoryRecorder::Worker::Read(std::string_view key, std::optional<std::string> observed) {
  open().ops.push_back({HistoryOp::Kind::kRead, std::string(key), std::move(observed)});
}

void HistoryRecorder::Worker::Write(std::string_view key, std::string_view value) {
  open().ops.push_back({HistoryOp::Kind::kWrite, std::string(key), std::string(value)});
}

void HistoryRecorder::Worker::Delete(std::string_view key) {
  open().ops.push_back({HistoryOp::Kind::kWrite, std::string(key), std::nullopt});
}

void HistoryRecorder::Worker::End(bool committed) {
  open().committed = committed;
  done_.push_back(std::move(*open_));
  open_.reset();
}

HistoryRecorder::HistoryRecorder(int workers) {
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>());
}

std::vector<TransactionRecord> HistoryRecorder::History() const {
  std::vector<TransactionRecord> all;
  for (const auto& worker : workers_) {
    all.insert(all.end(), worker->done_.begin(), worker->done_.end());
  }
  std::sort(all.begin(), all.end(),
            [](const TransactionRecord& a, const TransactionRecord& b) { return a.id < b.id; });
  return all;
}

// ---- Report -----------------------------------------------------------------

const char* AnomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kG0:
      return "G0";
    case AnomalyKind::kG1a:
      return "G1a";
    case AnomalyKind::kG1b:
      return "G1b";
    case AnomalyKind::kG1c:
      return "G1c";
    case AnomalyKind::kGSingle:
      return "G-single";
    case AnomalyKind::kLostUpdate:
      return "lost-update";
    case AnomalyKind::kInternal:
      return "internal";
    case AnomalyKind::kGarbageRead:
      return "garbage-read";
  }
  return "?";
}

size_t HistoryReport::Count(AnomalyKind kind) const {
  return static_cast<size_t>(std::count_if(anomalies.begin(), anomalies.end(),
                                           [kind](const Anomaly& a) { return a.kind == kind; }));
}

std::string HistoryReport::Summary() const {
  constexpr size_t kExamplesPerKind = 3;
  std::ostringstream out;
  out << committed + aborted << " txns (" << committed << " committed, " << aborted
      << " aborted); edges ww=" << ww_edges << " wr=" << wr_edges << " rw=" << rw_edges
      << "; G2-only components=" << g2_only_components << "\nanomalies:";
  for (int k = 0; k < kAnomalyKinds; ++k) {
    const auto kind = static_cast<AnomalyKind>(k);
    out << " " << AnomalyKindName(kind) << "=" << Count(kind);
  }
  out << "\n";
  for (int k = 0; k < kAnomalyKinds; ++k) {
    size_t shown = 0;
    for (const Anomaly& a : anomalies) {
      if (a.kind != static_cast<AnomalyKind>(k)) continue;
      if (shown++ == kExamplesPerKind) break;
      out << "  " << AnomalyKindName(a.kind) << ": " << a.description << "\n";
    }
  }
  for (const std::string& note : notes) out << "  note: " << note << "\n";
  return out.str();
}

// ---- Checker ----------------------------------------------------------------

namespace {

enum class EdgeKind : uint8_t { kWW = 1, kWR = 2, kRW = 4 };

const char* EdgeKindName(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kWW:
      return "ww";
    case EdgeKind::kWR:
      return "wr";
    case EdgeKind::kRW:
      return "rw";
  }
  return "?";
}

struct Edge {
  int to;
  EdgeKind kind;
  std::string key;
};

// Edge-kind sets for the three graphs the cycle search looks at.
constexpr unsigned kWWOnly = static_cast<unsigned>(EdgeKind::kWW);
constexpr unsigned kDependencies = kWWOnly | static_cast<unsigned>(EdgeKind::kWR);

bool In(unsigned mask, EdgeKind kind) { return (mask & static_cast<unsigned>(kind)) != 0; }

// A value some transaction wrote.
struct WriteInfo {
  int txn;  // index into the history
  std::string key;
  bool installed;  // the transaction's last write of the key (intermediate otherwise)
};

// A version of a key: its value, or nullopt for "absent" (the root).
using Version = std::optional<std::string>;

std::string Show(const Version& v) { return v.has_value() ? "\"" + *v + "\"" : "absent"; }

// One step of a cycle: the edge taken out of `from`.
struct Step {
  int from;
  const Edge* edge;
};

// The G-single search keeps a bit per pair of ww+wr components inside one
// component of the full graph: 20,000 of them cost 50 MB.
constexpr size_t kMaxReachabilityComponents = 20'000;

class Checker {
 public:
  explicit Checker(const std::vector<TransactionRecord>& history)
      : history_(history), graph_(history.size()) {}

  HistoryReport Run() {
    for (const TransactionRecord& t : history_) {
      ++(t.committed ? report_.committed : report_.aborted);
    }
    IndexWrites();
    for (int t = 0; t < static_cast<int>(history_.size()); ++t) JudgeReads(t);
    LinkVersions();
    AddVersionEdges();
    FindCycles();
    return std::move(report_);
  }

 private:
  std::string Txn(int t) const {
    // Appended rather than "T" + ...: GCC 12 warns falsely (-Wrestrict) on
    // a literal prepended to a temporary string.
    std::string name = "T";
    name += std::to_string(history_[t].id);
    return name;
  }

  void Add(AnomalyKind kind, std::vector<int> txns, std::string description) {
    Anomaly anomaly{kind, {}, std::move(description)};
    for (int t : txns) anomaly.txns.push_back(history_[t].id);
    report_.anomalies.push_back(std::move(anomaly));
  }

  void AddEdge(int from, int to, EdgeKind kind, const std::string& key) {
    if (from == to) return;
    graph_[from].push_back({to, kind, key});
    switch (kind) {
      case EdgeKind::kWW:
        ++report_.ww_edges;
        break;
      case EdgeKind::kWR:
        ++report_.wr_edges;
        break;
      case EdgeKind::kRW:
        ++report_.rw_edges;
        break;
    }
  }

  // Pass 1: every written value, who wrote it and whether it was installed;
  // and for each committed transaction, the version each of its installed
  // writes replaced.
  void IndexWrites() {
    std::set<uint64_t> ids;
    for (int t = 0; t < static_cast<int>(history_.size()); ++t) {
      const TransactionRecord& txn = history_[t];
      if (!ids.insert(txn.id).second) report_.notes.push_back("duplicate transaction id " + Txn(t));
      std::map<std::string, size_t> last_write;  // key -> index of the op
      for (size_t i = 0; i < txn.ops.size(); ++i) {
        if (txn.ops[i].kind == HistoryOp::Kind::kWrite) last_write[txn.ops[i].key] = i;
      }
      std::map<std::string, Version> last_read;  // external reads only
      std::set<std::string> written;
      for (size_t i = 0; i < txn.ops.size(); ++i) {
        const HistoryOp& op = txn.ops[i];
        if (op.kind == HistoryOp::Kind::kRead) {
          if (!written.contains(op.key)) last_read[op.key] = op.value;
          continue;
        }
        const bool installed = last_write[op.key] == i;
        if (!written.contains(op.key) && txn.committed) {
          auto read = last_read.find(op.key);
          if (read == last_read.end()) {
            report_.notes.push_back("blind write of " + op.key + " by " + Txn(t) +
                                    " left out of the version order");
          } else {
            replaced_[t][op.key] = read->second;
          }
        }
        written.insert(op.key);
        if (!op.value.has_value()) {
          if (txn.committed) deleted_keys_.insert(op.key);
          continue;
        }
        if (!writes_.emplace(*op.value, WriteInfo{t, op.key, installed}).second) {
          report_.notes.push_back("value \"" + *op.value + "\" written twice (" + Txn(t) + ")");
        }
        if (installed && txn.committed) installed_[t][op.key] = op.value;
      }
    }
    for (const std::string& key : deleted_keys_) {
      report_.notes.push_back("key " + key +
                              " was deleted: its \"absent\" versions are ambiguous and left out");
    }
  }

  // Pass 2: each read against the transaction's own writes (internal) or
  // against the write it observed (G1a, G1b, garbage; wr edges).
  void JudgeReads(int t) {
    const TransactionRecord& txn = history_[t];
    std::map<std::string, Version> own;  // key -> the transaction's last write so far
    for (const HistoryOp& op : txn.ops) {
      if (op.kind == HistoryOp::Kind::kWrite) {
        own[op.key] = op.value;
        continue;
      }
      auto mine = own.find(op.key);
      if (mine != own.end()) {
        if (mine->second != op.value) {
          Add(AnomalyKind::kInternal, {t},
              Txn(t) + " read " + op.key + "=" + Show(op.value) + " after writing " +
                  Show(mine->second));
        }
        continue;
      }
      if (!txn.committed || !op.value.has_value()) continue;  // absent: the root, or ambiguous
      auto write = writes_.find(*op.value);
      if (write == writes_.end() || write->second.key != op.key || write->second.txn == t) {
        Add(AnomalyKind::kGarbageRead, {t},
            Txn(t) + " read " + op.key + "=" + Show(op.value) +
                (write == writes_.end()   ? ", which nobody wrote"
                 : write->second.txn == t ? " before writing it itself"
                                          : ", a value written to " + write->second.key + " by " +
                                                Txn(write->second.txn)));
        continue;
      }
      const int writer = write->second.txn;
      if (!history_[writer].committed) {
        Add(AnomalyKind::kG1a, {writer, t},
            Txn(t) + " read " + op.key + "=" + Show(op.value) + " written by aborted " +
                Txn(writer));
      } else if (!write->second.installed) {
        Add(AnomalyKind::kG1b, {writer, t},
            Txn(t) + " read " + op.key + "=" + Show(op.value) + ", an intermediate write of " +
                Txn(writer) + " (it wrote " + op.key + " again later)");
      } else {
        AddEdge(writer, t, EdgeKind::kWR, op.key);
      }
    }
  }

  // The committed writer that installed `version` of `key`, or -1 for the
  // root ("absent") and for anything that is not an installed committed
  // version (already reported by JudgeReads).
  int InstallerOf(const std::string& key, const Version& version) const {
    if (!version.has_value()) return -1;
    auto write = writes_.find(*version);
    if (write == writes_.end() || write->second.key != key || !write->second.installed ||
        !history_[write->second.txn].committed) {
      return -1;
    }
    return write->second.txn;
  }

  bool IsPlaceable(const std::string& key, const Version& version) const {
    if (!version.has_value()) return !deleted_keys_.contains(key);
    return InstallerOf(key, version) >= 0;
  }

  // Pass 3: the version tree of each key; a version replaced by two
  // committed writers is a lost update.
  void LinkVersions() {
    for (const auto& [t, keys] : replaced_) {
      for (const auto& [key, previous] : keys) {
        auto installed = installed_[t].find(key);
        if (installed == installed_[t].end() || !IsPlaceable(key, previous)) continue;
        next_versions_[key][previous].push_back(t);
      }
    }
    for (const auto& [key, versions] : next_versions_) {
      for (const auto& [version, writers] : versions) {
        if (writers.size() < 2) continue;
        std::string description = key + "=" + Show(version);
        const int installer = InstallerOf(key, version);
        if (installer >= 0) description += " (installed by " + Txn(installer) + ")";
        description += " was replaced by " + std::to_string(writers.size()) + " committed writers:";
        for (int w : writers) {
          description += " ";
          description += Txn(w) + " wrote " + Show(installed_[w][key]);
        }
        Add(AnomalyKind::kLostUpdate, writers, description);
      }
    }
  }

  // Pass 4a: ww edges along the version trees, and rw edges from each
  // external read of a version to the writers that replaced it.
  void AddVersionEdges() {
    for (const auto& [key, versions] : next_versions_) {
      for (const auto& [version, writers] : versions) {
        const int installer = InstallerOf(key, version);
        if (installer < 0) continue;
        for (int w : writers) AddEdge(installer, w, EdgeKind::kWW, key);
      }
    }
    for (int t = 0; t < static_cast<int>(history_.size()); ++t) {
      if (!history_[t].committed) continue;
      std::set<std::string> written;
      std::set<std::pair<std::string, Version>> seen;
      for (const HistoryOp& op : history_[t].ops) {
        if (op.kind == HistoryOp::Kind::kWrite) written.insert(op.key);
        if (op.kind != HistoryOp::Kind::kRead || written.contains(op.key) ||
            !seen.emplace(op.key, op.value).second || !IsPlaceable(op.key, op.value)) {
          continue;
        }
        auto versions = next_versions_.find(op.key);
        if (versions == next_versions_.end()) continue;
        auto writers = versions->second.find(op.value);
        if (writers == versions->second.end()) continue;
        for (int w : writers->second) AddEdge(t, w, EdgeKind::kRW, op.key);
      }
    }
  }

  // Tarjan's strongly connected components over the edges whose kind is in
  // `mask`, iteratively (a long chain of transactions would otherwise be a
  // deep recursion). Returns the component of each node.
  std::vector<int> Components(unsigned mask) const {
    const int n = static_cast<int>(graph_.size());
    std::vector<int> index(n, -1), low(n, 0), component(n, -1);
    std::vector<bool> on_stack(n, false);
    std::vector<int> stack;
    std::vector<std::pair<int, size_t>> frames;  // node, next edge to look at
    int next_index = 0, next_component = 0;
    for (int root = 0; root < n; ++root) {
      if (index[root] >= 0) continue;
      frames.push_back({root, 0});
      while (!frames.empty()) {
        auto& [v, edge] = frames.back();
        if (edge == 0 && index[v] < 0) {
          index[v] = low[v] = next_index++;
          stack.push_back(v);
          on_stack[v] = true;
        }
        if (edge < graph_[v].size()) {
          const Edge& e = graph_[v][edge++];
          if (!In(mask, e.kind)) continue;
          if (index[e.to] < 0) {
            frames.push_back({e.to, 0});
          } else if (on_stack[e.to]) {
            low[v] = std::min(low[v], index[e.to]);
          }
          continue;
        }
        if (low[v] == index[v]) {
          int w;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = false;
            component[w] = next_component;
          } while (w != v);
          ++next_component;
        }
        const int done = v;
        frames.pop_back();
        if (!frames.empty())
          low[frames.back().first] = std::min(low[frames.back().first], low[done]);
      }
    }
    return component;
  }

  // A shortest path from `from` to `to` over edges in `mask`; empty if none.
  std::vector<Step> FindPath(int from, int to, unsigned mask) const {
    std::unordered_map<int, Step> parent;  // node -> the step that reached it
    std::deque<int> queue{from};
    parent.emplace(from, Step{-1, nullptr});
    while (!queue.empty()) {
      const int v = queue.front();
      queue.pop_front();
      if (v == to) {
        std::vector<Step> path;
        for (int at = to; at != from;) {
          const Step& step = parent.at(at);
          path.push_back(step);
          at = step.from;
        }
        std::reverse(path.begin(), path.end());
        return path;
      }
      for (const Edge& e : graph_[v]) {
        if (In(mask, e.kind) && parent.emplace(e.to, Step{v, &e}).second) queue.push_back(e.to);
      }
    }
    return {};
  }

  // The cycle `first` followed by a path back to its source.
  void AddCycle(AnomalyKind kind, Step first, const std::vector<Step>& back) {
    std::vector<int> txns{first.from};
    std::string description = Txn(first.from);
    auto append = [&](const Step& step) {
      description += " -" + std::string(EdgeKindName(step.edge->kind)) + "(" + step.edge->key +
                     ")-> " + Txn(step.edge->to);
      if (step.edge->to != first.from) txns.push_back(step.edge->to);
    };
    append(first);
    for (const Step& step : back) append(step);
    Add(kind, txns, description);
  }

  // Reports at most one cycle of `kind` per component of `component` (two
  // or more nodes, over `mask` edges): the first edge inside it of a kind in
  // `first_kinds`, which lies on a cycle because every edge inside a
  // strongly connected component does, followed by the way back. Returns
  // the components of the full graph (`full`) where one was found.
  std::set<int> FindCycleKind(AnomalyKind kind, const std::vector<int>& component,
                              unsigned first_kinds, unsigned mask, const std::vector<int>& full) {
    std::map<int, int> sizes;
    for (int c : component) ++sizes[c];
    std::set<int> done, found_in_full;
    for (int v = 0; v < static_cast<int>(graph_.size()); ++v) {
      const int c = component[v];
      if (sizes[c] < 2 || done.contains(c)) continue;
      for (const Edge& e : graph_[v]) {
        if (!In(first_kinds, e.kind) || component[e.to] != c) continue;
        AddCycle(kind, Step{v, &e}, FindPath(e.to, v, mask));
        done.insert(c);
        found_in_full.insert(full[v]);
        break;
      }
    }
    return found_in_full;
  }

  // G-single in one component of the full graph (its `members`): an rw
  // edge a -> b inside it closes a cycle with exactly one rw edge when b
  // reaches a over ww and wr edges. Such a path never leaves the component
  // (with a -> b it is a cycle), so reachability is computed only between
  // the ww+wr components inside it, a bit per pair. Reports the first cycle
  // found; returns whether there was one.
  bool FindGSingle(const std::vector<int>& members, const std::vector<int>& dependencies,
                   const std::vector<int>& all) {
    // Tarjan numbers components so that an edge never leads to a larger
    // number; local numbers in the same order keep that property.
    std::vector<int> ids;
    for (int v : members) ids.push_back(dependencies[v]);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.size() > kMaxReachabilityComponents) {
      report_.notes.push_back("G-single search skipped in a component of " +
                              std::to_string(members.size()) + " transactions");
      return false;
    }
    auto local = [&](int v) {
      return static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), dependencies[v]) -
                                 ids.begin());
    };
    const size_t count = ids.size();
    const size_t words = (count + 63) / 64;
    std::vector<std::vector<int>> by_local(count);
    for (int v : members) by_local[local(v)].push_back(v);
    std::vector<uint64_t> reach(count * words, 0);  // row c: what local component c reaches
    for (size_t c = 0; c < count; ++c) {            // sinks first
      reach[c * words + c / 64] |= uint64_t{1} << (c % 64);
      for (int v : by_local[c]) {
        for (const Edge& e : graph_[v]) {
          if (!In(kDependencies, e.kind) || all[e.to] != all[v]) continue;
          const size_t target = local(e.to);
          if (target == c) continue;
          for (size_t w = 0; w < words; ++w) reach[c * words + w] |= reach[target * words + w];
        }
      }
    }
    for (int v : members) {
      for (const Edge& e : graph_[v]) {
        if (e.kind != EdgeKind::kRW || all[e.to] != all[v]) continue;
        const size_t from = local(v);
        if ((reach[local(e.to) * words + from / 64] >> (from % 64) & 1) == 0) continue;
        AddCycle(AnomalyKind::kGSingle, Step{v, &e}, FindPath(e.to, v, kDependencies));
        return true;
      }
    }
    return false;
  }

  // Pass 4b: G0 in the ww graph, G1c in the ww+wr graph, G-single in the
  // full graph; components of the full graph with none of them hold only
  // G2 cycles.
  void FindCycles() {
    constexpr unsigned kWR = static_cast<unsigned>(EdgeKind::kWR);
    constexpr unsigned kRW = static_cast<unsigned>(EdgeKind::kRW);
    const std::vector<int> ww = Components(kWWOnly);
    const std::vector<int> dependencies = Components(kDependencies);
    const std::vector<int> all = Components(kDependencies | kRW);
    std::set<int> flagged = FindCycleKind(AnomalyKind::kG0, ww, kWWOnly, kWWOnly, all);
    flagged.merge(FindCycleKind(AnomalyKind::kG1c, dependencies, kWR, kDependencies, all));
    std::map<int, std::vector<int>> members;  // of each component of the full graph
    for (int v = 0; v < static_cast<int>(all.size()); ++v) members[all[v]].push_back(v);
    for (const auto& [c, nodes] : members) {
      if (nodes.size() >= 2 && FindGSingle(nodes, dependencies, all)) flagged.insert(c);
    }
    std::map<int, int> sizes;
    for (int c : all) ++sizes[c];
    for (const auto& [c, size] : sizes) {
      if (size >= 2 && !flagged.contains(c)) ++report_.g2_only_components;
    }
  }

  const std::vector<TransactionRecord>& history_;
  HistoryReport report_;
  std::unordered_map<std::string, WriteInfo> writes_;  // by value
  std::set<std::string> deleted_keys_;
  // Committed transaction -> key -> the version its installed write
  // replaced, and the value it installed.
  std::map<int, std::map<std::string, Version>> replaced_;
  std::map<int, std::map<std::string, Version>> installed_;
  // key -> version -> the committed writers that replaced it.
  std::map<std::string, std::map<Version, std::vector<int>>> next_versions_;
  std::vector<std::vector<Edge>> graph_;
};

}  // namespace

HistoryReport CheckHistory(const std::vector<TransactionRecord>& history) {
  return Checker(history).Run();
}

}  // namespace mvdb::testing
