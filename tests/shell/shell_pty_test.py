#!/usr/bin/env python3
"""The interactive SQL shell driven as a person would, through a pseudo-terminal.

Checks the banner, psql's prompts (NAME=# idle, NAME=*# in a block, NAME-#
continuing a statement), a multi-line statement, switching sessions while one
session's statement waits for a row lock (the shell does not freeze, and the
result arrives labelled when the lock is released), recalling history with
Ctrl-P, and the history file written at exit.

    shell_pty_test.py path/to/mvdb
"""
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

TIMEOUT = 10.0


class Terminal:
    def __init__(self, argv, env):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        close_fds=True, start_new_session=True)
        os.close(slave)
        self.seen = ""  # everything printed so far
        self.position = 0  # how far expect() has consumed

    def send(self, text):
        os.write(self.master, text.encode())

    def expect(self, pattern):
        """Waits until `pattern` (a regex) appears after what was consumed."""
        deadline = time.monotonic() + TIMEOUT
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.seen, self.position)
            if match:
                self.position = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; the screen so far:\n"
                                     f"{self.seen[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"mvdb exited waiting for {pattern!r}:\n{self.seen}")
                self.seen += data.decode(errors="replace").replace("\r\n", "\n")

    def close(self):
        try:
            self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self.master)
        return self.process.returncode


def main():
    mvdb = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        history = os.path.join(tmp, "history")
        env = dict(os.environ, TERM="dumb", MVDB_HISTORY=history, HOME=tmp)
        term = Terminal([mvdb, os.path.join(tmp, "db")], env)
        try:
            term.expect(r"Type \\\? for help")
            term.expect(r"main=# ")
            term.send("CREATE TABLE t (id int PRIMARY KEY, v int);\r")
            term.expect(r"CREATE TABLE\n")
            term.expect(r"main=# ")
            # A statement over two lines: the continuation prompt, then the tag.
            term.send("INSERT INTO t\r")
            term.expect(r"main-# ")
            term.send("VALUES (1, 10);\r")
            term.expect(r"INSERT 0 1\n")
            term.expect(r"main=# ")
            # Session a takes the row lock inside a block.
            term.send("\\session a\r")
            term.expect(r"a=# ")
            term.send("BEGIN;\r")
            term.expect(r"BEGIN\n")
            term.expect(r"a=\*# ")
            term.send("UPDATE t SET v = 11 WHERE id = 1;\r")
            term.expect(r"UPDATE 1\n")
            term.expect(r"a=\*# ")
            # Session b waits for it; the prompt comes back at once.
            term.send("\\session b\r")
            term.expect(r"b=# ")
            term.send("UPDATE t SET v = v + 1 WHERE id = 1;\r")
            term.expect(r"\(session b is waiting for session a\)\n")
            term.expect(r"b=# ")
            # A statement for the waiting session is refused, not queued.
            term.send("SELECT 1;\r")
            term.expect(r"ERROR:  session b is still waiting for session a")
            term.expect(r"b=# ")
            term.send("\\session a\r")
            term.expect(r"a=\*# ")
            term.send("COMMIT;\r")
            term.expect(r"COMMIT\n")
            term.expect(r"\[b\] UPDATE 1\n")
            term.expect(r"a=# ")
            term.send("SELECT v FROM t;\r")
            term.expect(r" v  \n----\n 12\n\(1 row\)\n")
            term.expect(r"a=# ")
            # History: Ctrl-P recalls the last line, Enter runs it again.
            term.send("\x10\r")
            term.expect(r" v  \n----\n 12\n\(1 row\)\n")
            term.expect(r"a=# ")
            term.send("\\q\r")
            status = term.close()
        except AssertionError:
            term.process.kill()
            term.close()
            raise
        if status != 0:
            raise AssertionError(f"mvdb exited with status {status}")
        with open(history) as f:
            lines = f.read()
        for line in ("INSERT INTO t", "VALUES (1, 10);", "SELECT v FROM t;"):
            if line not in lines:
                raise AssertionError(f"the history file lacks {line!r}:\n{lines}")
    print("shell pty test: passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as error:
        print(f"FAIL: {error}", file=sys.stderr)
        sys.exit(1)
