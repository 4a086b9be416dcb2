// Histogram's cold paths: merging per-thread histograms and reading
// percentiles once a run is over (histogram.h has the layout).
#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace mvdb::bench {

void Histogram::Clear() {
  counts_.fill(0);
  count_ = 0;
  max_ = 0;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::BucketUpperBound(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  // Bucket 64 * shift + m (m in [64, 128)) holds [m << shift, (m + 1) << shift).
  const uint64_t shift = bucket / kSubBuckets - 1;
  const uint64_t mantissa = bucket - kSubBuckets * shift;
  const uint64_t next = (mantissa + 1) << shift;  // wraps to 0 for the very last bucket
  return next == 0 ? UINT64_MAX : next - 1;
}

uint64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) return std::min(BucketUpperBound(b), max_);
  }
  return max_;
}

}  // namespace mvdb::bench
