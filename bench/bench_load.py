#!/usr/bin/env python3
"""Loading benchmark (issue 2, Must show 5): lastmile.read_log next to pm4py and plain readers.

Every measurement runs in its own fresh Python subprocess, so that its peak resident memory
(``ru_maxrss`` from ``os.wait4`` on that child) belongs to one tool alone. Repetitions are
interleaved across tools (round robin) so that noise from a shared machine hits all of them
alike; the table reports the median.

Part (a), BPI Challenge 2012 (XES.gz):
  lastmile.read_log, pm4py.read_xes (as installed next to lastmile it picks rustxes; also forced
  to its own pure-Python parsers ``chunk_regex`` (its built-in default) and ``iterparse``),
  rustxes alone (the parser lastmile uses), and a plain ``xml.etree.iterparse`` baseline.
Part (b), a synthetic log of 10 million events (1 million cases, 20 activities), written once
  to ``bench/out/`` as CSV and Parquet, then lastmile.read_log on each next to DuckDB's plain
  reader, pyarrow and pandas (and pandas + ``pm4py.format_dataframe``, pm4py's way to load a
  table).

Run from the repository root, in the benchmark venv (see bench/README.md):

    bench/.venv/bin/python bench/bench_load.py

Times are wall-clock seconds of the load call alone (imports are reported apart). The exit
code is non-zero when any tool's event or case count differs from the expected one, or a
run fails. Nothing here asserts an absolute time: compare the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_BPIC = ROOT.parent / "shared" / "data" / "bpic2012" / "bpic2012.xes.gz"
DEFAULT_OUT = HERE / "out"
MARK = "@@RESULT@@ "

# BPI Challenge 2012 (see ../shared/data/MANIFEST.md and issue 2)
BPIC_EVENTS = 262_200
BPIC_CASES = 13_087
BPIC_COMPLETE = 164_506

XES_TOOLS = ["lastmile", "pm4py", "pm4py_chunk_regex", "pm4py_iterparse", "rustxes",
             "etree_iterparse"]
CSV_TOOLS = ["lastmile", "duckdb_csv", "pyarrow_csv", "pandas_csv", "pm4py_csv"]
PARQUET_TOOLS = ["lastmile", "duckdb_parquet", "pyarrow_parquet", "pandas_parquet",
                 "pm4py_parquet"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rss_mib() -> float:
    """Current resident memory of this process in MiB (from /proc)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------------------------------
# Workers: each returns a function that does the load and returns {"events": .., "cases": ..}.
# Imports happen before the clock starts.
# ---------------------------------------------------------------------------------------------

def _timed_progress() -> dict[str, float]:
    """Record when read_log enters each of its stages (through its progress hook)."""
    import lastmile.io as lio

    marks: dict[str, float] = {}

    @contextlib.contextmanager
    def progress(_enabled: bool, _name: str):  # type: ignore[no-untyped-def]
        def step(msg: str) -> None:
            marks.setdefault(msg, time.perf_counter())

        yield step
        marks["done"] = time.perf_counter()

    lio._progress = progress  # private hook; only used to time the stages
    return marks


def w_lastmile(path: str) -> Callable[[], dict[str, Any]]:
    import lastmile

    try:
        marks: dict[str, float] | None = _timed_progress()
    except Exception:  # the hook moved: time the whole call only
        marks = None

    def run() -> dict[str, Any]:
        t0 = time.perf_counter()
        lg = lastmile.read_log(path, progress=True)
        t_read = time.perf_counter()
        cases = int(lg.table.case_id.nunique().execute())
        events = int(lg.table.count().execute())
        acc = lg.accounting
        out: dict[str, Any] = {"events": events, "cases": cases, "read": acc.read,
                               "loaded": acc.loaded, "quarantined": acc.quarantined,
                               "filtered": acc.filtered, "duplicates": acc.duplicates}
        stages: dict[str, float] = {}
        if marks:
            names = list(marks)
            times = [t0, *marks.values()]
            stages = {"setup": times[1] - times[0]}
            for i, name in enumerate(names[:-1]):
                stages[name] = times[i + 2] - times[i + 1]
            stages["log object"] = t_read - marks.get("done", t_read)
        stages["count (ibis)"] = time.perf_counter() - t_read
        out["stages"] = stages
        return out

    return run


def _pm4py_df_counts(df: Any) -> dict[str, Any]:
    return {"events": len(df), "cases": int(df["case:concept:name"].nunique())}


def _w_pm4py(path: str, variant: str | None) -> Callable[[], dict[str, Any]]:
    import warnings

    import pm4py

    warnings.simplefilter("ignore")

    def run() -> dict[str, Any]:
        df = pm4py.read_xes(path, variant=variant)
        return _pm4py_df_counts(df)

    return run


def w_pm4py(path: str) -> Callable[[], dict[str, Any]]:
    from pm4py.util.rustxes_utils import get_rustxes_backend_name

    run = _w_pm4py(path, None)

    def wrapped() -> dict[str, Any]:
        return {**run(), "variant": get_rustxes_backend_name() or "chunk_regex"}

    return wrapped


def w_pm4py_chunk_regex(path: str) -> Callable[[], dict[str, Any]]:
    return _w_pm4py(path, "chunk_regex")


def w_pm4py_iterparse(path: str) -> Callable[[], dict[str, Any]]:
    return _w_pm4py(path, "iterparse")


def w_rustxes(path: str) -> Callable[[], dict[str, Any]]:
    import rustxes

    def run() -> dict[str, Any]:
        frame = rustxes.import_xes(path)[0]
        return {"events": frame.height, "cases": frame["case:concept:name"].n_unique()}

    return run


def w_etree_iterparse(path: str) -> Callable[[], dict[str, Any]]:
    """The plainest streaming reader: ElementTree.iterparse into rows, then an Arrow table.

    Values stay text (no typing, no nested attributes): a lower bound for a pure-Python parser.
    """
    import gzip
    import xml.etree.ElementTree as ET

    import pyarrow as pa

    attr_tags = {"string", "date", "int", "float", "boolean", "id"}

    def run() -> dict[str, Any]:
        rows: list[dict[str, str | None]] = []
        case: dict[str, str | None] | None = None
        event: dict[str, str | None] | None = None
        opener: Any = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as fh:
            for kind, el in ET.iterparse(fh, events=("start", "end")):
                tag = el.tag.rpartition("}")[2]
                if kind == "start":
                    if tag == "trace":
                        case = {}
                    elif tag == "event":
                        event = {}
                    continue
                if tag in attr_tags:
                    if event is not None:
                        event[el.get("key", "")] = el.get("value")
                    elif case is not None:
                        case["case:" + el.get("key", "")] = el.get("value")
                elif tag == "event":
                    rows.append({**(case or {}), **(event or {})})
                    event = None
                    el.clear()
                elif tag == "trace":
                    case = None
                    el.clear()
        table = pa.Table.from_pylist(rows)
        return {"events": table.num_rows,
                "cases": len(table.column("case:concept:name").unique())}

    return run


def w_duckdb_csv(path: str) -> Callable[[], dict[str, Any]]:
    import duckdb

    def run() -> dict[str, Any]:
        con = duckdb.connect()
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [path])
        events, cases = con.execute("SELECT count(*), count(DISTINCT case_id) FROM t").fetchone()
        return {"events": events, "cases": cases}

    return run


def w_duckdb_parquet(path: str) -> Callable[[], dict[str, Any]]:
    import duckdb

    def run() -> dict[str, Any]:
        con = duckdb.connect()
        con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [path])
        events, cases = con.execute("SELECT count(*), count(DISTINCT case_id) FROM t").fetchone()
        return {"events": events, "cases": cases}

    return run


def _arrow_counts(table: Any) -> dict[str, Any]:
    import pyarrow.compute as pc

    return {"events": table.num_rows, "cases": pc.count_distinct(table["case_id"]).as_py()}


def w_pyarrow_csv(path: str) -> Callable[[], dict[str, Any]]:
    import pyarrow.csv as pcsv

    return lambda: _arrow_counts(pcsv.read_csv(path))


def w_pyarrow_parquet(path: str) -> Callable[[], dict[str, Any]]:
    import pyarrow.parquet as pq

    return lambda: _arrow_counts(pq.read_table(path))


def w_pandas_csv(path: str) -> Callable[[], dict[str, Any]]:
    import pandas as pd

    def run() -> dict[str, Any]:
        df = pd.read_csv(path)
        return {"events": len(df), "cases": int(df["case_id"].nunique())}

    return run


def w_pandas_parquet(path: str) -> Callable[[], dict[str, Any]]:
    import pandas as pd

    def run() -> dict[str, Any]:
        df = pd.read_parquet(path)
        return {"events": len(df), "cases": int(df["case_id"].nunique())}

    return run


def _w_pm4py_table(path: str, parquet: bool) -> Callable[[], dict[str, Any]]:
    """pm4py's documented way to load a table: pandas, then ``pm4py.format_dataframe``."""
    import warnings

    import pandas as pd
    import pm4py

    warnings.simplefilter("ignore")

    def run() -> dict[str, Any]:
        df = pd.read_parquet(path) if parquet else pd.read_csv(path)
        df = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity",
                                    timestamp_key="timestamp")
        return _pm4py_df_counts(df)

    return run


def w_pm4py_csv(path: str) -> Callable[[], dict[str, Any]]:
    return _w_pm4py_table(path, parquet=False)


def w_pm4py_parquet(path: str) -> Callable[[], dict[str, Any]]:
    return _w_pm4py_table(path, parquet=True)


WORKERS: dict[str, Callable[[str], Callable[[], dict[str, Any]]]] = {
    name[2:]: fn for name, fn in globals().items() if name.startswith("w_") and callable(fn)
}


def worker_main(tool: str, path: str) -> None:
    t0 = time.perf_counter()
    run = WORKERS[tool](path)
    t1 = time.perf_counter()
    rss_ready = rss_mib()
    t2 = time.perf_counter()
    result = run()
    t3 = time.perf_counter()
    result.update(import_s=t1 - t0, load_s=t3 - t2, rss_after_import_mib=rss_ready)
    print(MARK + json.dumps(result, default=str), flush=True)


# ---------------------------------------------------------------------------------------------
# The synthetic log
# ---------------------------------------------------------------------------------------------

def generate(out_dir: Path, events: int, per_case: int) -> dict[str, Any]:
    """Write the synthetic log as CSV and Parquet with DuckDB (once; reused when present)."""
    import duckdb

    out_dir = out_dir.resolve()
    cases = events // per_case
    tag = f"{events // 1_000_000}M" if events % 1_000_000 == 0 else str(events)
    csv_path = out_dir / f"synthetic_{tag}.csv"
    pq_path = out_dir / f"synthetic_{tag}.parquet"
    meta_path = out_dir / f"synthetic_{tag}.json"
    meta = {"events": events, "cases": cases, "activities": 20, "per_case": per_case,
            "csv": str(csv_path), "parquet": str(pq_path)}
    if meta_path.exists() and csv_path.exists() and pq_path.exists():
        old = json.loads(meta_path.read_text())
        same = ("events", "cases", "activities", "per_case")
        if all(old.get(k) == meta[k] for k in same):
            meta.update(csv=str(csv_path), parquet=str(pq_path))
            log(f"synthetic log already in {out_dir} (delete it to regenerate)")
            return meta
    out_dir.mkdir(parents=True, exist_ok=True)
    log(f"generating {events:,} events in {cases:,} cases ...")
    t0 = time.perf_counter()
    con = duckdb.connect()
    tmp_db = tempfile.mkdtemp(prefix="lastmile-bench-")
    con.execute(f"SET temp_directory='{tmp_db}'")
    # case c has per_case events k = 0..per_case-1; the first is always "Activity 00", the last
    # "Activity 19", the others drawn from 18; times rise within a case; rows in time order,
    # so that the cases are interleaved as in a real export.
    con.execute(f"""
        CREATE TABLE ev AS
        WITH e AS (SELECT i, i // {per_case} AS c, i % {per_case} AS k
                   FROM range({events}) t(i))
        SELECT
          'C' || lpad(CAST(c AS VARCHAR), 7, '0') AS case_id,
          'Activity ' || lpad(CAST(CASE WHEN k = 0 THEN 0 WHEN k = {per_case - 1} THEN 19
                              ELSE 1 + hash(i) % 18 END AS VARCHAR), 2, '0') AS activity,
          TIMESTAMP '2023-01-01'
            + to_seconds(CAST(hash(c * 7919) % 31536000 AS BIGINT))
            + to_seconds(k * 3600 + CAST(hash(i * 104729) % 3600 AS BIGINT)) AS timestamp,
          'R' || lpad(CAST(hash(i * 31) % 500 AS VARCHAR), 3, '0') AS resource,
          ['north', 'south', 'east', 'west', 'central'][1 + CAST(hash(c * 13) % 5 AS INT)]
            AS region,
          round(CAST(hash(i * 17) % 100000 AS DOUBLE) / 100, 2) AS cost
        FROM e
        ORDER BY timestamp, i
    """)
    log("  writing CSV ...")
    con.execute(f"""COPY (SELECT case_id, activity,
                          strftime(timestamp, '%Y-%m-%dT%H:%M:%S') AS timestamp,
                          resource, region, cost FROM ev)
                    TO '{csv_path}' (FORMAT csv, HEADER)""")
    log("  writing Parquet ...")
    con.execute(f"COPY ev TO '{pq_path}' (FORMAT parquet)")
    got = con.execute("SELECT count(*), count(DISTINCT case_id), count(DISTINCT activity) "
                      "FROM ev").fetchone()
    con.close()
    if got != (events, cases, 20):
        raise SystemExit(f"generated {got}, expected {(events, cases, 20)}")
    meta_path.write_text(json.dumps(meta, indent=2))
    log(f"  done in {time.perf_counter() - t0:.1f}s: {csv_path.stat().st_size / 2**20:,.0f} MiB "
        f"CSV, {pq_path.stat().st_size / 2**20:,.0f} MiB Parquet")
    return meta


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------

#: This script in a fresh interpreter (the prefix of a child's argv).
THIS = [sys.executable, str(Path(__file__).resolve())]


def run_child(argv: list[str], timeout: float) -> tuple[int, float, str, str, float]:
    """Run ``argv`` in a fresh process: (exit code, its own peak RSS MiB, out, err, wall s).

    The peak RSS is that child's own ``ru_maxrss`` (from ``wait4``), not the maximum over all
    children so far as ``RUSAGE_CHILDREN`` would give. Killed after ``timeout`` seconds.
    """
    env = {**os.environ, "PM4PY_SHOW_PROGRESS_BAR": "False", "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return code, usage.ru_maxrss / 1024, out.read(), err.read(), wall


def measure(tool: str, path: str, timeout: float) -> dict[str, Any]:
    code, peak, out, err, _ = run_child([*THIS, "--worker", tool, path], timeout)
    lines = [ln for ln in out.splitlines() if ln.startswith(MARK)]
    if code != 0 or not lines:
        tail = "\n".join((err or out).strip().splitlines()[-5:])
        return {"tool": tool, "error": f"exit {code}: {tail}", "peak_rss_mib": peak}
    res = json.loads(lines[-1][len(MARK):])
    res.update(tool=tool, peak_rss_mib=peak)
    return res


def bench(title: str, path: str, tools: list[str], reps: int, timeout: float,
          expect: Callable[[str, dict[str, Any]], str | None],
          notes: list[str]) -> tuple[list[dict], list[str]]:
    """Run every tool ``reps`` times; a failing baseline is a note, a failing lastmile or a
    wrong count anywhere is a problem (non-zero exit)."""
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    problems: list[str] = []
    for rep in range(1, reps + 1):
        for tool in tools:
            if runs[tool] and "error" in runs[tool][-1]:
                continue  # failed once: do not retry
            log(f"{title}: {tool} (run {rep}/{reps}) ...")
            res = measure(tool, path, timeout)
            runs[tool].append(res)
            if "error" in res:
                log(f"  FAILED {res['error']}")
                (problems if tool == "lastmile" else notes).append(
                    f"{title} / {tool} failed: {res['error'].splitlines()[-1]}")
                continue
            bad = expect(tool, res)
            if bad:
                problems.append(f"{title} / {tool}: {bad}")
                log(f"  WRONG COUNT: {bad}")
            log(f"  {res['load_s']:.2f}s, peak {res['peak_rss_mib']:,.0f} MiB, "
                f"{res['events']:,} events, {res['cases']:,} cases")
    rows = []
    for tool in tools:
        ok = [r for r in runs[tool] if "error" not in r]
        if not ok:
            rows.append({"tool": tool, "error": runs[tool][-1]["error"] if runs[tool] else "?"})
            continue
        row = {
            "tool": tool,
            "runs": len(ok),
            "load_s": statistics.median(r["load_s"] for r in ok),
            "load_s_min": min(r["load_s"] for r in ok),
            "load_s_max": max(r["load_s"] for r in ok),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in ok),
            "rss_after_import_mib": statistics.median(r["rss_after_import_mib"] for r in ok),
            "import_s": statistics.median(r["import_s"] for r in ok),
            "events": ok[-1]["events"],
            "cases": ok[-1]["cases"],
        }
        for key in ("variant", "read", "loaded", "quarantined", "filtered", "duplicates"):
            if key in ok[-1]:
                row[key] = ok[-1][key]
        if "stages" in ok[-1]:
            row["stages"] = {k: statistics.median(r["stages"].get(k, 0.0) for r in ok)
                             for k in ok[-1]["stages"]}
        rows.append(row)
    return rows, problems


def table(title: str, rows: list[dict[str, Any]], ref: str) -> str:
    """Markdown table; ``ratio`` columns are tool / ``ref`` (e.g. pm4py / lastmile)."""
    base = next((r for r in rows if r["tool"] == ref and "error" not in r), None)
    out = [f"### {title}", "",
           f"| tool | load s (median) | min–max s | import s | peak RSS MiB "
           f"| RSS after imports MiB | time ÷ {ref} | peak RSS ÷ {ref} | events | cases |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['tool']} | failed: {r['error'].splitlines()[-1][:80]} "
                       "| | | | | | | | |")
            continue
        name = r["tool"] + (f" ({r['variant']})" if r.get("variant") else "")
        t_ratio = f"{r['load_s'] / base['load_s']:.2f}" if base else "–"
        m_ratio = f"{r['peak_rss_mib'] / base['peak_rss_mib']:.2f}" if base else "–"
        out.append(f"| {name} | {r['load_s']:.2f} | {r['load_s_min']:.2f}–{r['load_s_max']:.2f} "
                   f"| {r['import_s']:.2f} | {r['peak_rss_mib']:,.0f} "
                   f"| {r['rss_after_import_mib']:,.0f} | {t_ratio} | {m_ratio} "
                   f"| {r['events']:,} | {r['cases']:,} |")
    for r in rows:
        if r.get("stages"):
            parts = ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items())
            out += ["", f"lastmile stages (median): {parts}"]
    return "\n".join(out)


def machine() -> dict[str, Any]:
    import importlib.metadata as md

    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        mem = fh.readline().split(":", 1)[1].strip()
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    versions = {}
    for pkg in ("lastmile", "pm4py", "rustxes", "duckdb", "ibis-framework", "pyarrow", "pandas",
                "polars", "numpy", "lxml"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "memory": mem, "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(),
            "commit": commit, "versions": versions}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bpic", default=str(DEFAULT_BPIC), help="BPIC 2012 XES(.gz) file")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="where the synthetic log goes")
    ap.add_argument("--events", type=int, default=10_000_000, help="synthetic log size")
    ap.add_argument("--per-case", type=int, default=10, help="events per synthetic case")
    ap.add_argument("--reps", type=int, default=5, help="repetitions for BPIC 2012")
    ap.add_argument("--reps-large", type=int, default=3, help="repetitions for the 10M log")
    ap.add_argument("--only", choices=["xes", "synthetic"], help="run one part only")
    ap.add_argument("--tools", help="comma-separated subset of tools to run")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    ap.add_argument("--json", help="also write all results as JSON here")
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return 0

    wanted = set(args.tools.split(",")) if args.tools else None

    def pick(tools: list[str]) -> list[str]:
        return [t for t in tools if wanted is None or t in wanted]

    info = machine()
    log(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, Python "
        f"{info['python']}, lastmile {info['versions']['lastmile']} @ {info['commit']}")
    log("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    report: dict[str, Any] = {"machine": info, "command": " ".join(sys.argv), "parts": {}}
    problems: list[str] = []
    notes: list[str] = []
    tables: list[str] = []

    if args.only in (None, "xes"):
        path = args.bpic
        if not Path(path).exists():
            problems.append(f"{path}: not found")
        else:
            def expect_xes(tool: str, r: dict[str, Any]) -> str | None:
                want = (BPIC_COMPLETE, BPIC_CASES) if tool == "lastmile" else \
                    (BPIC_EVENTS, BPIC_CASES)
                if tool == "lastmile" and r.get("read") != BPIC_EVENTS:
                    return f"read {r.get('read')} rows, expected {BPIC_EVENTS}"
                got = (r["events"], r["cases"])
                return None if got == want else f"events/cases {got}, expected {want}"

            rows, bad = bench("BPIC 2012", path, pick(XES_TOOLS), args.reps, args.timeout,
                              expect_xes, notes)
            problems += bad
            report["parts"]["bpic2012"] = rows
            tables.append(table(f"BPI Challenge 2012 ({Path(path).name}, "
                                f"{Path(path).stat().st_size / 2**20:.1f} MiB)", rows,
                                "lastmile"))
            pm = next((r for r in rows if r["tool"] == "pm4py" and "error" not in r), None)
            lm = next((r for r in rows if r["tool"] == "lastmile" and "error" not in r), None)
            for r in rows:
                if lm and r["tool"].startswith("pm4py") and "error" not in r:
                    log(f"ratio {r['tool']}/lastmile: time {r['load_s'] / lm['load_s']:.2f}, "
                        f"peak RSS {r['peak_rss_mib'] / lm['peak_rss_mib']:.2f}")
            if not (pm and lm) and {"pm4py", "lastmile"} <= set(pick(XES_TOOLS)):
                problems.append("BPIC 2012: no pm4py/lastmile pair to compare")

    if args.only in (None, "synthetic"):
        code, _peak, out, err, _ = run_child(
            [*THIS, "--generate", args.out, str(args.events), str(args.per_case)], args.timeout)
        print(out, end="", flush=True)
        if code != 0:
            problems.append(f"generating the synthetic log failed: {err.strip()[-400:]}")
        else:
            meta = json.loads(Path(out.strip().splitlines()[-1]).read_text())

            def expect_syn(tool: str, r: dict[str, Any]) -> str | None:
                got = (r["events"], r["cases"])
                want = (meta["events"], meta["cases"])
                if tool == "lastmile" and (r.get("read"), r.get("quarantined")) != (want[0], 0):
                    return f"read {r.get('read')}, quarantined {r.get('quarantined')}"
                return None if got == want else f"events/cases {got}, expected {want}"

            for fmt, tools in (("csv", CSV_TOOLS), ("parquet", PARQUET_TOOLS)):
                path = meta[fmt]
                size = Path(path).stat().st_size / 2**20
                title = f"Synthetic {args.events:,} events, {fmt.upper()} ({size:,.0f} MiB)"
                rows, bad = bench(title, path, pick(tools), args.reps_large, args.timeout,
                                  expect_syn, notes)
                problems += bad
                report["parts"][f"synthetic_{fmt}"] = rows
                tables.append(table(title, rows, "lastmile"))
                lm = next((r for r in rows if r["tool"] == "lastmile" and "error" not in r),
                          None)
                if lm:
                    within = lm["peak_rss_mib"] <= 8 * 1024
                    log(f"lastmile {fmt}: peak {lm['peak_rss_mib']:,.0f} MiB "
                        f"({'within' if within else 'OVER'} 8 GiB)")
                    if not within:
                        problems.append(f"{title}: lastmile peak RSS {lm['peak_rss_mib']:,.0f} "
                                        "MiB is over 8 GiB")

    print()
    print("\n\n".join(tables))
    report["problems"] = problems
    report["notes"] = notes
    if notes:
        print("\nNOTES:\n" + "\n".join(f"- {n}" for n in notes))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        log(f"results written to {args.json}")
    if problems:
        print("\nPROBLEMS:\n" + "\n".join(f"- {p}" for p in problems))
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--generate":
        meta = generate(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        tag = Path(meta["csv"]).with_suffix(".json")
        print(tag, flush=True)
        sys.exit(0)
    sys.exit(main())
