#!/usr/bin/env python3
"""Damaged files as a user meets them through `mvdb` (issue 11, items 3 and 10).

1. 100 rows committed one by one with --sync off (then normal), kill -9, one
   bit flipped in a record in the middle of the log: opening the database
   must fail with the file, the offset and how many valid records follow,
   and change nothing; `mvdb check` must say the same; `mvdb recover
   --discard-damaged-log` cuts the log there, keeps the cut bytes in a side
   file it names, and the database opens with the rows before the damage.
2. `mvdb check` of a database on read-only media (a read-only bind mount in
   a private mount namespace when this process may make one, else a
   directory without write permission when not root) succeeds and changes
   nothing, not even the lock file's timestamps.
3. A failed open leaves no new file behind.

    shell_log_damage_test.py path/to/mvdb
"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

HEADER = 32


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def snapshot(root, lock=True):
    """Every file under root: its bytes and its modification time. An open
    takes the lock by writing its pid into LOCK and clears it on release
    (a stale pid left by kill -9 goes), so lock=False leaves LOCK out."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not lock and path == os.path.join(root, "LOCK"):
                continue
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    files[path] = (f.read(), st.st_mtime_ns)
            else:
                files[path] = ("<dir>", None)
    return files


def records(segment):
    """(offset, framed size) of each record of a segment, by its lengths."""
    data = open(segment, "rb").read()
    out = []
    offset = HEADER
    while offset + 28 <= len(data):
        length = int.from_bytes(data[offset + 4:offset + 8], "little")
        if data[offset + 8] == 0:
            break
        framed = (28 + length + 7) & ~7
        out.append((offset, framed))
        offset += framed
    return out


def commit_then_kill(mvdb, db, sync):
    """CREATE TABLE and 100 INSERTs, each acknowledged, then SIGKILL."""
    child = subprocess.Popen([mvdb, "--sync", sync, "--bail", db], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             bufsize=1)
    child.stdin.write("CREATE TABLE t (id int PRIMARY KEY, v text);\n")
    assert child.stdout.readline() == "CREATE TABLE\n"
    for i in range(1, 101):
        child.stdin.write(f"INSERT INTO t VALUES ({i}, 'row {i}');\n")
        line = child.stdout.readline()
        assert line == "INSERT 0 1\n", f"row {i}: {line!r}"
    os.kill(child.pid, signal.SIGKILL)  # all 100 acknowledged
    child.wait()


def count_rows(mvdb, db):
    done = run([mvdb, "--csv", "-q", "-c", "SELECT count(*) FROM t", db])
    assert done.returncode == 0, done.stderr
    return int(done.stdout.splitlines()[1])


def damaged_log(mvdb, work, sync):
    db = os.path.join(work, f"damaged-{sync}")
    commit_then_kill(mvdb, db, sync)
    wal = os.path.join(db, "wal")
    segments = sorted(n for n in os.listdir(wal) if n.endswith(".log"))
    assert len(segments) == 1, segments
    segment = os.path.join(wal, segments[0])
    recs = records(segment)
    assert len(recs) >= 100, len(recs)
    # The 100 inserts are the last 100 records: damage the 51st of them.
    offset, framed = recs[-50]
    original = open(segment, "rb").read()
    with open(segment, "r+b") as f:
        f.seek(offset + framed - 9)  # a payload byte
        byte = f.read(1)[0]
        f.seek(offset + framed - 9)
        f.write(bytes([byte ^ 0x04]))
    before = snapshot(db)
    before_open = snapshot(db, lock=False)

    opened = run([mvdb, "-c", "SELECT count(*) FROM t", db])
    assert opened.returncode != 0, f"{sync}: the damaged database opened: {opened.stdout}"
    for text in (f"{segment}: offset {offset}", "49 valid records follow",
                 "nothing was changed", f"mvdb recover --discard-damaged-log {db}"):
        assert text in opened.stderr, f"{sync}: {text!r} not in {opened.stderr!r}"
    assert snapshot(db, lock=False) == before_open, f"{sync}: a refused open changed the files"
    before = snapshot(db)

    checked = run([mvdb, "check", db])
    assert checked.returncode == 1, f"{sync}: check said {checked.stdout}"
    assert "49 valid records follow" in checked.stdout + checked.stderr, checked.stdout
    assert "result: OK" not in checked.stdout, checked.stdout
    assert snapshot(db) == before, f"{sync}: check changed the files"

    assert run([mvdb, "recover", db]).returncode == 2  # the flag is required

    recovered = run([mvdb, "recover", "--discard-damaged-log", db])
    assert recovered.returncode == 0, recovered.stderr
    side = f"{segment}.cut-at-{offset}"
    assert side in recovered.stdout, recovered.stdout
    assert "discarded 49 valid records" in recovered.stdout, recovered.stdout
    cut = bytearray(open(side, "rb").read())
    cut[framed - 9] ^= 0x04
    assert bytes(cut) == original[offset:], f"{sync}: the side file lost bytes"
    assert count_rows(mvdb, db) == 50, f"{sync}: rows after recover"
    assert run([mvdb, "check", db]).returncode == 0


def read_only_check(mvdb, work):
    db = os.path.join(work, "healthy")
    done = run([mvdb, "-c", "CREATE TABLE r (id int PRIMARY KEY); INSERT INTO r VALUES (1);", db])
    assert done.returncode == 0, done.stderr
    before = snapshot(db)
    mount = os.path.join(work, "ro")
    os.mkdir(mount)
    # MOUNTED is printed once the copy is mounted and a write to it fails.
    script = (f"mount --bind {db} {mount} && mount -o remount,bind,ro {mount} && "
              f"! touch {mount}/probe 2>/dev/null && echo MOUNTED && exec {mvdb} check {mount}")
    for way in (["unshare", "-m"], ["unshare", "-rm"]):
        if shutil.which(way[0]) is None:
            continue
        checked = run(way + ["sh", "-c", script])
        if checked.stdout.startswith("MOUNTED"):
            assert checked.returncode == 0, f"check on read-only media: {checked.stdout}{checked.stderr}"
            assert "lock: free" in checked.stdout, checked.stdout
            break
    else:
        if os.geteuid() != 0:
            for path in before:
                os.chmod(path, 0o555 if os.path.isdir(path) else 0o444)
            os.chmod(db, 0o555)
        # As root without a mount namespace nothing stops a write: the
        # snapshot below still catches any.
        checked = run([mvdb, "check", db])
        assert checked.returncode == 0, f"check: {checked.stdout}{checked.stderr}"
    assert snapshot(db) == before, "check changed the files (or their times)"


def failed_open_leaves_nothing(mvdb, work):
    notdb = os.path.join(work, "not-a-database")
    os.mkdir(notdb)
    with open(os.path.join(notdb, "wal"), "w") as f:
        f.write("not a log directory\n")
    before = snapshot(notdb)
    opened = run([mvdb, "-c", "SELECT 1", notdb])
    assert "wal" in opened.stderr, opened.stderr
    assert opened.returncode != 0, opened.stdout
    assert snapshot(notdb) == before, f"left behind: {sorted(set(snapshot(notdb)) - set(before))}"


def main():
    mvdb = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="mvdb-log-damage-")
    try:
        for sync in ("off", "normal"):
            damaged_log(mvdb, work, sync)
        read_only_check(mvdb, work)
        failed_open_leaves_nothing(mvdb, work)
    finally:
        for dirpath, dirnames, _ in os.walk(work):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(work, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
