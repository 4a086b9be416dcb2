#!/usr/bin/env python3
"""mvdb-bench end to end, as bench/run-suite uses it (docs/cli.md, docs/output.md).

Runs every workload on every engine of this build on a small data set and
checks what the suite and the report rely on: exit status 0, one JSON
object per run with the contract's fields, every (engine, workload) pair
present (txn-transfer only for engines with transactions, at both levels
and both distributions), sane figures (operations done, latency
percentiles in order, write amplification = bytes written / user bytes),
and that the six peers from Debian's packages were built in (scripts/setup
installs them: a build without them would silently compare mvdb with
nothing); then that bench/report.py makes the report and its plots from
those lines. Then the usage errors: an unknown engine or workload exits 2
naming the valid ones.

Then the cold mode (--mode cold) on mvdb and three peers: every run is a
process of its own (its own pid, none the loader's), every line says
"mode": "cold", readseq after YCSB D counts the keys D inserted in another
process, and a second invocation with --use-existing-db 1 and a smaller
cache reads the same data set without loading it (one that finds no
database fails, saying so); report.py shows the cold groups and fills the
cold rows of issue 12's targets from them.

usage: bench_smoke_test.py path/to/mvdb-bench
"""
import json
import math
import os
import subprocess
import sys
import tempfile

CONTRACT_FIELDS = [
    "engine", "workload", "num", "threads", "ops_per_sec", "p50_us", "p95_us", "p99_us",
    "p999_us", "bytes_written", "user_bytes", "write_amp", "db_bytes", "space_amp", "aborts",
]
PEERS = ["rocksdb", "rocksdb-txn", "leveldb", "lmdb", "wiredtiger", "sqlite"]
TRANSACTIONAL = {"mvdb", "rocksdb-txn", "lmdb", "wiredtiger", "sqlite"}


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def listing(bench):
    out = subprocess.run([bench, "--list"], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return lines["engines"].split(", "), lines["workloads"].split(", ")


def check_report(jsonl, docs):
    """bench/report.py turns the runs into the markdown report and its plots."""
    report = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                          "report.py")
    run = subprocess.run([sys.executable, report, os.path.dirname(jsonl), "--docs", docs],
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        fail("report.py exit %d\n%s" % (run.returncode, run.stderr[-3000:]))
    with open(os.path.join(docs, "benchmarks.md")) as f:
        markdown = f.read()
    for needle in ("| readrandom", "mvdb / best peer", "Where mvdb loses", "benchmarks/throughput-"):
        if needle not in markdown:
            fail("report.py wrote no %r into benchmarks.md" % needle)
    plots = [p for p in os.listdir(os.path.join(docs, "benchmarks")) if p.endswith(".png")]
    if len(plots) < 4 or any(os.path.getsize(os.path.join(docs, "benchmarks", p)) < 1000
                             for p in plots):
        fail("report.py drew %r" % plots)


def read_runs(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


COLD_ENGINES = ["mvdb", "leveldb", "lmdb", "wiredtiger"]
COLD_WORKLOADS = ["readrandom", "readseq", "ycsb-d", "readseq"]


def check_cold(bench):
    """--mode cold: a process per run, the mode in every line, the data set carried over."""
    with tempfile.TemporaryDirectory(prefix="mvdb-bench-cold-", dir="/var/tmp") as tmp:
        db = os.path.join(tmp, "db")
        out = os.path.join(tmp, "cold.jsonl")
        # 20,000 keys: 2.2 MiB of data, twice the 1 MiB cache of the second invocation.
        common = ["--engine", ",".join(COLD_ENGINES), "--num", "20000", "--reads", "5000",
                  "--duration", "2", "--db", db, "--json", out, "--mode", "cold"]
        run = subprocess.run([bench, "--workload", ",".join(COLD_WORKLOADS)] + common,
                             capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            fail("--mode cold: exit %d\n%s" % (run.returncode, run.stderr[-3000:]))
        first = read_runs(out)
        # The same data sets, found again, with a cache smaller than the data.
        run = subprocess.run([bench, "--workload", "readrandom", "--cache-mb", "1",
                              "--use-existing-db", "1"] + common,
                             capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            fail("--use-existing-db 1: exit %d\n%s" % (run.returncode, run.stderr[-3000:]))
        runs = read_runs(out)
        second = runs[len(first):]
        # No database there: the run says so instead of reading an empty one.
        empty = subprocess.run([bench, "--engine", "mvdb", "--workload", "readrandom", "--num",
                                "3000", "--db", os.path.join(tmp, "none"), "--mode", "cold",
                                "--use-existing-db", "1"],
                               capture_output=True, text=True, timeout=120)
        if empty.returncode != 1 or "holds no database" not in empty.stderr:
            fail("--use-existing-db 1 without a data set: exit %d, stderr %r" %
                 (empty.returncode, empty.stderr))
        report_docs = os.path.join(tmp, "docs")
        markdown = run_report(tmp, report_docs)

    expected = [(e, w) for e in COLD_ENGINES for w in COLD_WORKLOADS]
    got = [(r["engine"], r["workload"]) for r in first]
    if got != expected:
        fail("--mode cold ran %r, not %r" % (got, expected))
    if [(r["engine"], r["workload"]) for r in second] != [(e, "readrandom") for e in COLD_ENGINES]:
        fail("--use-existing-db 1 ran %r" % [(r["engine"], r["workload"]) for r in second])
    pids = [r.get("pid") for r in runs]
    if any(r.get("mode") != "cold" for r in runs):
        fail("--mode cold wrote lines of mode %r" % sorted({str(r.get("mode")) for r in runs}))
    if len(set(pids)) != len(runs) or os.getpid() in pids:
        fail("cold runs share processes: pids %r" % pids)
    for r in first:
        if r["cache_mb"] != 64 or r["ops_per_sec"] <= 0:
            fail("cold %s %s: cache %r, %r ops/s" % (r["engine"], r["workload"], r["cache_mb"],
                                                     r["ops_per_sec"]))
    for r in second:
        if r["cache_mb"] != 1 or r["ops"] <= 0:
            fail("cold small cache %s: cache %r, %r reads" % (r["engine"], r["cache_mb"], r["ops"]))
    # readseq after YCSB D ran in a process of its own and found D's inserts.
    for e in COLD_ENGINES:
        d = next(r for r in first if r["engine"] == e and r["workload"] == "ycsb-d")
        scans = [r for r in first if r["engine"] == e and r["workload"] == "readseq"]
        inserted = scans[1]["ops"] - scans[0]["ops"]
        if scans[0]["ops"] != 20000 or inserted <= 0 or inserted > d["ops"]:
            fail("%s: readseq saw %d then %d keys around ycsb-d" % (e, scans[0]["ops"],
                                                                  scans[1]["ops"]))
    for needle in ("## Cold runs", "## Cold, in cache", "## Cold, 1 MiB cache (data 2.2x)",
                   "| cold, in cache: readrandom | ≥ 1.0× wiredtiger |",
                   "| cold, in cache: readrandom | ≥ 0.80× lmdb |",
                   "| cold, in cache: readseq | ≥ 1.0× wiredtiger |",
                   "| cold, in cache: readseq | ≥ 0.80× lmdb |",
                   "| cold, 1 MiB cache (data 2.2x): readrandom | ≥ 1.0× leveldb |"):
        if needle not in markdown:
            fail("report.py wrote no %r into benchmarks.md" % needle)
    cold_targets = [line for line in markdown.splitlines() if line.startswith("| cold,")]
    if len(cold_targets) != 5 or not all(line.endswith(("| met |", "| **not met** |"))
                                         for line in cold_targets):
        fail("the cold targets are not all measured:\n" + "\n".join(cold_targets))


def run_report(results, docs):
    report = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                          "report.py")
    run = subprocess.run([sys.executable, report, results, "--docs", docs, "--no-plots"],
                         capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        fail("report.py exit %d\n%s" % (run.returncode, run.stderr[-3000:]))
    with open(os.path.join(docs, "benchmarks.md")) as f:
        return f.read()


def main():
    bench = sys.argv[1]
    engines, workloads = listing(bench)
    missing = [p for p in PEERS if p not in engines]
    if missing:
        fail("mvdb-bench was built without " + ", ".join(missing) + " (run scripts/setup)")

    with tempfile.TemporaryDirectory(prefix="mvdb-bench-smoke-", dir="/var/tmp") as tmp:
        out = os.path.join(tmp, "runs.jsonl")
        cmd = [bench, "--engine", ",".join(engines), "--workload", ",".join(workloads),
               "--num", "3000", "--threads", "1,2", "--duration", "0.2",
               "--db", os.path.join(tmp, "db"), "--json", out]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            fail("exit %d\n%s" % (run.returncode, run.stderr[-3000:]))
        with open(out) as f:
            runs = [json.loads(line) for line in f]
        check_report(out, os.path.join(tmp, "docs"))

    seen = set()
    for r in runs:
        name = "%s %s %s thr" % (r.get("engine"), r.get("workload"), r.get("threads"))
        for field in CONTRACT_FIELDS:
            if field not in r:
                fail("%s: no field %s" % (name, field))
        if r["num"] != 3000:
            fail("%s: num %r" % (name, r["num"]))
        if not r["ops_per_sec"] > 0:
            fail("%s: no operations" % name)
        pcts = [r["p50_us"], r["p95_us"], r["p99_us"], r["p999_us"], r["max_us"]]
        if pcts != sorted(pcts) or pcts[0] < 0:
            fail("%s: percentiles out of order %r" % (name, pcts))
        if r["user_bytes"] > 0:
            expected = r["bytes_written"] / r["user_bytes"]
            if not math.isclose(r["write_amp"], expected, rel_tol=1e-3, abs_tol=1e-3):
                fail("%s: write_amp %r, bytes say %r" % (name, r["write_amp"], expected))
        elif r["workload"] in ("fillseq", "fillrandom", "overwrite", "syncwrite"):
            fail("%s: a write workload that wrote no user bytes" % name)
        if not r["db_bytes"] > 0 or not r["space_amp"] > 0:
            fail("%s: no bytes on disk" % name)
        if r["workload"] == "txn-transfer":
            if r["isolation"] not in ("read-committed", "snapshot"):
                fail("%s: isolation %r" % (name, r["isolation"]))
            seen.add((r["engine"], "txn-transfer", r["isolation"], r["distribution"], r["threads"]))
        else:
            seen.add((r["engine"], r["workload"], "", "", r["threads"]))
        if r["workload"] == "syncwrite" and not r["raw_fsync_per_sec"] > 0:
            fail("%s: no raw fsync rate" % name)
        if r.get("mode") != "warm":
            fail("%s: mode %r, not warm" % (name, r.get("mode")))
    if len({r.get("pid") for r in runs}) != 1:
        fail("warm runs in several processes: %r" % sorted({r.get("pid") for r in runs}))

    for engine in engines:
        for workload in workloads:
            for threads in (1, 2):
                if workload == "txn-transfer":
                    if engine not in TRANSACTIONAL:
                        continue
                    for iso in ("read-committed", "snapshot"):
                        for dist in ("uniform", "zipfian"):
                            if (engine, workload, iso, dist, threads) not in seen:
                                fail("no run of %s %s %s %s %d" % (engine, workload, iso, dist,
                                                                   threads))
                elif (engine, workload, "", "", threads) not in seen:
                    fail("no run of %s %s on %d threads" % (engine, workload, threads))

    for args, needle in (([ "--engine", "nosuch", "--workload", "readrandom"], "mvdb"),
                         (["--engine", "mvdb", "--workload", "nosuch"], "readrandom")):
        bad = subprocess.run([bench] + args, capture_output=True, text=True)
        if bad.returncode != 2 or needle not in bad.stderr:
            fail("%r: exit %d, stderr %r" % (args, bad.returncode, bad.stderr))
    check_cold(bench)
    print("ok: %d runs of %d engines x %d workloads, and the cold mode" %
          (len(runs), len(engines), len(workloads)))


if __name__ == "__main__":
    main()
