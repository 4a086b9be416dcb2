#!/usr/bin/env python3
"""Endless input against the mvdb program (issue 11, item 8).

A line or a statement may hold at most 64 MiB (error 54000, PostgreSQL's
"program limit exceeded"; PostgreSQL itself refuses a query past 1 GB):
`-f /dev/zero`, `\\i /dev/zero`, standard input from /dev/zero, and 70 MB of
lines without a ';' (in code or in an open string) each end quickly with
that error and bounded memory (peak RSS from wait4; a watchdog kills a child
past 2 GiB or twice the time limit). A script that cannot be read to its end
exits 1; `\\i` of one is an error the script goes on after (unless --bail).

    shell_endless_input_test.py path/to/mvdb
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 60.0
# What a bounded reader may reach: the 64 MiB line, its string's growth and
# the allocator's slack (ASan's quarantine included); without the bound the
# same inputs pass gigabytes within seconds.
MAX_RSS_KB = 768 * 1024
WATCHDOG_KB = 2 * 1024 * 1024


def run_bounded(argv, stdin, feed=None):
    """Runs mvdb to its end under a watchdog; returns (status, stdout, stderr, peak KB, s)."""
    start = time.monotonic()
    child = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    outputs = {}

    def drain(name, stream):
        outputs[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("out", child.stdout), ("err", child.stderr))]
    for reader in readers:
        reader.start()
    feeder = None
    if feed is not None:
        def write_all():
            try:
                for chunk in feed:
                    child.stdin.write(chunk)
                child.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass  # mvdb stopped reading: expected
        feeder = threading.Thread(target=write_all, daemon=True)
        feeder.start()
    killed = None
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid == child.pid:
            break
        try:
            with open(f"/proc/{child.pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            rss = 0
        elapsed = time.monotonic() - start
        if killed is None and (rss > WATCHDOG_KB or elapsed > 2 * TIMEOUT):
            killed = f"killed at {rss} KB after {elapsed:.1f} s"
            os.kill(child.pid, signal.SIGKILL)
        time.sleep(0.02)  # a watchdog's pace, not a synchronisation
    child.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    if feeder is not None:
        feeder.join()
    if killed:
        raise AssertionError(f"{argv}: {killed}")
    return (child.returncode, outputs["out"].decode(errors="replace"),
            outputs["err"].decode(errors="replace"), usage.ru_maxrss, time.monotonic() - start)


def expect_bounded(what, result, status, stderr_has, stdout_has=()):
    code, out, err, peak_kb, seconds = result
    if code != status:
        raise AssertionError(f"{what}: exit status {code}, not {status}; stderr: {err!r}")
    for text in stderr_has:
        if text not in err:
            raise AssertionError(f"{what}: stderr lacks {text!r}: {err!r}")
    for text in stdout_has:
        if text not in out:
            raise AssertionError(f"{what}: stdout lacks {text!r}: {out!r}")
    if peak_kb > MAX_RSS_KB:
        raise AssertionError(f"{what}: peak RSS {peak_kb} KB, over {MAX_RSS_KB} KB")
    if seconds > TIMEOUT:
        raise AssertionError(f"{what}: took {seconds:.1f} s")
    print(f"  {what}: status {code}, peak RSS {peak_kb // 1024} MiB, {seconds:.1f} s")


def endless_input(mvdb):
    too_long_line = "ERROR:  54000 line is too long (more than 67108864 bytes)"
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "db")
        expect_bounded("-f /dev/zero", run_bounded([mvdb, "-f", "/dev/zero", db],
                                                    subprocess.DEVNULL),
                       1, [too_long_line, "mvdb: /dev/zero: the rest of the input is not read"])
        with open("/dev/zero", "rb") as zero:
            expect_bounded("standard input from /dev/zero", run_bounded([mvdb, db], zero),
                           1, [too_long_line, "standard input: the rest of the input is not read"])
        script = os.path.join(tmp, "script.sql")
        with open(script, "w") as f:
            f.write("\\i /dev/zero\nSELECT 1 AS after;\n")
        # \i of an endless file is an error; the script goes on (as psql's
        # \i of an unreadable file), --bail stops there with status 1.
        with open(script, "rb") as stdin:
            expect_bounded("\\i /dev/zero", run_bounded([mvdb, db], stdin), 0,
                           [too_long_line], [" after "])
        with open(script, "rb") as stdin:
            result = run_bounded([mvdb, "--bail", db], stdin)
        expect_bounded("\\i /dev/zero with --bail", result, 1, [too_long_line])
        if " after " in result[1]:
            raise AssertionError("--bail ran the statement after \\i /dev/zero")

        # 70 MB of lines and no ';': a statement over the limit. Each line
        # is scanned once (a rescan of the statement at every line would
        # take hours here).
        line = b"x" * 1023 + b"\n"
        feed = (line * 1024 for _ in range(70))
        expect_bounded("70 MB without ';'",
                       run_bounded([mvdb, db], subprocess.PIPE, feed), 1,
                       ["ERROR:  54000 statement is too long (more than 67108864 bytes)"])
        # Inside a string literal that never ends, the same.
        feed = (b"SELECT '" if i == 0 else line * 1024 for i in range(71))
        expect_bounded("70 MB in an open string",
                       run_bounded([mvdb, db], subprocess.PIPE, feed), 1,
                       ["ERROR:  54000 statement is too long (more than 67108864 bytes)"])
        # The database is intact and usable afterwards.
        done = subprocess.run([mvdb, "-q", "-c", "SELECT 42 AS fine", db], capture_output=True,
                              text=True, timeout=TIMEOUT)
        if done.returncode != 0 or " 42" not in done.stdout:
            raise AssertionError(f"after the endless inputs: {done.returncode} {done.stdout!r} "
                                 f"{done.stderr!r}")


def main():
    endless_input(sys.argv[1])
    print("shell endless input test: passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as error:
        print(f"FAIL: {error}", file=sys.stderr)
        sys.exit(1)
