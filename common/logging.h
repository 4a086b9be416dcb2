// Minimal diagnostics: one line to standard error, prefixed "mvdb: ".
//
// The engine logs rarely (which I/O backend was chosen, recovery steps); it
// never logs on a hot path. Tests can silence it with SetLogLevel.
#pragma once

#include <string_view>

namespace mvdb {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kNone = 4 };

// Messages below `level` are dropped. Default: kWarning, or the value of the
// MVDB_LOG environment variable (debug, info, warning, error, none).
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

void Log(LogLevel level, std::string_view message);

}  // namespace mvdb
