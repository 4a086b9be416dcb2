#!/usr/bin/env python3
"""Signals against the mvdb program (issue 11, item 10).

Signals. Without DBDIR the shell runs on a temporary database, which must not
outlive it (docs/cli.md), whatever ends it:
- SIGTERM, SIGHUP and SIGINT while a script waits for more input end mvdb by
  that signal (the exit status says so, as before) and remove the temporary
  database;
- at the terminal, Ctrl-C (SIGINT) drops the line and the statement being
  typed and gives a fresh prompt, as psql does (psql's MainLoop resets its
  query buffer on SIGINT); SIGTERM then ends the shell, removes the database
  and leaves the terminal as it found it (canonical mode, echo).

    shell_signal_test.py path/to/mvdb
"""
import os
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shell_pty_test import Terminal  # noqa: E402

TIMEOUT = 30.0


def temporary_databases(tmp):
    return sorted(name for name in os.listdir(tmp) if name.startswith("mvdb-"))


def read_until(stream, marker, process):
    """Reads the child's output until `marker` appears."""
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {marker!r}; got {seen!r}")
        ready, _, _ = select.select([stream], [], [], left)
        if ready:
            data = os.read(stream.fileno(), 4096)
            if not data:
                raise AssertionError(f"mvdb exited (status {process.wait()}) before {marker!r}: "
                                     f"{seen!r}")
            seen += data
    return seen


def signal_ends_a_script(mvdb, signum):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        child = subprocess.Popen([mvdb, "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env)
        try:
            child.stdin.write(b"CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n"
                              b"SELECT x AS ready FROM t;\n")
            child.stdin.flush()
            read_until(child.stdout, b"(1 row)", child)
            if len(temporary_databases(tmp)) != 1:
                raise AssertionError(f"no temporary database while running: {os.listdir(tmp)}")
            # The shell now waits for more input on its standard input.
            child.send_signal(signum)
            status = child.wait(timeout=TIMEOUT)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        name = signal.Signals(signum).name
        if status != -signum:
            raise AssertionError(f"{name}: exit status {status}, not death by {name}; stderr: "
                                 f"{child.stderr.read()!r}")
        left = temporary_databases(tmp)
        if left:
            raise AssertionError(f"{name}: the temporary database was left behind: {left}")


def terminal_interrupt_and_term(mvdb):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TERM="dumb", TMPDIR=tmp, HOME=tmp,
                   MVDB_HISTORY=os.path.join(tmp, "history"))
        term = Terminal([mvdb], env)
        try:
            term.expect(r"temporary: removed at exit")
            term.expect(r"main=# ")
            # A statement over two lines, dropped by Ctrl-C at the second.
            term.send("SELECT 1 AS one\r")
            term.expect(r"main-# ")
            term.send("+ 1")
            term.expect(r"\+ 1")  # read by the shell: what Ctrl-C must drop
            term.process.send_signal(signal.SIGINT)
            term.expect(r"\nmain=# ")
            # What follows is a statement of its own: had anything of the
            # dropped text been kept, this would be a syntax error.
            term.send("SELECT 2 AS two;\r")
            term.expect(r" two \n-----\n   2\n\(1 row\)\n")
            term.expect(r"main=# ")
            if len(temporary_databases(tmp)) != 1:
                raise AssertionError(f"no temporary database while running: {os.listdir(tmp)}")
            term.process.send_signal(signal.SIGTERM)
            status = term.close()
        except AssertionError:
            term.process.kill()
            term.close()
            raise
        if status != -signal.SIGTERM:
            raise AssertionError(f"terminal: SIGTERM gave exit status {status}")
        left = temporary_databases(tmp)
        if left:
            raise AssertionError(f"terminal: the temporary database was left behind: {left}")


def terminal_settings_restored(mvdb):
    """SIGTERM while readline holds the terminal leaves it in canonical mode with echo."""
    flags = termios.ICANON | termios.ECHO
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TERM="dumb", TMPDIR=tmp, HOME=tmp,
                   MVDB_HISTORY=os.path.join(tmp, "history"))
        term = Terminal([mvdb], env)
        try:
            term.expect(r"main=# ")
            during = termios.tcgetattr(term.master)[3]
            if during & flags:
                raise AssertionError(f"readline does not hold the terminal: lflag {during:#x}")
            term.process.send_signal(signal.SIGTERM)
            term.process.wait(timeout=TIMEOUT)
            after = termios.tcgetattr(term.master)[3]
        finally:
            if term.process.poll() is None:
                term.process.kill()
            term.close()
        if after & flags != flags:
            raise AssertionError(f"terminal modes not restored after SIGTERM: lflag {after:#x}")


def main():
    mvdb = sys.argv[1]
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal_ends_a_script(mvdb, signum)
    terminal_interrupt_and_term(mvdb)
    terminal_settings_restored(mvdb)
    print("shell signal test: passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as error:
        print(f"FAIL: {error}", file=sys.stderr)
        sys.exit(1)
