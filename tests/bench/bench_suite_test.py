#!/usr/bin/env python3
"""bench/run-suite --quick end to end: the suite still runs, and it measures
every configuration issue 12's targets name.

Runs `bench/run-suite --quick` (50,000 keys, half-second runs) with mvdb and
the four peers the targets are measured against (RocksDB, LevelDB, LMDB,
WiredTiger), all three parts, into a temporary folder, and checks what the
lead's final `bench/run-suite --repeat 3` relies on: exit status 0, the cold
invocations (--mode cold, and --use-existing-db 1 with the small cache) in
commands.txt, every JSON line carrying its mode, the warm groups and the
cold ones in benchmarks.md, and issue 12's targets table with a figure, a
ratio and a verdict in every row (none "not measured").

usage: bench_suite_test.py path/to/build   (the folder holding bin/mvdb-bench)
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ENGINES = ["mvdb", "rocksdb", "leveldb", "lmdb", "wiredtiger"]
TARGET_ROWS = 16  # bench/report.py's TARGETS


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    build = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="mvdb-suite-test-", dir="/var/tmp") as tmp:
        out = os.path.join(tmp, "results")
        docs = os.path.join(tmp, "docs")
        env = dict(os.environ, MVDB_BENCH_DIR=tmp)
        run = subprocess.run([os.path.join(ROOT, "bench", "run-suite"), "--quick", "--build", build,
                              "--out", out, "--docs", docs, "--engines", ",".join(ENGINES)],
                             capture_output=True, text=True, timeout=1500, env=env)
        if run.returncode != 0:
            fail("run-suite exit %d\n%s\n%s" % (run.returncode, run.stdout[-3000:],
                                                 run.stderr[-3000:]))
        with open(os.path.join(out, "commands.txt")) as f:
            commands = f.read()
        runs = {}
        for path in glob.glob(os.path.join(out, "*.jsonl")):
            with open(path) as f:
                runs[os.path.basename(path)] = [json.loads(line) for line in f]
        with open(os.path.join(docs, "benchmarks.md")) as f:
            markdown = f.read()
        plots = os.listdir(os.path.join(docs, "benchmarks"))
        if glob.glob(os.path.join(tmp, "mvdb-suite.*")):
            fail("run-suite left its data folder behind")

    for e in ENGINES:
        if ("--engine %s --workload readrandom,readseq " % e) not in commands:
            fail("no cold invocation of %s in commands.txt" % e)
    if commands.count("--mode cold") != 2 * len(ENGINES) or \
            commands.count("--use-existing-db 1") != len(ENGINES):
        fail("cold invocations in commands.txt:\n" + commands)
    for name, lines in runs.items():
        mode = "cold" if name.startswith("cold-") else "warm"
        if not lines or any(r.get("mode") != mode for r in lines):
            fail("%s: %d lines, modes %r (expected %s)" % (
                name, len(lines), sorted({str(r.get("mode")) for r in lines}), mode))
    small = [r for name, lines in runs.items() if name.startswith("cold-2mb-") for r in lines]
    if sorted(r["engine"] for r in small) != sorted(ENGINES) or \
            any(r["workload"] != "readrandom" or r["cache_mb"] != 2 for r in small):
        fail("the small-cache cold runs: %r" % [(r["engine"], r["workload"], r["cache_mb"])
                                                for r in small])

    # --quick's "8x" is 6x: a cache of at least 1 MiB for 5.5 MiB of data.
    for heading in ("## In cache", r"## \dx cache", "## Cold runs", "## Cold, in cache",
                    r"## Cold, 2 MiB cache", "## Issue 12's and 13's targets"):
        if not re.search("^" + heading + r"\b", markdown, re.M):
            fail("benchmarks.md has no %r" % heading)
    section = markdown.split("## Issue 12's and 13's targets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and
            not line.startswith("| target")]
    if len(rows) != TARGET_ROWS:
        fail("the targets table has %d rows:\n%s" % (len(rows), section))
    for row in rows:
        if not row.endswith(("| met |", "| **not met** |")):
            fail("a target without its figures: " + row)
    if not any(p.startswith("throughput-cold-") and p.endswith(".png") for p in plots):
        fail("no plot of the cold runs: %r" % plots)
    print("ok: run-suite --quick, %d invocations, %d targets checked" % (len(runs), len(rows)))


if __name__ == "__main__":
    main()
