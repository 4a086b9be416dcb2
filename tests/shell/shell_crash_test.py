#!/usr/bin/env python3
"""The black-box crash test of the SQL shell (issue 5).

A child `mvdb` (sync full) runs bank transfers read from its standard input
and prints each COMMIT; the parent kills it with SIGKILL at a random moment,
reopens the database and checks that every transfer whose COMMIT was printed
is there, at most one more (committed, its tag not yet printed), and that
the total of the balances never changed. A few cycles, each continuing
where the last left off; `mvdb check` at the end.

    shell_crash_test.py path/to/mvdb [--cycles N]
Randomized: MVDB_SEED=<n> repeats a run; the seed is printed on failure.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

ACCOUNTS = 8
INITIAL_BALANCE = 1000


def run_sql(mvdb, db, sql):
    done = subprocess.run([mvdb, "--csv", "-q", "--bail", "-c", sql, db],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"mvdb -c {sql!r}: status {done.returncode}: {done.stderr}")
    return [line.split(",") for line in done.stdout.splitlines()[1:]]


def transfer_script(first_id, count, rng):
    for transfer in range(first_id, first_id + count):
        source, target = rng.sample(range(1, ACCOUNTS + 1), 2)
        amount = rng.randint(1, 50)
        yield (f"BEGIN;\n"
               f"UPDATE accounts SET balance = balance - {amount} WHERE id = {source};\n"
               f"UPDATE accounts SET balance = balance + {amount} WHERE id = {target};\n"
               f"INSERT INTO transfers VALUES ({transfer}, {source}, {target}, {amount});\n"
               f"COMMIT;\n")


def one_cycle(mvdb, db, rng, cycle):
    first_id = int(run_sql(mvdb, db, "SELECT count(*) FROM transfers")[0][0])
    child = subprocess.Popen([mvdb, "--sync", "full", "--bail", db], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             bufsize=1)
    printed = []

    def feed():
        try:
            for chunk in transfer_script(first_id, 100000, rng_feed):
                child.stdin.write(chunk)
        except (BrokenPipeError, OSError, ValueError):
            pass  # killed

    def read():
        for line in child.stdout:
            if line.endswith("\n"):
                printed.append(line[:-1])

    rng_feed = random.Random(rng.random())
    feeder = threading.Thread(target=feed, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    feeder.start()
    reader.start()
    time.sleep(rng.uniform(0.05, 0.6))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reader.join()
    stderr = child.stderr.read()
    if stderr.strip():
        raise AssertionError(f"cycle {cycle}: the child reported errors: {stderr}")
    acknowledged = printed.count("COMMIT")

    rows = run_sql(mvdb, db, "SELECT id FROM transfers ORDER BY id")
    ids = [int(row[0]) for row in rows]
    expected_at_least = list(range(first_id + acknowledged))
    if ids[:len(expected_at_least)] != expected_at_least:
        raise AssertionError(f"cycle {cycle}: {acknowledged} COMMITs printed from transfer "
                             f"{first_id}, but the table holds {len(ids)} transfers")
    if len(ids) > first_id + acknowledged + 1:
        raise AssertionError(f"cycle {cycle}: {len(ids) - first_id - acknowledged} transfers "
                             f"committed beyond the {acknowledged} printed; at most 1 may be")
    total = int(run_sql(mvdb, db, "SELECT sum(balance) FROM accounts")[0][0])
    if total != ACCOUNTS * INITIAL_BALANCE:
        raise AssertionError(f"cycle {cycle}: the total is {total}, not "
                             f"{ACCOUNTS * INITIAL_BALANCE}")
    # Every account's balance is what the surviving transfers made of it.
    balances = {int(r[0]): int(r[1]) for r in run_sql(mvdb, db, "SELECT id, balance FROM accounts")}
    expected = {account: INITIAL_BALANCE for account in range(1, ACCOUNTS + 1)}
    for _, source, target, amount in run_sql(mvdb, db, "SELECT * FROM transfers"):
        expected[int(source)] -= int(amount)
        expected[int(target)] += int(amount)
    if balances != expected:
        raise AssertionError(f"cycle {cycle}: balances {balances} do not match the transfers "
                             f"{expected}")
    return acknowledged


def main():
    mvdb = sys.argv[1]
    cycles = int(sys.argv[sys.argv.index("--cycles") + 1]) if "--cycles" in sys.argv else 20
    seed = int(os.environ.get("MVDB_SEED", random.randrange(1 << 32)))
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "db")
        try:
            values = ", ".join(f"({i}, {INITIAL_BALANCE})" for i in range(1, ACCOUNTS + 1))
            run_sql(mvdb, db, "CREATE TABLE accounts (id int PRIMARY KEY, balance int);"
                    "CREATE TABLE transfers (id int PRIMARY KEY, source int, target int,"
                    " amount int);"
                    f"INSERT INTO accounts VALUES {values}")
            total = 0
            for cycle in range(cycles):
                total += one_cycle(mvdb, db, rng, cycle)
            check = subprocess.run([mvdb, "check", db], capture_output=True, text=True)
            if check.returncode != 0:
                raise AssertionError(f"mvdb check: {check.stdout}{check.stderr}")
            if total == 0:
                raise AssertionError("no COMMIT was printed in any cycle: nothing was tested")
        except AssertionError as error:
            print(f"FAIL (MVDB_SEED={seed}): {error}", file=sys.stderr)
            return 1
    print(f"shell crash test: {cycles} kills, {total} printed COMMITs all kept (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
