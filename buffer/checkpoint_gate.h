// CheckpointGate: the moment a checkpoint is consistent as of.
//
// Tree modifications (a Put, a Delete, a split, a whole write batch of the
// database facade) hold the gate shared from before their first page change
// until after their last; Checkpoint holds it exclusively for the few
// microseconds it takes to close the pool's epoch and copy the page map
// (cow_page_store.h). So the checkpoint sees every modification either
// completely or not at all.
//
//   1. Shared holds are reentrant per thread: a facade holding the gate
//      around a batch calls BTree::Put, which holds it again. A thread keeps
//      a short list of the gates it holds; a nested hold only counts.
//   2. The gate prefers the checkpoint: once it asks, new (outermost) shared
//      holds wait, so a stream of writers cannot starve it. Writers already
//      inside finish, and the checkpoint's hold is short.
//   3. REQUIRES: a thread holding the gate shared never asks for it
//      exclusively (it would wait for itself), and exclusive holders are
//      serialised by the caller (CowPageStore::Checkpoint runs one at a time).
//
// The state is one atomic word: the reader count, plus a bit for the
// checkpoint. Waiting uses C++20 atomic wait/notify (a futex), so neither
// side spins for long.
#pragma once

#include <atomic>
#include <cstdint>

namespace mvdb {

class CheckpointGate {
 public:
  CheckpointGate() = default;
  CheckpointGate(const CheckpointGate&) = delete;
  CheckpointGate& operator=(const CheckpointGate&) = delete;

  // Holds the gate shared until destroyed (or Release). Move-only.
  class [[nodiscard]] SharedHold {
   public:
    SharedHold() = default;
    explicit SharedHold(CheckpointGate* gate);
    SharedHold(SharedHold&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    SharedHold& operator=(SharedHold&& other) noexcept;
    SharedHold(const SharedHold&) = delete;
    SharedHold& operator=(const SharedHold&) = delete;
    ~SharedHold() { Release(); }
    void Release();

   private:
    CheckpointGate* gate_ = nullptr;
  };

  // Holds the gate exclusively until destroyed. Move-only.
  class [[nodiscard]] ExclusiveHold {
   public:
    explicit ExclusiveHold(CheckpointGate* gate);
    ExclusiveHold(const ExclusiveHold&) = delete;
    ExclusiveHold& operator=(const ExclusiveHold&) = delete;
    ~ExclusiveHold();

   private:
    CheckpointGate* gate_;
  };

  // `gate` may be null (no checkpointing): the hold is then empty.
  static SharedHold HoldShared(CheckpointGate* gate) {
    return gate == nullptr ? SharedHold() : SharedHold(gate);
  }

  // Whether the calling thread holds this gate shared.
  bool HeldByThisThread() const;

 private:
  static constexpr uint32_t kExclusive = 1u << 31;  // below it: the shared count

  void LockShared();
  void UnlockShared();
  void LockExclusive();
  void UnlockExclusive();

  std::atomic<uint32_t> state_{0};
};

}  // namespace mvdb
