// Bounded lines from a file descriptor (shell/line_reader.h).
#include "shell/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace mvdb::shell {
namespace {

constexpr size_t kReadChunk = 64 << 10;

std::string ErrnoText(int err) {
  char text[128];
  // GNU strerror_r returns the message, which may not be in `text`.
  return strerror_r(err, text, sizeof(text));
}

}  // namespace

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path,
                                                     size_t max_line_bytes) {
  int fd = -1;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(path, errno);
  // A directory opens; refuse it now rather than at the first read, before
  // anything (a database) is created for it.
  struct stat info {};
  if (fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    close(fd);
    return Status::FromErrno(path + ": could not read from input file", EISDIR);
  }
  return std::unique_ptr<LineReader>(new LineReader(fd, max_line_bytes, /*owned=*/true));
}

LineReader::LineReader(int fd, size_t max_line_bytes)
    : LineReader(fd, max_line_bytes, /*owned=*/false) {}

LineReader::LineReader(int fd, size_t max_line_bytes, bool owned)
    : fd_(fd), max_line_bytes_(max_line_bytes), owned_(owned), buffer_(kReadChunk) {}

LineReader::~LineReader() {
  if (owned_) close(fd_);
}

bool LineReader::Fill() {
  begin_ = end_ = 0;
  while (true) {
    const ssize_t got = read(fd_, buffer_.data(), buffer_.size());
    if (got > 0) {
      end_ = static_cast<size_t>(got);
      return true;
    }
    if (got == 0) {
      done_ = Read::kEnd;
      return false;
    }
    if (errno == EINTR) continue;
    error_ = ErrnoText(errno);
    done_ = Read::kError;
    return false;
  }
}

LineReader::Read LineReader::ReadLine(std::string* line) {
  line->clear();
  if (done_ != Read::kLine) return done_;
  while (true) {
    const char* const begin = buffer_.data() + begin_;
    const size_t available = end_ - begin_;
    const auto* newline = static_cast<const char*>(std::memchr(begin, '\n', available));
    const size_t take = newline != nullptr ? static_cast<size_t>(newline - begin) : available;
    // Never hold more than the limit: endless input stops here.
    if (line->size() + take > max_line_bytes_) {
      line->clear();
      done_ = Read::kTooLong;
      return done_;
    }
    line->append(begin, take);
    if (newline != nullptr) {
      begin_ += take + 1;
      return Read::kLine;
    }
    if (!Fill()) {
      if (done_ == Read::kError) {
        line->clear();
        return done_;
      }
      // The last line, without '\n', is still a line.
      return line->empty() ? done_ : Read::kLine;
    }
  }
}

}  // namespace mvdb::shell
