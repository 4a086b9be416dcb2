// The isolation spec runner behind `mvdb isolation` (docs/isolation.md):
// parses spec files in the format of pg-isolation (the reference runner
// against PostgreSQL), runs every permutation against a fresh database with
// each session on its own thread, and prints the transcript exactly as
// pg-isolation prints it against PostgreSQL.
//
// pg-isolation is the reference: its parser, its statement splitter, the
// order in which it reports completions and the way psycopg2 turns values
// into text (booleans True/False, floats as Python's repr) are reproduced
// here on purpose, because transcripts are compared byte for byte. Where
// pg-isolation guesses with timeouts (a 10 s wait for a blocked session, a
// 5 s wait for a woken one), this runner decides from the lock manager's
// state instead: a session is blocked exactly when its statement waits for
// a transaction that is still open.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "mvdb/options.h"
#include "mvdb/status.h"
#include "sql/value.h"

namespace mvdb::shell {

struct IsolationStep {
  std::string name;
  std::string sql;  // the block's text, stripped
};

struct IsolationSession {
  std::string name;
  std::vector<std::string> setup;     // blocks run when the session opens
  std::vector<std::string> teardown;  // parsed, but never run (as in pg-isolation)
  std::vector<IsolationStep> steps;
};

struct IsolationSpec {
  std::vector<std::string> setup;     // run before each permutation
  std::vector<std::string> teardown;  // run after each permutation
  std::vector<IsolationSession> sessions;
  // As written; when empty, every interleaving of the sessions' steps runs.
  std::vector<std::vector<std::string>> permutations;
};

// Parses a spec as pg-isolation's parse_spec does. InvalidArgument, saying
// what was expected where, for text it cannot parse or that names a step
// no session defines.
Result<IsolationSpec> ParseIsolationSpec(std::string_view text);

// The permutations to run: the spec's own, or else every interleaving that
// keeps each session's steps in order, in pg-isolation's order.
std::vector<std::vector<std::string>> PermutationsToRun(const IsolationSpec& spec);

// pg-isolation's split_statements: cuts at ';' outside single quotes,
// strips each piece and drops empty ones.
std::vector<std::string> SplitSpecStatements(std::string_view sql);

// "read committed", "READ COMMITTED", "repeatable read", "read_committed",
// "rc", "rr", "snapshot", and PostgreSQL's "read uncommitted" (which is read
// committed there). nullopt for anything else (serializable included: mvdb
// does not provide it).
std::optional<IsolationLevel> ParseIsolationLevelName(std::string_view name);

// A value as psycopg2 hands it to pg-isolation's str(): integers in
// decimal, booleans True/False, floats as Python's repr (shortest
// round-trip: 1.0, 0.1, 1e+16, inf, nan), text as is. NULL is \N.
std::string FormatIsolationValue(const sql::Value& value);
// pg-isolation's csvq for a non-NULL value's text: quoted when empty, when
// it holds , " CR or LF, or when it starts or ends with whitespace.
std::string CsvQuoteIsolation(std::string_view text);

// Python's str.strip() (its idea of whitespace, Unicode included), and a
// name in single quotes for messages: shared by isolation_spec.cc and
// isolation_runner.cc.
std::string_view PythonStrip(std::string_view s);
std::string Quoted(std::string_view s);

struct IsolationRunOptions {
  IsolationLevel isolation = IsolationLevel::kReadCommitted;
  // Where the temporary databases go; empty means $TMPDIR or /tmp.
  std::string temp_root;
};

// Runs every permutation of `spec` on one fresh temporary database (setup
// before and teardown after each permutation, as pg-isolation does on its
// server). An error if the database cannot
// be made, a setup or teardown statement fails, or a step neither finishes
// nor waits for a lock within a minute (an engine bug, not a transcript;
// its threads and database are then left running, so the caller should
// exit). Appends the transcript lines to *transcript, also when failing.
Status RunIsolationSpec(const IsolationSpec& spec, const IsolationRunOptions& options,
                        std::vector<std::string>* transcript);

// `mvdb isolation`: runs each spec file in turn and prints its transcript
// to `out` (lines joined by newlines, then a newline, as pg-isolation's
// print does). Stops at the first spec that cannot be read, parsed or run,
// with the reason on `err`. Returns the exit status: 0 or 1.
int RunIsolationCommand(const std::vector<std::string>& spec_paths,
                        const IsolationRunOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mvdb::shell
