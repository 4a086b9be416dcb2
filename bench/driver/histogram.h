// A latency histogram for mvdb-bench: every operation of a run is recorded
// (no sampling), so p99.9 and max are the run's own, not an estimate.
//
// Layout (HdrHistogram's idea, fixed at 6 significant bits): values below
// 64 ns have a bucket each; above, every power of two [2^e, 2^(e+1)) is cut
// into 64 equal buckets of width 2^(e-6), so a bucket is at most 1/64 of
// the values it holds and a percentile is off by at most 1/64 (1.6%). That
// is 3,776 counters (30 KiB) for the whole uint64 range, with no
// configuration and no overflow. Record is a count-leading-zeros, two
// shifts and an increment: a few nanoseconds, next to the ~20 ns of the
// clock read around each operation.
//
// Threading: one Histogram per thread (Record is not atomic); Merge them
// once the threads are done.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace mvdb::bench {

class Histogram {
 public:
  Histogram() { Clear(); }

  void Clear();

  // Adds one value (nanoseconds).
  void Record(uint64_t value) {
    ++counts_[BucketOf(value)];
    ++count_;
    if (value > max_) max_ = value;
  }

  // Adds every value recorded in `other`.
  void Merge(const Histogram& other);

  // The value at percentile p (0 < p <= 100): the smallest v such that at
  // least p% of the values are <= v, rounded up to its bucket's upper end
  // (and never above Max()). 0 when empty.
  uint64_t Percentile(double p) const;

  uint64_t Max() const { return max_; }
  uint64_t Count() const { return count_; }

  static constexpr int kSubBucketBits = 6;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 64
  // 64 exact buckets, then 64 per power of two from 2^6 to 2^63.
  static constexpr size_t kBuckets = kSubBuckets + (64 - kSubBucketBits) * kSubBuckets;

  static size_t BucketOf(uint64_t value) {
    if (value < kSubBuckets) return static_cast<size_t>(value);
    const int exponent = 63 - std::countl_zero(value);  // >= 6
    const int shift = exponent - kSubBucketBits;
    // value >> shift is in [64, 128): its low 6 bits pick the sub-bucket.
    return static_cast<size_t>(kSubBuckets * static_cast<uint64_t>(shift) + (value >> shift));
  }
  // The largest value that falls in bucket b.
  static uint64_t BucketUpperBound(size_t bucket);

 private:
  std::array<uint64_t, kBuckets> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace mvdb::bench
