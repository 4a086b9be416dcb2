#include "mvdb/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace mvdb {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_FALSE(s.IsRetryable());
}

TEST(StatusTest, CodesAndMessages) {
  Status s = Status::Corruption("data.mvdb: page 7 at offset 57344: bad checksum");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.ToString(), "Corruption: data.mvdb: page 7 at offset 57344: bad checksum");
  EXPECT_EQ(s.WithContext("open").ToString(),
            "Corruption: open: data.mvdb: page 7 at offset 57344: bad checksum");
}

TEST(StatusTest, RetryableCodes) {
  EXPECT_TRUE(Status::Conflict("x").IsRetryable());
  EXPECT_TRUE(Status::Deadlock("x").IsRetryable());
  EXPECT_TRUE(Status::LockTimeout("x").IsRetryable());
  EXPECT_TRUE(Status::SnapshotTooOld("x").IsRetryable());
  EXPECT_FALSE(Status::IOError("x").IsRetryable());
  EXPECT_FALSE(Status::Corruption("x").IsRetryable());
  EXPECT_FALSE(Status::Busy("x").IsRetryable());
}

TEST(StatusTest, FromErrnoCarriesTheText) {
  Status s = Status::FromErrno("write data.mvdb", ENOSPC);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.message(), "write data.mvdb: No space left on device");
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  MVDB_ASSIGN_OR_RETURN(int h, Half(x));
  MVDB_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::OK();
}

TEST(ResultTest, ValueOrStatus) {
  int q = 0;
  EXPECT_TRUE(Quarter(8, &q).ok());
  EXPECT_EQ(q, 2);
  Status s = Quarter(6, &q);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

TEST(ResultTest, OkStatusIsNotAValue) {
  Result<int> r{Status::OK()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mvdb
