#!/usr/bin/env python3
"""Records PostgreSQL's answers to the differential workload into
expected_pg15.tsv (run_differential.py compares mvdb's with them).

    record_postgres.py --dsn "host=/tmp/pg port=5439 user=postgres dbname=NAME" \
        [--predicates N] [--seed N] [--output FILE]

Creates the workload's full-scan tables (u_full, n_full) in the database
named by the DSN, dropping tables of those names first, loads the rows, asks
every predicate, and writes one JSON line per query: [data set, predicate,
"count,sum,sumsq"] (an empty field for NULL, as mvdb's CSV prints it), or
"ERROR <SQLSTATE>" when PostgreSQL refuses the query. Needs psycopg2 and a
PostgreSQL 15 server; CI needs neither, it reads the recorded file.
"""
import argparse
import json
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload as wl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--predicates", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=wl.SEED,
                        help="another workload (the committed file is for the default)")
    parser.add_argument("--output", default=os.path.join(HERE, "expected_pg15.tsv"))
    args = parser.parse_args()

    work = wl.Workload(args.seed, args.predicates)
    conn = psycopg2.connect(args.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SHOW server_version")
    version = cur.fetchone()[0]
    for table in wl.FULL_SCAN_TABLE.values():
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in work.setup_sql(postgres=True):
        cur.execute(statement)
    out = [
        "# PostgreSQL's answers to tests/sql/differential/workload.py, written by",
        "# record_postgres.py (see its header); do not edit by hand.",
        f"# PostgreSQL {version}",
        f"# seed {work.seed} predicates {args.predicates}",
    ]
    errors = 0
    for data_set, predicate in work.queries:
        try:
            cur.execute(wl.Workload.query_sql(wl.FULL_SCAN_TABLE[data_set], predicate))
            row = cur.fetchone()
            answer = ",".join("" if v is None else str(v) for v in row)
        except psycopg2.Error as error:
            answer = f"ERROR {error.pgcode}"
            errors += 1
        out.append(json.dumps([data_set, predicate, answer], ensure_ascii=False))
    for table in wl.FULL_SCAN_TABLE.values():
        cur.execute(f"DROP TABLE {table}")
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"{len(work.queries)} answers ({errors} errors) from PostgreSQL {version} "
          f"into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
