#!/usr/bin/env python3
"""bench/report.py: turns mvdb-bench's JSON lines into docs/benchmarks.md and its plots.

    bench/report.py RESULTS-DIR [--docs DIR] [--no-plots]

Reads every *.jsonl in RESULTS-DIR (one JSON object per run, fields as in
CONTRACT.md section 6) plus what bench/run-suite leaves next to them:
machine.json (the machine, the commit, the suite's parameters), commands.txt
(the mvdb-bench command lines) and failures.txt (runs that exited non-zero).
Writes DIR/benchmarks.md (DIR defaults to the repository's docs/) and, in
DIR/benchmarks/, the PNG plots with the gnuplot data and scripts that drew
them, plus headline.md, the table the README includes (also printed).

Every figure comes from the JSON: nothing here knows what an engine should
score. Runs repeated (--repeat N) are reduced to the median of each field,
so one disturbed repetition does not move the table. Results are grouped
into data-set sizes by what the runs say about themselves (num, key and
value size, cache, direct I/O, and the regime: "mode" warm or cold, warm
for lines written before mvdb-bench had cold runs), so the script needs no
naming convention. The table of issue 12's and 13's targets (TARGETS) is read from
the same groups: each target's figure, its peer's, the ratio, met or not.
"""

import argparse
import glob
import json
import math
import os
import re
import statistics
import subprocess
import sys

# The order engines appear in, mvdb first; engines not listed follow by name.
ENGINE_ORDER = ["mvdb", "rocksdb", "rocksdb-txn", "leveldb", "lmdb", "wiredtiger", "sqlite"]
WORKLOAD_ORDER = (["fillseq", "fillrandom", "fillbatch", "fillrandombatch", "readrandom",
                   "readseq", "overwrite", "readwhilewriting"] + ["ycsb-" + c for c in "abcdef"] +
                  ["txn-transfer", "syncwrite"])
ISOLATION_ABBREV = {"read-committed": "RC", "snapshot": "SI"}
LATENCY_WORKLOADS = ["readrandom", "overwrite", "ycsb-a"]
AMP_WORKLOADS = ["fillrandom", "overwrite"]
# The README's headline: (label, workload, threads, isolation, distribution).
HEADLINE = [
    ("readrandom, 1 thread", "readrandom", 1, "", ""),
    ("readrandom, 2 threads", "readrandom", 2, "", ""),
    ("readseq", "readseq", 1, "", ""),
    ("fillrandom", "fillrandom", 1, "", ""),
    ("overwrite", "overwrite", 1, "", ""),
    ("txn-transfer, 2 threads, snapshot, uniform", "txn-transfer", 2, "snapshot", "uniform"),
    ("syncwrite, 16 threads (durable commits/s)", "syncwrite", 16, "", ""),
]
# Issue 12's and 13's targets, checked against every run's median: (regime, label,
# workload, threads, peer, least ratio). The peer "best" is the best other
# engine of the row; "mvdb@1" is mvdb's own figure on one thread (the
# scaling target). Regimes: see target_size().
TARGETS = [
    ("in-cache", "readrandom, 1 thread", "readrandom", 1, "lmdb", 1.0),
    ("in-cache", "readrandom, 2 threads", "readrandom", 2, "lmdb", 1.0),
    ("in-cache", "readrandom, 2 threads over 1 thread", "readrandom", 2, "mvdb@1", 1.85),
    ("in-cache", "readseq", "readseq", 1, "best", 1.0),
    ("in-cache", "readwhilewriting", "readwhilewriting", 1, "lmdb", 1.0),
    ("in-cache", "YCSB C", "ycsb-c", 1, "lmdb", 1.0),
    ("in-cache", "YCSB E", "ycsb-e", 1, "lmdb", 1.0),
    ("8x-direct", "readseq", "readseq", 1, "rocksdb", 1.0),
    ("8x-direct", "readrandom", "readrandom", 1, "rocksdb", 1.0),
    ("cold", "readrandom", "readrandom", 1, "wiredtiger", 1.0),
    ("cold", "readrandom", "readrandom", 1, "lmdb", 0.8),
    ("cold", "readseq", "readseq", 1, "wiredtiger", 1.0),
    ("cold", "readseq", "readseq", 1, "lmdb", 0.8),
    ("small-cache", "readrandom", "readrandom", 1, "leveldb", 1.0),
    # Issue 13: a bulk load through WriteBatch, 1,000 keys a batch.
    ("in-cache", "fillbatch", "fillbatch", 1, "leveldb", 1.0),
    ("in-cache", "fillrandombatch", "fillrandombatch", 1, "leveldb", 1.0),
]
NUMERIC_FIELDS = ["ops", "ops_per_sec", "duration_s", "p50_us", "p95_us", "p99_us", "p999_us",
                  "max_us", "bytes_written", "user_bytes", "write_amp", "db_bytes", "space_amp",
                  "aborts", "abort_rate", "raw_fsync_per_sec", "open_s"]
# Files this script generates in docs/benchmarks/; stale ones are removed
# so a size that is no longer measured leaves no old plot behind.
GENERATED_PREFIXES = ("throughput-", "latency-", "amplification-", "syncwrite")
GENERATED_SUFFIXES = (".png", ".dat", ".gp")


def engine_key(name):
    return (ENGINE_ORDER.index(name) if name in ENGINE_ORDER else len(ENGINE_ORDER), name)


def workload_key(name):
    return (WORKLOAD_ORDER.index(name) if name in WORKLOAD_ORDER else len(WORKLOAD_ORDER), name)


# ---------------------------------------------------------------- loading


def load_runs(results_dir):
    """All JSON objects of RESULTS-DIR/*.jsonl; a line that is not JSON is skipped with a note."""
    runs = []
    files = sorted(glob.glob(os.path.join(results_dir, "*.jsonl")))
    for path in files:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    run = json.loads(line)
                except json.JSONDecodeError as e:
                    print(f"report.py: {path}:{lineno}: not JSON ({e}); skipped", file=sys.stderr)
                    continue
                run.setdefault("isolation", "")
                run.setdefault("distribution", "")
                run.setdefault("mode", "warm")
                runs.append(run)
    return files, runs


def failed_runs(failures):
    """(engine, workload, num, cache_mb, direct_io, mode) of each run failures.txt blames.

    mvdb-bench writes a run's JSON line before some of its checks (the
    transfer workload's money count), so a run that failed a check can have
    a line; its figure must not be shown. bench/run-suite records each
    failed command with the last lines of its stderr, which name the run:
    "mvdb-bench: ENGINE WORKLOAD: message"."""
    blamed = set()
    command = ""
    for line in (failures or "").splitlines():
        if not line.startswith(" "):
            command = line
            continue
        match = re.search(r"mvdb-bench: (\S+) (\S+?):", line)
        if not match:
            continue

        def flag(name, default):
            found = re.search(r"--" + name + r" (\S+)", command)
            if not found:
                return default
            return int(found.group(1)) if isinstance(default, int) else found.group(1)

        blamed.add((match.group(1), match.group(2), flag("num", 1000000), flag("cache-mb", 64),
                    flag("direct-io", 0), flag("mode", "warm")))
    return blamed


def drop_failed(runs, blamed):
    kept = [r for r in runs if (r["engine"], r["workload"], r["num"], r["cache_mb"],
                                int(r.get("direct_io", 0)), r["mode"]) not in blamed]
    return kept, len(runs) - len(kept)


def read_optional(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


class Size:
    """One data-set size and regime: the runs that share num, record size, cache, direct I/O
    and mode (warm: every run in one process; cold: each in a new process on the reopened
    database)."""

    def __init__(self, num, key_size, value_size, cache_mb, direct_io, mode="warm"):
        self.num, self.key_size, self.value_size = num, key_size, value_size
        self.cache_mb, self.direct_io, self.mode = cache_mb, direct_io, mode
        self.cold = mode == "cold"
        self.data_bytes = num * (key_size + value_size)
        cache_bytes = cache_mb * 1024 * 1024
        self.ratio = self.data_bytes / cache_bytes if cache_bytes else math.inf
        if self.ratio <= 1:
            self.label, self.slug = "in cache", "in-cache"
        elif self.cold:
            self.label = f"{cache_mb} MiB cache (data {self.ratio:.1f}x)"
            self.slug = f"{cache_mb}mb-cache"
        else:
            times = round(self.ratio)
            self.label, self.slug = f"{times}x cache", f"{times}x-cache"
        if self.cold:
            self.label, self.slug = "cold, " + self.label, "cold-" + self.slug
        self.runs = {}  # (engine, workload, threads, isolation, distribution) -> median run

    def sort_key(self):
        return (self.cold, self.ratio, self.num, self.cache_mb, self.direct_io)

    def describe(self):
        text = (f"{self.num:,} keys of {self.key_size}+{self.value_size} bytes "
                f"({self.data_bytes / 2**20:.0f} MiB of user data), cache {self.cache_mb} MiB "
                f"(data / cache = {self.ratio:.2f}), "
                f"direct I/O {'on' if self.direct_io else 'off'}")
        if self.cold:
            text += (", cold: each run in a new process on the reopened database (an empty "
                     "engine cache, the OS page cache warm)")
        return text

    def get(self, engine, workload, threads, isolation="", distribution=""):
        return self.runs.get((engine, workload, threads, isolation, distribution))

    def engines(self):
        return sorted({k[0] for k in self.runs}, key=engine_key)


def median_run(runs):
    """One run whose numeric fields are the medians over the repetitions."""
    out = dict(runs[0])
    for field in NUMERIC_FIELDS:
        values = [r[field] for r in runs if isinstance(r.get(field), (int, float))]
        if values:
            out[field] = statistics.median(values)
    out["repetitions"] = len(runs)
    return out


def group_by_size(runs):
    groups = {}
    for run in runs:
        size_id = (run["num"], run["key_size"], run["value_size"], run["cache_mb"],
                   int(run.get("direct_io", 0)), run["mode"])
        groups.setdefault(size_id, []).append(run)
    sizes = []
    for size_id, members in groups.items():
        size = Size(*size_id)
        by_key = {}
        for run in members:
            key = (run["engine"], run["workload"], int(run["threads"]), run["isolation"],
                   run["distribution"])
            by_key.setdefault(key, []).append(run)
        size.runs = {key: median_run(rs) for key, rs in by_key.items()}
        sizes.append(size)
    sizes.sort(key=Size.sort_key)
    # Two groups with the same label (say two in-cache cache sizes) keep
    # distinct file names.
    seen = {}
    for size in sizes:
        n = seen.get(size.slug, 0)
        seen[size.slug] = n + 1
        if n:
            size.slug += f"-{n + 1}"
            size.label += f" ({size.cache_mb} MiB)"
    return sizes


# ---------------------------------------------------------------- formatting


def fmt_rate(x):
    """ops/s with a k/M suffix and three significant digits."""
    if x is None:
        return "–"
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if x >= div:
            v = x / div
            return (f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}") + suffix
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def fmt_us(x):
    if x is None:
        return "–"
    if x >= 1e6:
        return f"{x / 1e6:.2f} s"
    if x >= 1e3:
        return f"{x / 1e3:.2f} ms"
    return f"{x:.2f} µs" if x < 10 else f"{x:.0f} µs"


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}×"


def fmt_amp(x):
    return "–" if x is None or x == 0 else f"{x:.2f}"


def fmt_pct(x):
    return "–" if x is None else f"{100 * x:.3g}%"


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(header, rows, align=None):
    align = align or ["---"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def rate_cells(values):
    """Formatted rates per engine with the best bolded."""
    present = [v for v in values if v is not None]
    best = max(present) if present else None
    cells = []
    for v in values:
        text = fmt_rate(v)
        cells.append(f"**{text}**" if v is not None and v == best else text)
    return cells


def mvdb_vs_best_peer(values, engines):
    """(mvdb / best peer, best peer's name), None where either is missing."""
    mvdb = values[engines.index("mvdb")] if "mvdb" in engines else None
    peers = [(v, e) for v, e in zip(values, engines) if e != "mvdb" and v is not None]
    if mvdb is None or not peers:
        return None, None
    best, who = max(peers)
    return (mvdb / best if best else None), who


def row_label(workload, threads, isolation="", distribution="", show_threads=False):
    label = workload
    if isolation:
        label += f" {ISOLATION_ABBREV.get(isolation, isolation)} {distribution}"
    if show_threads or threads != 1:
        label += f" ({threads} thr)"
    return label


# ---------------------------------------------------------------- tables


def throughput_rows(size):
    """(label, workload, threads, isolation, distribution) of every non-syncwrite run, in order."""
    keys = sorted({k[1:] for k in size.runs if k[1] != "syncwrite"},
                  key=lambda k: (workload_key(k[0]), k[1], k[2], k[3]))
    threads_of = {}
    for w, t, _, _ in keys:
        threads_of.setdefault(w, set()).add(t)
    return [(row_label(w, t, i, d, len(threads_of[w]) > 1), w, t, i, d) for w, t, i, d in keys]


def throughput_table(size):
    engines = size.engines()
    rows = []
    for label, w, t, i, d in throughput_rows(size):
        values = [(lambda r: r and r["ops_per_sec"])(size.get(e, w, t, i, d)) for e in engines]
        ratio, who = mvdb_vs_best_peer(values, engines)
        rows.append([label] + rate_cells(values) +
                    [fmt_ratio(ratio) + (f" ({who})" if who else "")])
    return md_table(["workload"] + engines + ["mvdb / best peer"], rows)


def open_table(size):
    """A cold group: how long each engine took to open the database in the run's process."""
    engines = size.engines()
    rows = []
    for label, w, t, i, d in throughput_rows(size):
        cells = [(lambda r: r and r.get("open_s"))(size.get(e, w, t, i, d)) for e in engines]
        rows.append([label] + ["–" if c is None else f"{c * 1000:.0f} ms" for c in cells])
    return md_table(["workload"] + engines, rows)


def latency_table(size):
    rows = []
    for label, w, t, i, d in throughput_rows(size):
        if w not in LATENCY_WORKLOADS:
            continue
        for e in size.engines():
            r = size.get(e, w, t, i, d)
            if r:
                rows.append([label, e] + [fmt_us(r.get(f)) for f in
                                          ("p50_us", "p95_us", "p99_us", "p999_us", "max_us")])
    return md_table(["workload", "engine", "p50", "p95", "p99", "p99.9", "max"], rows,
                    ["---", "---"] + ["--:"] * 5)


def amplification_table(size):
    header = ["engine"]
    for w in AMP_WORKLOADS:
        header += [f"{w} write amp", f"{w} space amp"]
    rows = []
    for e in size.engines():
        cells, any_value = [e], False
        for w in AMP_WORKLOADS:
            r = size.get(e, w, 1) or next((v for k, v in size.runs.items()
                                           if k[0] == e and k[1] == w), None)
            any_value |= r is not None
            cells += [fmt_amp(r and r.get("write_amp")), fmt_amp(r and r.get("space_amp"))]
        if any_value:
            rows.append(cells)
    return md_table(header, rows)


def transfer_table(size):
    combos = sorted({k[2:] for k in size.runs if k[1] == "txn-transfer"})
    engines = [e for e in size.engines() if any(k[0] == e and k[1] == "txn-transfer"
                                                for k in size.runs)]
    if not combos:
        return None
    rows = []
    for t, i, d in combos:
        values = [(lambda r: r and r["ops_per_sec"])(size.get(e, "txn-transfer", t, i, d))
                  for e in engines]
        cells = rate_cells(values)
        for n, e in enumerate(engines):
            r = size.get(e, "txn-transfer", t, i, d)
            if r:
                cells[n] += f" ({r.get('aborts', 0):.0f} aborts, {fmt_pct(r.get('abort_rate'))})"
        ratio, who = mvdb_vs_best_peer(values, engines)
        rows.append([f"{i} / {d} ({t} thr)"] + cells +
                    [fmt_ratio(ratio) + (f" ({who})" if who else "")])
    return md_table(["isolation / distribution"] + engines + ["mvdb / best peer"], rows)


def syncwrite_data(size):
    """(engines, thread counts, {(engine, threads): commits/s}, raw fsync/s per engine)."""
    runs = {(k[0], k[2]): v for k, v in size.runs.items() if k[1] == "syncwrite"}
    engines = sorted({e for e, _ in runs}, key=engine_key)
    threads = sorted({t for _, t in runs})
    raw = {}
    for e in engines:
        rates = [r["raw_fsync_per_sec"] for (e2, _), r in runs.items()
                 if e2 == e and r.get("raw_fsync_per_sec")]
        raw[e] = statistics.median(rates) if rates else None
    return engines, threads, {k: v["ops_per_sec"] for k, v in runs.items()}, raw


def syncwrite_table(size):
    engines, threads, rate, raw = syncwrite_data(size)
    if not engines:
        return None
    rows = []
    for t in threads:
        values = [rate.get((e, t)) for e in engines]
        cells = rate_cells(values)
        for n, e in enumerate(engines):
            one = rate.get((e, 1))
            if values[n] is not None and one:
                cells[n] += f" ({values[n] / one:.1f}×)"
        ratio, who = mvdb_vs_best_peer(values, engines)
        rows.append([str(t)] + cells + [fmt_ratio(ratio) + (f" ({who})" if who else "")])
    rows.append(["raw fsync/s"] + [fmt_rate(raw[e]) for e in engines] + [""])
    return md_table(["threads"] + engines + ["mvdb / best peer"], rows)


def headline(sizes):
    size = next((s for s in sizes if s.ratio <= 1 and not s.cold), None)
    if size is None:
        return "_No in-cache runs in these results, so no headline table._\n"
    rows = []
    engines = size.engines()
    for label, w, t, i, d in HEADLINE:
        values = [(lambda r: r and r["ops_per_sec"])(size.get(e, w, t, i, d)) for e in engines]
        if all(v is None for v in values):
            continue
        mvdb = values[engines.index("mvdb")] if "mvdb" in engines else None
        ratio, who = mvdb_vs_best_peer(values, engines)
        best = values[engines.index(who)] if who else None
        rows.append([label, fmt_rate(mvdb), fmt_rate(best), who or "–", fmt_ratio(ratio)])
    return (f"Operations per second, {size.describe()}; the best peer is the fastest other "
            "engine in the same run.\n\n" +
            md_table(["workload", "mvdb", "best peer", "peer", "mvdb / best peer"], rows,
                     ["---", "--:", "--:", "---", "--:"]) + "\n")


def losses(sizes):
    """The rows where mvdb is behind its best peer: a fact list for the lead to explain."""
    lines = []
    for size in sizes:
        engines = size.engines()
        for label, w, t, i, d in throughput_rows(size) + [
                (f"syncwrite ({t} thr)", "syncwrite", t, "", "") for t in syncwrite_data(size)[1]]:
            values = [(lambda r: r and r["ops_per_sec"])(size.get(e, w, t, i, d)) for e in engines]
            ratio, who = mvdb_vs_best_peer(values, engines)
            if ratio is not None and ratio < 1:
                lines.append(f"- {size.label}: {label}: {fmt_ratio(ratio)} of {who}")
    return "\n".join(lines) if lines else "- (none: mvdb leads or ties every measured row)"


def target_size(sizes, regime):
    """The group a target regime is measured in, or None when these results lack it.

    in-cache: warm, data within the cache, no direct I/O; 8x-direct: warm, direct I/O,
    the data set closest to eight times the cache; cold: cold, data within the cache;
    small-cache: data larger than the cache without direct I/O (issue 12: 64 MiB with
    1M keys), the cold one when there are both."""
    def pick(candidates, key):
        return min(candidates, key=key) if candidates else None

    if regime == "in-cache":
        return pick([s for s in sizes if not s.cold and not s.direct_io and s.ratio <= 1],
                    lambda s: (-s.cache_mb, s.num))
    if regime == "8x-direct":
        return pick([s for s in sizes if not s.cold and s.direct_io and s.ratio > 1],
                    lambda s: abs(s.ratio - 8))
    if regime == "cold":
        return pick([s for s in sizes if s.cold and not s.direct_io and s.ratio <= 1],
                    lambda s: (-s.cache_mb, s.num))
    if regime == "small-cache":
        return pick([s for s in sizes if not s.direct_io and s.ratio > 1],
                    lambda s: (not s.cold, s.cache_mb))
    raise ValueError(regime)


def targets_table(sizes):
    """Issue 12's and 13's targets: each one's figures from these results, the ratio, met or not."""
    rows = []
    met = measured = 0
    for regime, label, w, t, peer, least in TARGETS:
        size = target_size(sizes, regime)
        where = size.label if size else {"in-cache": "in cache", "8x-direct": "8x cache",
                                         "cold": "cold, in cache",
                                         "small-cache": "small cache"}[regime]
        if regime == "8x-direct":
            where += ", direct I/O"
        mine = size and size.get("mvdb", w, t)
        if peer == "mvdb@1":
            other, who = size and size.get("mvdb", w, 1), "mvdb, 1 thread"
        elif peer == "best" and size:
            values = [(lambda r: r and r["ops_per_sec"])(size.get(e, w, t)) for e in
                      size.engines()]
            _, who = mvdb_vs_best_peer(values, size.engines())
            other = who and size.get(who, w, t)
            who = f"best peer ({who})" if who else "best peer"
        else:
            other, who = size and size.get(peer, w, t), peer
        goal = f"≥ {least:.2f}× {who}".replace(".00×", ".0×")
        if not mine or not other or not other["ops_per_sec"]:
            rows.append([f"{where}: {label}", goal, fmt_rate(mine and mine["ops_per_sec"]),
                         fmt_rate(other and other["ops_per_sec"]), "–", "not measured"])
            continue
        ratio = mine["ops_per_sec"] / other["ops_per_sec"]
        measured += 1
        met += ratio >= least
        rows.append([f"{where}: {label}", goal, fmt_rate(mine["ops_per_sec"]),
                     fmt_rate(other["ops_per_sec"]), fmt_ratio(ratio),
                     "met" if ratio >= least else "**not met**"])
    summary = (f"{met} of {len(TARGETS)} targets met"
               + (f" ({len(TARGETS) - measured} not measured in these results)"
                  if measured < len(TARGETS) else "") + ".")
    return (md_table(["target", "needs", "mvdb", "peer", "ratio", "verdict"], rows,
                     ["---", "---", "--:", "--:", "--:", "---"]) + "\n\n" + summary + "\n")


# ---------------------------------------------------------------- plots


def gp_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dat_value(x):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) or x <= 0 else f"{x:.6g}"


def write_table_dat(path, first_col, columns, rows, mode="w"):
    """A whitespace-separated table for gnuplot, the header a comment; '-' is missing.

    Returns the columns written: one without any value is left out, since
    gnuplot cannot place a key entry for it (and warns)."""
    keep = [n for n in range(len(columns)) if any(dat_value(v[n]) != "-" for _, v in rows)]
    columns = [columns[n] for n in keep]
    rows = [(label, [values[n] for n in keep]) for label, values in rows]
    with open(path, mode, encoding="utf-8") as f:
        if mode == "a":
            f.write("\n\n")
        # A comment for people: the plot scripts title the columns themselves.
        f.write("# " + " ".join(gp_quote(c) for c in [first_col] + columns) + "\n")
        for label, values in rows:
            first = label if isinstance(label, (int, float)) else gp_quote(label)
            f.write(" ".join([str(first)] + [dat_value(v) for v in values]) + "\n")
    return columns


# One colour per engine in every plot, whichever engines a plot has.
ENGINE_COLORS = {"mvdb": "#d62728", "rocksdb": "#1f77b4", "rocksdb-txn": "#17becf",
                 "leveldb": "#2ca02c", "lmdb": "#ff7f0e", "wiredtiger": "#9467bd",
                 "sqlite": "#8c564b"}
OTHER_COLORS = ["#7f7f7f", "#bcbd22", "#e377c2", "#000000"]


def plot_clauses(dat, columns, using, index=None, extra=""):
    """gnuplot plot clauses, one per column (2, 3, ...), coloured by engine.

    `using` is a format with {i} for the column number, e.g. "{i}:xtic(1)"."""
    clauses = []
    others = iter(OTHER_COLORS * 4)
    for n, engine in enumerate(columns):
        color = ENGINE_COLORS.get(engine) or next(others)
        source = gp_quote(dat) if n == 0 else "''"
        where = f" index {index}" if index is not None else ""
        clauses.append(f"{source}{where} using {using.format(i=n + 2)} title {gp_quote(engine)} "
                       f"lc rgb {gp_quote(color)}{extra}")
    return ", \\\n     ".join(clauses)


GP_COMMON = """set terminal pngcairo size {w},{h} font "sans,10" noenhanced
set output {out}
set datafile missing "-"
set key outside right top vertical
set grid ytics
"""

GP_BARS = """set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set xtics rotate by -40 nomirror
"""


def run_gnuplot(gp_path, script):
    with open(gp_path, "w", encoding="utf-8") as f:
        f.write(script)
    # Relative names in the script resolve against the plot folder.
    result = subprocess.run(["gnuplot", os.path.basename(gp_path)], cwd=os.path.dirname(gp_path),
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(f"report.py: gnuplot {gp_path}: {result.stderr.strip()}", file=sys.stderr)
    return result.returncode == 0


def plot_throughput(size, outdir):
    engines = size.engines()
    rows = [(label, [(lambda r: r and r["ops_per_sec"])(size.get(e, w, t, i, d)) for e in engines])
            for label, w, t, i, d in throughput_rows(size)]
    name = f"throughput-{size.slug}"
    columns = write_table_dat(os.path.join(outdir, name + ".dat"), "workload", engines, rows)
    script = (GP_COMMON.format(w=1400, h=600, out=gp_quote(name + ".png")) + GP_BARS +
              f'set title {gp_quote("Throughput, " + size.label + " (log scale)")}\n'
              'set ylabel "operations/s"\n'
              f"plot {plot_clauses(name + '.dat', columns, '{i}:xtic(1)')}\n")
    run_gnuplot(os.path.join(outdir, name + ".gp"), script)
    return name + ".png"


def plot_latency(size, outdir):
    panels = [(label, w, t, i, d) for label, w, t, i, d in throughput_rows(size)
              if w in LATENCY_WORKLOADS]
    if not panels:
        return None
    engines = size.engines()
    name = f"latency-{size.slug}"
    dat = os.path.join(outdir, name + ".dat")
    percentiles = [("p50", "p50_us"), ("p95", "p95_us"), ("p99", "p99_us"), ("p99.9", "p999_us"),
                   ("max", "max_us")]
    widths = []
    for n, (label, w, t, i, d) in enumerate(panels):
        runs = [size.get(e, w, t, i, d) for e in engines]
        rows = [(p, [r and r.get(field) for r in runs]) for p, field in percentiles]
        widths.append(write_table_dat(dat, "percentile", engines, rows, "a" if n else "w"))
    cols = min(len(panels), 2)
    lines = (len(panels) + cols - 1) // cols
    script = GP_COMMON.format(w=650 * cols + 150, h=420 * lines, out=gp_quote(name + ".png"))
    script += ("set logscale y\nset ylabel \"latency, µs\"\nset xtics nomirror\n"
               "set style data linespoints\n"
               f"set multiplot layout {lines},{cols} title "
               f"{gp_quote('Latency percentiles, ' + size.label + ' (log scale)')}\n")
    for n, (label, *_rest) in enumerate(panels):
        clauses = plot_clauses(name + ".dat", widths[n], "0:{i}:xtic(1)", n, " lw 2 pt 7")
        script += f"set title {gp_quote(label)}\nplot {clauses}\n"
    script += "unset multiplot\n"
    run_gnuplot(os.path.join(outdir, name + ".gp"), script)
    return name + ".png"


def plot_amplification(size, outdir):
    engines = size.engines()
    name = f"amplification-{size.slug}"
    dat = os.path.join(outdir, name + ".dat")
    workloads = [w for w in AMP_WORKLOADS if any(k[1] == w for k in size.runs)]
    if not workloads:
        return None

    def amp(e, w, field):
        r = size.get(e, w, 1) or next((v for k, v in size.runs.items() if k[0] == e and k[1] == w),
                                      None)
        return r and r.get(field)

    widths = []
    for n, field in enumerate(["write_amp", "space_amp"]):
        rows = [(w, [amp(e, w, field) for e in engines]) for w in workloads]
        widths.append(write_table_dat(dat, "workload", engines, rows, "a" if n else "w"))
    script = GP_COMMON.format(w=1300, h=480, out=gp_quote(name + ".png")) + GP_BARS
    script += ("set multiplot layout 1,2 title "
               f"{gp_quote('Amplification, ' + size.label + ' (log scale)')}\n"
               'set title "write amplification (bytes to the device / user bytes)"\n'
               f"plot {plot_clauses(name + '.dat', widths[0], '{i}:xtic(1)', 0)}\n"
               'set title "space amplification (bytes on disk / user bytes)"\n'
               f"plot {plot_clauses(name + '.dat', widths[1], '{i}:xtic(1)', 1)}\n"
               "unset multiplot\n")
    run_gnuplot(os.path.join(outdir, name + ".gp"), script)
    return name + ".png"


def plot_syncwrite(size, outdir, only_size):
    engines, threads, rate, raw = syncwrite_data(size)
    if not engines:
        return None
    name = "syncwrite" if only_size else f"syncwrite-{size.slug}"
    rows = [(t, [rate.get((e, t)) for e in engines]) for t in threads]
    columns = write_table_dat(os.path.join(outdir, name + ".dat"), "threads", engines, rows)
    raw_values = [v for v in raw.values() if v]
    raw_line = ""
    if raw_values:
        raw_line = (f", {statistics.median(raw_values):.6g} title "
                    f"{gp_quote('raw fdatasync/s (1 thread)')} dt 2 lw 2 lc rgb 'black'")
    script = GP_COMMON.format(w=1000, h=560, out=gp_quote(name + ".png"))
    script += (f'set title {gp_quote("Durable commits, " + size.label + " (log-log)")}\n'
               'set logscale x 2\nset logscale y\nset xlabel "threads"\n'
               'set ylabel "commits/s"\nset style data linespoints\n'
               "plot " + plot_clauses(name + ".dat", columns, "1:{i}", None, " lw 2 pt 7") +
               raw_line + "\n")
    run_gnuplot(os.path.join(outdir, name + ".gp"), script)
    return name + ".png"


def clean_generated(outdir):
    for path in glob.glob(os.path.join(outdir, "*")):
        base = os.path.basename(path)
        if base.startswith(GENERATED_PREFIXES) and base.endswith(GENERATED_SUFFIXES):
            os.remove(path)


# ---------------------------------------------------------------- the document


def machine_section(machine, sizes):
    if not machine:
        return ("_No machine.json next to the results (not produced by bench/run-suite): the "
                "machine is unknown._\n")
    raw = [r["raw_fsync_per_sec"] for s in sizes for r in s.runs.values()
           if r.get("raw_fsync_per_sec")]
    items = [
        ("date", machine.get("date")),
        ("host", machine.get("host")),
        ("CPU", f"{machine.get('cpu')}, {machine.get('nproc')} cores (nproc)"),
        ("memory", machine.get("mem_total")),
        ("kernel", machine.get("kernel")),
        ("data directory", f"{machine.get('data_dir')}: {machine.get('fs_type')} on "
                           f"{machine.get('device')} ({machine.get('mount_options')})"),
        ("raw fdatasync rate of that disk",
         f"{fmt_rate(statistics.median(raw))}/s (median of the syncwrite runs' probe: 4 KiB "
         "pwrite + fdatasync, 1 thread)" if raw else "not measured (no syncwrite runs)"),
        ("mvdb commit", f"{machine.get('git_commit')}"
                        f"{' (working tree modified)' if machine.get('git_dirty') else ''}"),
        ("suite", f"{machine.get('mode')}, {machine.get('repeat')} repetition(s) per run "
                  f"(tables show the median); read and mixed workloads capped at "
                  f"{machine.get('duration_cap_s', '?')} s; "
                  f"took {machine.get('elapsed_s', '?')} s"),
        ("load average at start / end", f"{machine.get('loadavg_start', '?')} / "
                                        f"{machine.get('loadavg_end', '?')}"),
    ]
    return "\n".join(f"- {k}: {v}" for k, v in items if v is not None) + "\n"


def versions_section(sizes):
    engines = sorted({k[0] for s in sizes for k in s.runs}, key=engine_key)
    rows = []
    for e in engines:
        versions = sorted({str(r.get("engine_version", "")) for s in sizes
                           for k, r in s.runs.items() if k[0] == e})
        for s in sizes:
            # The line changes with --sync (syncwrite) and sometimes threads.
            settings = {}
            for k, r in s.runs.items():
                if k[0] == e:
                    settings.setdefault(r.get("settings", ""), set()).add(int(r.get("sync", 0)))
            for line, syncs in sorted(settings.items(), key=lambda item: (min(item[1]), item[0])):
                rows.append([e, ", ".join(versions), s.label,
                             "/".join(str(x) for x in sorted(syncs)), line])
    return md_table(["engine", "version", "size", "sync", "settings (the adapter's own line)"],
                    rows, ["---"] * 5)


def shown_path(path):
    """PATH relative to the repository when it is inside it, else as is."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    full = os.path.abspath(path)
    return os.path.relpath(full, root) if full.startswith(root + os.sep) else full


def write_markdown(path, results_dir, sizes, files, machine, commands, failures, plots,
                   headline_md, analysis=None):
    out = []
    out.append("<!-- Generated by bench/report.py from the JSON lines of bench/run-suite; do not "
               "edit by hand: the explanation of the losses is bench/analysis.md. -->\n")
    out.append("# mvdb beside RocksDB, LevelDB, LMDB, WiredTiger and SQLite\n")
    out.append("Measured with `mvdb-bench` (bench/driver, CONTRACT.md section 6) by "
               "`bench/run-suite`; every figure below is read from the JSON it wrote "
               f"({len(files)} files in `{shown_path(results_dir)}`), none is typed in. "
               "Throughput is operations per second over the timed phase; one write per commit "
               "unless the workload says otherwise. Where a run was repeated the tables show the "
               "median of the repetitions. Bold is the best engine of the row; \"mvdb / best "
               "peer\" divides mvdb's figure by the best other engine's.\n")
    out.append("## Headline\n")
    out.append(headline_md)
    out.append("## Issue 12's and 13's targets\n")
    out.append("Reads at in-memory speed (issue 12) and a bulk load through WriteBatch, 1,000 "
               "keys a batch (issue 13), each target checked against the medians "
               "below: mvdb's figure, the peer's in the same run, their ratio. Not measured "
               "here: `btree_bench`'s in-cache lookup (≤ 0.9 µs on an idle core), a "
               "micro-benchmark of its own (bench/README.md).\n")
    out.append(targets_table(sizes))
    out.append("## Machine\n")
    out.append(machine_section(machine, sizes))
    out.append("## Versions and settings\n")
    out.append("Debian 12's packages. Debian builds RocksDB and LevelDB with assertions enabled "
               "(no `-DNDEBUG`), which costs them some speed in every figure below.\n")
    out.append(versions_section(sizes) + "\n")
    out.append("## Sizes\n")
    out.append("\n".join(f"- **{s.label}**: {s.describe()}" for s in sizes) + "\n")
    cold_said = False
    for size in sizes:
        if size.cold and not cold_said:
            cold_said = True
            out.append("## Cold runs\n")
            out.append("What a service sees after a restart: each workload runs in a new "
                       "`mvdb-bench` process (`--mode cold`) that opens the database another "
                       "process loaded and closed, so the engine's own cache starts empty while "
                       "the OS page cache holds every file of the database (the driver reads "
                       "them all before each run). The sections above are warm: every run in the "
                       "process that loaded the data, after the runs before it. What reopening "
                       "means for each engine is in bench/README.md.\n")
        out.append(f"## {size.label[0].upper() + size.label[1:]}\n")
        out.append(f"{size.describe()}.\n")
        out.append("### Throughput (operations/s)\n")
        out.append(throughput_table(size) + "\n")
        out.append("RocksDB and LevelDB: Debian's builds, assertions on. `rocksdb-txn` is "
                   "RocksDB's TransactionDB and runs only txn-transfer; plain `rocksdb` runs the "
                   "rest.\n")
        if plots.get(("throughput", size.slug)):
            out.append(f"![Throughput, {size.label}]"
                       f"(benchmarks/{plots[('throughput', size.slug)]})\n")
        if size.cold:
            out.append("Opening the database, in the run's own process before its clock starts "
                       "(not in the figures above):\n")
            out.append(open_table(size) + "\n")
        out.append("### Latency\n")
        out.append("Percentiles of every operation's latency (a log-linear histogram, "
                   "≤ 1.6% relative error).\n")
        out.append(latency_table(size) + "\n")
        if plots.get(("latency", size.slug)):
            out.append(f"![Latency, {size.label}](benchmarks/{plots[('latency', size.slug)]})\n")
        if any(k[1] in AMP_WORKLOADS for k in size.runs):
            out.append("### Amplification\n")
            out.append("Write amplification: bytes the process sent to the device (`write_bytes` "
                       "of /proc/self/io, after a syncfs) per byte of keys and values written. "
                       "Space amplification: bytes allocated on disk after the run per byte of "
                       "live keys and values.\n")
            out.append(amplification_table(size) + "\n")
            if plots.get(("amplification", size.slug)):
                out.append(f"![Amplification, {size.label}]"
                           f"(benchmarks/{plots[('amplification', size.slug)]})\n")
        table = transfer_table(size)
        if table:
            out.append("### Two-account transfers (commits/s, abort rate = aborts / commits)\n")
            out.append(table + "\n")
        table = syncwrite_table(size)
        if table:
            out.append("### Durable commits (syncwrite: commits/s, speed-up over 1 thread)\n")
            out.append("Each commit synced before it returns, next to the raw fdatasync rate of "
                       "the same disk measured by the driver in each engine's directory.\n")
            out.append(table + "\n")
            if plots.get(("syncwrite", size.slug)):
                out.append(f"![Durable commits, {size.label}]"
                           f"(benchmarks/{plots[('syncwrite', size.slug)]})\n")
    out.append("## Where mvdb loses, and why\n")
    out.append("Rows where mvdb is behind the best peer in this run (generated):\n")
    out.append(losses(sizes) + "\n")
    if analysis and analysis.strip():
        out.append(analysis.strip() + "\n")
    else:
        out.append("_No analysis: bench/analysis.md is missing._\n")
    if failures and failures.strip():
        out.append("## Runs that failed\n")
        out.append("These invocations exited non-zero: the engine has no figures after the "
                   "failing workload, and the failing run's own figures are left out of every "
                   "table (a run that failed a check may have written its JSON line first).\n")
        out.append("```\n" + failures.strip() + "\n```\n")
    out.append("## Commands\n")
    if commands and commands.strip():
        out.append("The suite ran these commands (`bench/run-suite` prints and records them):\n")
        out.append("```sh\n" + commands.strip() + "\n```\n")
    else:
        out.append("_No commands.txt next to the results._\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="folder with the *.jsonl of mvdb-bench runs")
    parser.add_argument("--docs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..", "docs"),
                        help="where benchmarks.md and benchmarks/ go (default: docs/)")
    parser.add_argument("--no-plots", action="store_true", help="tables only, no gnuplot")
    parser.add_argument("--analysis", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "analysis.md"),
                        help="hand-written explanation of the losses (default: bench/analysis.md)")
    args = parser.parse_args()

    files, runs = load_runs(args.results)
    if not runs:
        print(f"report.py: no runs in {args.results}/*.jsonl", file=sys.stderr)
        return 1
    machine_text = read_optional(os.path.join(args.results, "machine.json"))
    machine = json.loads(machine_text) if machine_text else None
    commands = read_optional(os.path.join(args.results, "commands.txt"))
    failures = read_optional(os.path.join(args.results, "failures.txt"))
    runs, dropped = drop_failed(runs, failed_runs(failures))
    if dropped:
        print(f"report.py: left out {dropped} JSON line(s) of runs that failed", file=sys.stderr)
    sizes = group_by_size(runs)

    docs = os.path.normpath(args.docs)
    plot_dir = os.path.join(docs, "benchmarks")
    os.makedirs(plot_dir, exist_ok=True)
    plots = {}
    if not args.no_plots:
        clean_generated(plot_dir)
        sync_sizes = [s for s in sizes if syncwrite_data(s)[0]]
        for size in sizes:
            plots[("throughput", size.slug)] = plot_throughput(size, plot_dir)
            plots[("latency", size.slug)] = plot_latency(size, plot_dir)
            plots[("amplification", size.slug)] = plot_amplification(size, plot_dir)
            plots[("syncwrite", size.slug)] = plot_syncwrite(size, plot_dir, len(sync_sizes) == 1)
    headline_md = headline(sizes)
    with open(os.path.join(plot_dir, "headline.md"), "w", encoding="utf-8") as f:
        f.write(headline_md)
    # The explanation is written by hand from a run's figures (it says
    # which); the tables and the list of losses are regenerated every time.
    analysis = read_optional(args.analysis)
    write_markdown(os.path.join(docs, "benchmarks.md"), args.results, sizes, files, machine,
                   commands, failures, plots, headline_md, analysis)
    print(headline_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
