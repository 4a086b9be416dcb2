// Lines of a script for the SQL shell (-f FILE, \i FILE, standard input
// that is not a terminal), read from a file descriptor.
//
// What std::getline does not: a read error is an error, never the end of
// the input (a directory gives EISDIR at the first read, where an ifstream
// saw an empty file), and a line is never longer than `max_line_bytes`:
// reading stops there, with a buffer no bigger than that, so endless input
// without a newline (`\i /dev/zero`) ends in an error instead of taking
// all the memory.
//
// Threading: one thread uses a LineReader.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "mvdb/status.h"

namespace mvdb::shell {

class LineReader {
 public:
  enum class Read {
    kLine,     // *line holds the next line, without its '\n'
    kEnd,      // the input ended (a last line without '\n' came before)
    kError,    // reading failed: error() says why
    kTooLong,  // the line has more than max_line_bytes bytes
  };

  // Opens `path` for reading; the status names the file and the cause
  // ("FILE: No such file or directory", and for a directory, as psql,
  // "FILE: could not read from input file: Is a directory").
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path, size_t max_line_bytes);
  // Reads `fd`, which stays open (standard input).
  LineReader(int fd, size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line. After anything but kLine, returns the same again.
  Read ReadLine(std::string* line);
  // errno's text for kError ("Is a directory").
  const std::string& error() const { return error_; }

 private:
  LineReader(int fd, size_t max_line_bytes, bool owned);
  // Reads more into buffer_; false at the end of the input or an error.
  bool Fill();

  const int fd_;
  const size_t max_line_bytes_;
  const bool owned_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  size_t end_ = 0;
  Read done_ = Read::kLine;  // kLine until the input ends or fails
  std::string error_;
};

}  // namespace mvdb::shell
