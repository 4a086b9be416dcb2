#!/usr/bin/env python3
"""The differential test of WHERE (issue 11, item 1): random predicates over
every column type and mix of types, answered by mvdb through every access
path (primary key point and range, secondary index, full scan), compared
with the full scan of the same rows and with PostgreSQL 15's answers
recorded in expected_pg15.tsv (record_postgres.py regenerates them).

    run_differential.py path/to/mvdb [--expected FILE] [--predicates N]

The workload comes from workload.py with its fixed seed; MVDB_SEED=<n> runs
another seed, which is then compared with the full scan only (PostgreSQL's
answers are recorded for the fixed seed). The seed is printed on failure.
The run also counts the access paths EXPLAIN reports, and fails if any
kind was never taken, so the comparison cannot pass by scanning everything.
Standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload as wl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH_KINDS = ["Primary key point lookup", "Primary key range scan", "Index scan using",
              "Full scan"]


def load_expected(path):
    """The recorded answers: (seed, predicates per data set, [(set, predicate, answer)])."""
    seed = count = None
    answers = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# seed "):
                seed, count = (int(x) for x in line[len("# seed "):].split(" predicates "))
            elif line.strip() and not line.startswith("#"):
                answers.append(tuple(json.loads(line)))
    return seed, count, answers


def run_mvdb(mvdb, work, script):
    path = os.path.join(work, "workload.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(script)
    done = subprocess.run([mvdb, "-q", "--csv", "--sync", "off", "-f", path,
                           os.path.join(work, "db")], capture_output=True, text=True,
                          timeout=600)
    return done


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mvdb")
    parser.add_argument("--expected", default=os.path.join(HERE, "expected_pg15.tsv"))
    parser.add_argument("--predicates", type=int, default=None,
                        help="per data set (default: as many as were recorded)")
    args = parser.parse_args()

    recorded_seed, recorded_count, expected = load_expected(args.expected)
    seed = int(os.environ.get("MVDB_SEED", recorded_seed))
    count = args.predicates or recorded_count
    with_postgres = seed == recorded_seed and count == recorded_count
    started = time.monotonic()
    work = wl.Workload(seed, count)

    lines = work.setup_sql(postgres=False)
    for n, (data_set, predicate) in enumerate(work.queries):
        for table, key, indexes in wl.TABLES[data_set]:
            query = wl.Workload.query_sql(table, predicate)
            lines.append(query.replace("SELECT ", f"SELECT 'q{n}:{table}', ", 1) + ";")
            if key is not None or indexes:
                lines.append(f"EXPLAIN {query};")
    done = None
    with tempfile.TemporaryDirectory(prefix="mvdb-differential-") as tmp:
        done = run_mvdb(args.mvdb, tmp, "\n".join(lines) + "\n")

    failures = []
    if done.returncode != 0:
        failures.append(f"mvdb exited with {done.returncode}")
    answers = {}
    paths = {kind: 0 for kind in PATH_KINDS}
    for line in done.stdout.splitlines():
        m = re.match(r"^q(\d+):(\w+),(.*)$", line)
        if m:
            answers[(int(m.group(1)), m.group(2))] = m.group(3)
            continue
        for kind in PATH_KINDS:
            if line.startswith(kind):
                paths[kind] += 1
    errors = [line for line in done.stderr.splitlines() if line.strip()]

    compared_pg = 0
    for n, (data_set, predicate) in enumerate(work.queries):
        full = answers.get((n, wl.FULL_SCAN_TABLE[data_set]))
        for table, _, _ in wl.TABLES[data_set]:
            got = answers.get((n, table))
            if got != full:
                failures.append(f"{table} answers {got!r}, the full scan {full!r}: "
                                f"WHERE {predicate}")
        if with_postgres:
            want_set, want_predicate, want = expected[n]
            if (want_set, want_predicate) != (data_set, predicate):
                failures.append(f"query {n} is not the recorded one (workload.py changed? "
                                "run record_postgres.py)")
                break
            if want.startswith("ERROR"):
                # PostgreSQL refused it: mvdb must not answer either.
                if full is not None:
                    failures.append(f"PostgreSQL: {want}, mvdb answers {full!r}: "
                                    f"WHERE {predicate}")
            elif full != want:
                failures.append(f"{wl.FULL_SCAN_TABLE[data_set]} answers {full!r}, "
                                f"PostgreSQL 15 {want!r}: WHERE {predicate}")
            compared_pg += 1
    expected_errors = sum(1 for _, _, want in expected if want.startswith("ERROR")) \
        if with_postgres else 0
    if len(errors) != expected_errors:
        failures.append(f"{len(errors)} statements failed in mvdb, {expected_errors} in "
                        f"PostgreSQL; first: {errors[:3]}")
    for kind, seen in paths.items():
        if seen == 0:
            failures.append(f"no query took the path '{kind}'")

    elapsed = time.monotonic() - started
    print(f"seed {seed}: {len(work.queries)} predicates on {sum(len(t) for t in wl.TABLES.values())}"
          f" tables, {len(answers)} answers, {compared_pg} compared with PostgreSQL 15;"
          f" paths {paths}; {elapsed:.1f} s")
    if failures:
        for failure in failures[:40]:
            print("FAIL", failure)
        print(f"{len(failures)} failures (seed {seed}; rerun with MVDB_SEED={seed})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
