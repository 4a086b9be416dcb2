#include "buffer/checkpoint_gate.h"

#include <algorithm>
#include <vector>

namespace mvdb {

namespace {

// The gates this thread holds shared, once per (possibly nested) hold.
// Rarely more than one entry, so a linear search is the fastest map.
thread_local std::vector<const CheckpointGate*> held_gates;

bool HeldHere(const CheckpointGate* gate) {
  return std::find(held_gates.begin(), held_gates.end(), gate) != held_gates.end();
}

}  // namespace

CheckpointGate::SharedHold::SharedHold(CheckpointGate* gate) : gate_(gate) {
  if (!HeldHere(gate)) gate->LockShared();  // invariant 1: nested holds only count
  held_gates.push_back(gate);
}

CheckpointGate::SharedHold& CheckpointGate::SharedHold::operator=(SharedHold&& other) noexcept {
  if (this != &other) {
    Release();
    gate_ = other.gate_;
    other.gate_ = nullptr;
  }
  return *this;
}

void CheckpointGate::SharedHold::Release() {
  if (gate_ == nullptr) return;
  // Holds nest, so the most recent entry of this gate is this hold's.
  auto it = std::find(held_gates.rbegin(), held_gates.rend(), gate_);
  held_gates.erase(std::next(it).base());
  if (!HeldHere(gate_)) gate_->UnlockShared();
  gate_ = nullptr;
}

CheckpointGate::ExclusiveHold::ExclusiveHold(CheckpointGate* gate) : gate_(gate) {
  gate_->LockExclusive();
}

CheckpointGate::ExclusiveHold::~ExclusiveHold() { gate_->UnlockExclusive(); }

bool CheckpointGate::HeldByThisThread() const { return HeldHere(this); }

void CheckpointGate::LockShared() {
  uint32_t state = state_.load(std::memory_order_relaxed);
  for (;;) {
    if ((state & kExclusive) != 0) {
      // Invariant 2: wait while a checkpoint asks or holds.
      state_.wait(state, std::memory_order_relaxed);
      state = state_.load(std::memory_order_relaxed);
      continue;
    }
    if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return;
    }
  }
}

void CheckpointGate::UnlockShared() {
  const uint32_t before = state_.fetch_sub(1, std::memory_order_release);
  // The last writer out lets a waiting checkpoint in.
  if (before == (kExclusive | 1)) state_.notify_all();
}

void CheckpointGate::LockExclusive() {
  uint32_t state = state_.fetch_or(kExclusive, std::memory_order_acquire) | kExclusive;
  while (state != kExclusive) {
    state_.wait(state, std::memory_order_acquire);
    state = state_.load(std::memory_order_acquire);
  }
}

void CheckpointGate::UnlockExclusive() {
  state_.fetch_and(~kExclusive, std::memory_order_release);
  state_.notify_all();
}

}  // namespace mvdb
