#!/usr/bin/python3
"""Run logic test files (tests/sql/logic_test.cc documents the format) against
PostgreSQL and report every record whose outcome differs from what the file
expects: the check that a file's expected outputs are PostgreSQL 15's.

Usage: check_postgres.py [--dsn DSN] FILE.test...

Each file runs in a fresh database (created and dropped through DSN's),
with autocommit, one connection per `session` name. Values are compared as
PostgreSQL prints them (psql's text form: t/f, NULL spelled out); an error
record compares the SQLSTATE and, when the file names one, the message.
Exit status 1 when any record differs. Files whose wording is mvdb's own
(explain.test) are not for this tool.
"""
import argparse
import sys

import psycopg2
import psycopg2.extensions

# Every value as the server's text: booleans t/f, numbers as printed.
for oid in (16, 20, 21, 23, 700, 701, 1700):
    psycopg2.extensions.register_type(
        psycopg2.extensions.new_type((oid,), "RAW%d" % oid, lambda text, cursor: text))


def parse(text):
    lines = text.split("\n")
    records, i = [], 0
    blank = lambda k: lines[k].strip() == ""
    while i < len(lines):
        if blank(i) or lines[i].startswith("#"):
            i += 1
            continue
        head, number = lines[i], i + 1
        words = head.split()
        i += 1
        record = {"line": number, "kind": words[0], "sql": "", "expected": []}
        if words[0] == "session":
            record["name"] = words[1]
            records.append(record)
            continue
        if words[0] == "statement" and words[1] == "error":
            record["kind"] = "error"
            record["sqlstate"] = words[2]
            rest = head.split(None, 3)
            record["message"] = rest[3] if len(rest) > 3 else ""
        elif words[0] == "query":
            record["rowsort"] = "rowsort" in words
            record["header"] = "header" in words
        while i < len(lines) and not blank(i) and lines[i] != "----":
            if not lines[i].startswith("#"):
                record["sql"] += lines[i] + "\n"
            i += 1
        if i < len(lines) and lines[i] == "----":
            i += 1
            while i < len(lines) and not blank(i):
                record["expected"].append(lines[i])
                i += 1
        records.append(record)
    return records


def field(value):
    return "NULL" if value is None else str(value)


def run_file(dsn, path):
    with open(path) as f:
        records = parse(f.read())
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    name = "logic_check"
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS " + name)
        cur.execute("CREATE DATABASE " + name)
    sessions = {}

    def session(session_name):
        if session_name not in sessions:
            conn = psycopg2.connect(dsn, dbname=name)
            conn.autocommit = True
            sessions[session_name] = conn
        return sessions[session_name]

    current = "main"
    failures = 0
    for record in records:
        if record["kind"] == "session":
            current = record["name"]
            continue
        where = "%s:%d" % (path, record["line"])
        cur = session(current).cursor()
        try:
            cur.execute(record["sql"])
            error = None
        except psycopg2.Error as e:
            error = e
        if record["kind"] == "error":
            if error is None:
                print("%s: expected error %s, got success" % (where, record["sqlstate"]))
                failures += 1
            else:
                message = error.diag.message_primary
                if error.pgcode != record["sqlstate"] or (
                        record["message"] and record["message"] != message):
                    print("%s: expected error %s %s\n  got %s %s" %
                          (where, record["sqlstate"], record["message"], error.pgcode, message))
                    failures += 1
            continue
        if error is not None:
            print("%s: expected success, got %s %s" %
                  (where, error.pgcode, error.diag.message_primary))
            failures += 1
            continue
        if record["kind"] != "query":
            continue
        actual = ["|".join(field(v) for v in row) for row in cur.fetchall()]
        expected = list(record["expected"])
        if record["header"]:
            header = "|".join(d.name for d in cur.description)
            if not expected or header != expected[0]:
                print("%s: header\n  expected %s\n  got      %s" %
                      (where, expected[0] if expected else "", header))
                failures += 1
            expected = expected[1:]
        if record["rowsort"]:
            actual.sort()
            expected.sort()
        if actual != expected:
            print("%s: rows\n  expected %s\n  got      %s" % (where, expected, actual))
            failures += 1
    for conn in sessions.values():
        conn.close()
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE " + name)
    admin.close()
    print("%s: %d records, %d differ from PostgreSQL" %
          (path, sum(r["kind"] != "session" for r in records), failures))
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", default="host=/tmp/pg-sql port=5441 user=postgres dbname=postgres")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failures = sum(run_file(args.dsn, path) for path in args.files)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
