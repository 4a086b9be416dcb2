// SpinThenBlockMutex: a mutex for short critical sections under contention.
//
// A std::mutex that is taken sleeps in the kernel (futex) at once, and the
// holder's unlock must wake it: two system calls and a context switch, some
// microseconds, to wait for a section that lasts one or two. With two
// committers on two cores, the commit lock's waits made two threads commit
// fewer transactions than one (bench/txn_bench, transfer on 2 threads). This
// one first retries for a bounded number of pauses, then blocks as a
// std::mutex does. Meets the Lockable requirements (std::lock_guard works).
#pragma once

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mvdb {

class SpinThenBlockMutex {
 public:
  void lock() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  // About 2-4 us of pauses on current x86 cores (a pause is 40-140 cycles),
  // longer than the commit lock's section.
  static constexpr int kSpins = 100;
  std::mutex mu_;
};

}  // namespace mvdb
