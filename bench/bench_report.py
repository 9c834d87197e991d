#!/usr/bin/env python3
"""Report benchmark (issue 3, Must show 6): the last-mile report next to the nearest pm4py work.

Every measurement runs in its own fresh Python subprocess, so that its peak resident memory
(``ru_maxrss`` from ``os.wait4`` on that child) belongs to one tool alone. Repetitions are
interleaved across tools (round robin) so that noise from a shared machine hits all alike; the
table reports the median.

Logs:
  BPI Challenge 2012 (XES.gz) with the journey of issue 3 (flags), and synthetic logs of about
  1 and 10 million events from the scenario simulator (``lastmile.demo``, scenario ``telecom``:
  a funnel with losses at every stage; ~6.7 events per case), written once to ``bench/out/report``
  as Parquet and CSV with their ``journey.yaml``.

Tools (each in its own child):
  lastmile_file  ``lastmile.read_log(FILE)`` + ``lastmile.reporting.report_data(log, journey,
                 drivers=False)`` (funnel, last mile, stranded investment, trend, timing).
  lastmile_db    the same from a log loaded once with ``lastmile load FILE --db x.duckdb``
                 (``read_log("x.duckdb")`` + ``report_data``), the documented way to analyse a log
                 again and again. The one-off ``lastmile load`` is timed apart.
  pm4py          read the same file (``pm4py.read_xes``; for tables pandas ``read_parquet`` /
                 ``read_csv`` + ``pm4py.format_dataframe``), ``pm4py.get_variants``,
                 ``pm4py.get_all_case_durations``, ``pm4py.get_end_activities``, and a plain-pandas
                 funnel on pm4py's frame (cases that reached each stage; last-mile entered and
                 finished).
  Both lastmile children then render the page with ``lastmile.report.write_html`` (timed apart,
  not part of the compared time).

Run from the repository root, in the benchmark venv (see bench/README.md):

    bench/.venv/bin/python bench/bench_report.py --json bench/out/report_results.json

The exit code is non-zero when the two sides disagree on a count they share (cases, events,
reached per stage, last mile entered and finished; for BPIC 2012 also the numbers of issue 3),
or when a lastmile or pm4py run fails. Nothing here asserts an absolute time: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_load import DEFAULT_BPIC, log, machine, rss_mib, run_child  # noqa: E402

DEFAULT_OUT = HERE / "out" / "report"
MARK = "@@RESULT@@ "

# The journey of issue 3 on BPI Challenge 2012, and what it must give.
BPIC_STAGES = "A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED"
BPIC_FAIL = "A_DECLINED,A_CANCELLED"
BPIC_TIMEOUT = "30d"
BPIC_REACHED = [13087, 7367, 5113, 5015, 3254, 2246]
BPIC_LAST_MILE = (3254, 2246)

TOOLS = ["lastmile_file", "lastmile_db", "pm4py"]


# ---------------------------------------------------------------------------------------------
# The journey, as plain data both sides can use
# ---------------------------------------------------------------------------------------------

def load_journey(spec: dict[str, Any]) -> Any:
    from lastmile.journey import Journey

    if spec.get("yaml"):
        return Journey.from_yaml(spec["yaml"])
    return Journey.from_flags(spec["stages"], fail=spec.get("fail"), timeout=spec.get("timeout"))


def journey_plain(spec: dict[str, Any]) -> dict[str, Any]:
    """Stages (name, activities), the finish stage and the last-mile stage, without lastmile."""
    if spec.get("yaml"):
        import yaml

        y = yaml.safe_load(Path(spec["yaml"]).read_text())
        stages = [(s["name"], list(s["activities"])) for s in y["stages"]]
        names = [n for n, _ in stages]
        finish = y.get("finish", names[-1])
        last = y.get("last_mile") or names[names.index(finish) - 1]
        return {"stages": stages, "finish": finish, "last_mile": last}
    stages = [(s, s.split("|")) for s in spec["stages"].split(",")]
    names = [n for n, _ in stages]
    return {"stages": stages, "finish": names[-1], "last_mile": names[-2]}


# ---------------------------------------------------------------------------------------------
# Workers: each returns a function that does the work and returns its counts and stage times.
# Imports happen before the clock starts.
# ---------------------------------------------------------------------------------------------

def _lastmile(source: str, spec: dict[str, Any], html: str) -> Any:
    import lastmile
    import lastmile.reporting as rep
    from bench_load import _timed_progress
    from lastmile.report import write_html

    try:
        marks: dict[str, float] | None = _timed_progress()
    except Exception:  # the hook moved: time the whole read only
        marks = None
    spent: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    rep.timing_section = timed("timing", rep.timing_section)
    import lastmile.measures as lm_measures

    lm_measures.compute_report = timed("measures", lm_measures.compute_report)
    journey = load_journey(spec)

    def run() -> dict[str, Any]:
        t0 = time.perf_counter()
        lg = lastmile.read_log(source, progress=True)
        t1 = time.perf_counter()
        data, _ = rep.report_data(lg, journey, drivers=False)
        t2 = time.perf_counter()
        stages: dict[str, float] = {}
        if marks and len(marks) > 1 and not source.endswith(".duckdb"):
            names = list(marks)
            times = [t0, *marks.values()]
            stages["read: setup"] = times[1] - times[0]
            for i, name in enumerate(names[:-1]):
                stages[f"read: {name}"] = times[i + 2] - times[i + 1]
            stages["read: log object"] = t1 - marks.get("done", t1)
        else:
            stages["read"] = t1 - t0
        # compute_report runs two queries: the aggregates (status, funnel, last mile,
        # stranded) and the trend; timing runs the per-case durations query (fetched as Arrow)
        # and computes the Aalen-Johansen curve with numpy (lifelines' arithmetic)
        stages["report: measures (aggregates + trend queries)"] = spent.get("measures", 0.0)
        stages["report: timing (durations query + survival curve)"] = spent.get("timing", 0.0)
        stages["report: other"] = (t2 - t1) - spent.get("measures", 0.0) - spent.get("timing", 0.0)
        t3 = time.perf_counter()
        write_html(data, html)
        html_s = time.perf_counter() - t3
        lm = data["last_mile"]
        return {"work_s": t2 - t0, "read_s": t1 - t0, "report_s": t2 - t1, "html_s": html_s,
                "stages": stages, "cases": data["cases"], "events": data["events"],
                "reached": [f["reached"] for f in data["funnel"]],
                "entered": lm["entered"], "finished": lm["finished"],
                "html_kib": Path(html).stat().st_size / 1024}

    return run


def _pm4py(source: str, spec: dict[str, Any]) -> Any:
    import warnings

    import pandas as pd
    import pm4py

    warnings.simplefilter("ignore")
    plain = journey_plain(spec)

    def run() -> dict[str, Any]:
        stages: dict[str, float] = {}
        t0 = time.perf_counter()
        if source.endswith((".xes", ".xes.gz")):
            df = pm4py.read_xes(source)
            # lastmile keeps the lifecycle 'complete' events; do the same (pm4py's own filter)
            if "lifecycle:transition" in df.columns:
                t = time.perf_counter()
                stages["read"] = t - t0
                df = pm4py.filter_event_attribute_values(
                    df, "lifecycle:transition", ["complete", "COMPLETE"], level="event")
                stages["filter lifecycle complete"] = time.perf_counter() - t
        else:
            df = pd.read_parquet(source) if source.endswith(".parquet") else pd.read_csv(source)
            t = time.perf_counter()
            stages["read (pandas)"] = t - t0
            df = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity",
                                        timestamp_key="timestamp")
            stages["format_dataframe"] = time.perf_counter() - t
        t = time.perf_counter()
        variants = pm4py.get_variants(df)
        stages["get_variants"] = time.perf_counter() - t
        t = time.perf_counter()
        durations = pm4py.get_all_case_durations(df)
        stages["get_all_case_durations"] = time.perf_counter() - t
        t = time.perf_counter()
        ends = pm4py.get_end_activities(df)
        stages["get_end_activities"] = time.perf_counter() - t
        t = time.perf_counter()
        act, case = df["concept:name"], df["case:concept:name"]
        reached_sets = {}
        for name, acts in plain["stages"]:
            reached_sets[name] = set(case[act.isin(acts)].unique())
        entered = reached_sets[plain["last_mile"]]
        finished = entered & reached_sets[plain["finish"]]
        reached = [len(reached_sets[n]) for n, _ in plain["stages"]]
        stages["pandas funnel"] = time.perf_counter() - t
        return {"work_s": time.perf_counter() - t0, "stages": stages,
                "cases": int(case.nunique()), "events": len(df), "reached": reached,
                "entered": len(entered), "finished": len(finished),
                "variants": len(variants), "durations": len(durations),
                "end_activities": len(ends)}

    return run


def worker_main(tool: str, source: str, spec_json: str) -> None:
    spec = json.loads(spec_json)
    t0 = time.perf_counter()
    if tool == "pm4py":
        run = _pm4py(source, spec)
    else:
        html = tempfile.mkdtemp(prefix="lastmile-bench-") + "/report.html"
        run = _lastmile(source, spec, html)
    t1 = time.perf_counter()
    rss_ready = rss_mib()
    result = run()
    result.update(import_s=t1 - t0, rss_after_import_mib=rss_ready)
    if tool != "pm4py":
        shutil.rmtree(Path(html).parent, ignore_errors=True)
    print(MARK + json.dumps(result, default=str), flush=True)


# ---------------------------------------------------------------------------------------------
# The synthetic logs
# ---------------------------------------------------------------------------------------------

def generate(out_dir: Path, events: int, seed: int = 0) -> dict[str, Any]:
    """Write a telecom scenario of about ``events`` events (once; reused when present)."""
    import lastmile.demo as demo

    tag = f"{events // 1_000_000}M" if events % 1_000_000 == 0 else str(events)
    folder = (out_dir / f"telecom_{tag}").resolve()
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("target") == events and meta.get("seed") == seed and \
                Path(meta["parquet"]).exists() and Path(meta["csv"]).exists():
            log(f"synthetic log already in {folder} (delete it to regenerate)")
            return meta
    pilot = demo.generate("telecom", cases=20_000, seed=seed)
    cases = round(events / (len(pilot.events) / 20_000))
    log(f"generating telecom, {cases:,} cases (~{events:,} events) ...")
    t0 = time.perf_counter()
    scenario = demo.generate("telecom", cases=cases, seed=seed)
    paths = demo.write(scenario, folder)
    ev = scenario.events
    meta = {"target": events, "seed": seed, "cases": int(ev["case_id"].nunique()),
            "events": len(ev), "parquet": str(paths["parquet"]), "csv": str(paths["csv"]),
            "journey": str(paths["journey"])}
    meta_path.write_text(json.dumps(meta, indent=2))
    log(f"  {meta['events']:,} events, {meta['cases']:,} cases in "
        f"{time.perf_counter() - t0:.1f}s")
    return meta


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------

def measure(tool: str, source: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    code, peak, out, err, wall = run_child(
        [sys.executable, str(Path(__file__).resolve()), "--worker", tool, source,
         json.dumps(spec)], timeout)
    lines = [ln for ln in out.splitlines() if ln.startswith(MARK)]
    if code != 0 or not lines:
        tail = "\n".join((err or out).strip().splitlines()[-5:])
        return {"tool": tool, "error": f"exit {code}: {tail}", "peak_rss_mib": peak}
    res = json.loads(lines[-1][len(MARK):])
    res.update(tool=tool, peak_rss_mib=peak, process_s=wall)
    return res


def load_db(source: str, db: Path, timeout: float) -> dict[str, Any]:
    """``lastmile load SOURCE --db DB`` once (timed, peak RSS)."""
    if db.exists():
        db.unlink()
    lastmile_cli = Path(sys.executable).parent / "lastmile"
    code, peak, out, err, wall = run_child([str(lastmile_cli), "load", source, "--db", str(db)],
                                           timeout)
    if code != 0:
        raise SystemExit(f"lastmile load {source} failed: {(err or out).strip()[-400:]}")
    return {"load_s": wall, "peak_rss_mib": peak, "db_mib": db.stat().st_size / 2**20,
            "message": out.strip().splitlines()[-1] if out.strip() else ""}


SHARED = ("cases", "events", "reached", "entered", "finished")


def bench(title: str, source: str, db: str, spec: dict[str, Any], reps: int, timeout: float,
          expect: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in TOOLS}
    problems: list[str] = []
    for rep in range(1, reps + 1):
        for tool in TOOLS:
            if runs[tool] and "error" in runs[tool][-1]:
                continue
            log(f"{title}: {tool} (run {rep}/{reps}) ...")
            res = measure(tool, db if tool == "lastmile_db" else source, spec, timeout)
            runs[tool].append(res)
            if "error" in res:
                log(f"  FAILED {res['error']}")
                problems.append(f"{title} / {tool} failed: {res['error'].splitlines()[-1]}")
                continue
            log(f"  {res['work_s']:.2f}s (+{res['import_s']:.2f}s imports), peak "
                f"{res['peak_rss_mib']:,.0f} MiB; {res['cases']:,} cases, {res['events']:,} "
                f"events, reached {res['reached']}, last mile {res['entered']:,} → "
                f"{res['finished']:,}" + (f", html {res['html_s']:.2f}s" if "html_s" in res
                                          else ""))
    rows: dict[str, Any] = {}
    for tool in TOOLS:
        ok = [r for r in runs[tool] if "error" not in r]
        if not ok:
            rows[tool] = {"error": runs[tool][-1]["error"] if runs[tool] else "?"}
            continue
        med = {k: statistics.median(r[k] for r in ok)
               for k in ("work_s", "import_s", "peak_rss_mib", "rss_after_import_mib",
                         "process_s")}
        med.update(runs=len(ok), all_s=[round(r["work_s"], 2) for r in ok],
                   stages={k: statistics.median(r["stages"].get(k, 0.0) for r in ok)
                           for k in ok[-1]["stages"]},
                   **{k: ok[-1][k] for k in SHARED})
        for k in ("html_s", "read_s", "report_s"):
            if k in ok[-1]:
                med[k] = statistics.median(r[k] for r in ok)
        for k in ("variants", "durations", "end_activities", "html_kib"):
            if k in ok[-1]:
                med[k] = ok[-1][k]
        # every run of a tool must give the same counts
        for r in ok:
            if any(r[k] != ok[0][k] for k in SHARED):
                problems.append(f"{title} / {tool}: counts differ between runs")
        rows[tool] = med
    # the two sides (and the two lastmile routes) must agree on what they share
    good = {t: r for t, r in rows.items() if "error" not in r}
    if len(good) == len(TOOLS):
        ref = good["pm4py"]
        for tool in ("lastmile_file", "lastmile_db"):
            for k in SHARED:
                if good[tool][k] != ref[k]:
                    problems.append(f"{title}: {k} differs: {tool} {good[tool][k]} vs pm4py "
                                    f"{ref[k]}")
    else:
        problems.append(f"{title}: not every tool ran")
    if expect:
        for tool, r in good.items():
            for k, v in expect.items():
                if r[k] != v:
                    problems.append(f"{title} / {tool}: {k} = {r[k]}, expected {v}")
    if not problems:
        log(f"{title}: counts agree ({', '.join(SHARED)})")
    return rows, problems


def fmt_table(title: str, rows: dict[str, Any], load: dict[str, Any]) -> str:
    names = {"lastmile_file": "lastmile, from the file (`read_log` + `report_data`)",
             "lastmile_db": "lastmile, from the loaded `.duckdb` (`read_log` + `report_data`)",
             "pm4py": "pm4py: read + variants + case durations + end activities + pandas funnel"}
    pm = rows.get("pm4py", {})
    out = [f"### {title}", "",
           "| run | time s (median) | runs s | import s | peak RSS MiB | RSS after imports MiB "
           "| pm4py ÷ this, time | pm4py ÷ this, peak RSS | HTML s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for tool in TOOLS:
        r = rows.get(tool, {"error": "not run"})
        if "error" in r:
            out.append(f"| {names[tool]} | failed: {r['error'].splitlines()[-1][:80]} "
                       "| | | | | | | |")
            continue
        ratio_t = ratio_m = "–"
        if tool != "pm4py" and "error" not in pm and pm:
            ratio_t = f"**{pm['work_s'] / r['work_s']:.2f}×**"
            ratio_m = f"{pm['peak_rss_mib'] / r['peak_rss_mib']:.2f}×"
        html = f"{r['html_s']:.2f}" if "html_s" in r else "–"
        out.append(f"| {names[tool]} | {r['work_s']:.2f} | {', '.join(map(str, r['all_s']))} "
                   f"| {r['import_s']:.2f} | {r['peak_rss_mib']:,.0f} "
                   f"| {r['rss_after_import_mib']:,.0f} | {ratio_t} | {ratio_m} | {html} |")
    first = next((r for r in rows.values() if "error" not in r), None)
    if first:
        out += ["", f"Counts (equal on both sides): {first['cases']:,} cases, "
                    f"{first['events']:,} events, reached per stage "
                    f"{', '.join(f'{x:,}' for x in first['reached'])}; last mile entered "
                    f"{first['entered']:,}, finished {first['finished']:,}."]
    if load:
        out += ["", f"One-off `lastmile load` into the `.duckdb` file: {load['load_s']:.1f} s "
                    f"(whole process), peak {load['peak_rss_mib']:,.0f} MiB, file "
                    f"{load['db_mib']:,.0f} MiB."]
    for tool in TOOLS:
        r = rows.get(tool, {})
        if r.get("stages"):
            parts = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
            out += ["", f"{tool} stages, s (median): {parts}"]
    if "variants" in pm:
        out += ["", f"pm4py found {pm['variants']:,} variants, {pm['durations']:,} case "
                    f"durations, {pm['end_activities']} end activities."]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bpic", default=str(DEFAULT_BPIC), help="BPIC 2012 XES(.gz) file")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="synthetic logs and .duckdb files")
    ap.add_argument("--sizes", default="1000000,10000000",
                    help="synthetic log sizes in events (comma-separated)")
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                    help="file format of the synthetic logs given to both sides")
    ap.add_argument("--reps", type=int, default=3, help="repetitions for BPIC 2012")
    ap.add_argument("--reps-1m", type=int, default=3, help="repetitions for the 1M log")
    ap.add_argument("--reps-large", type=int, default=2, help="repetitions for the 10M log")
    ap.add_argument("--only", choices=["xes", "synthetic"], help="run one part only")
    ap.add_argument("--timeout", type=float, default=2400, help="seconds per run")
    ap.add_argument("--json", help="also write all results as JSON here")
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "SOURCE", "SPEC"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return 0

    info = machine()
    log(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, Python "
        f"{info['python']}, lastmile {info['versions']['lastmile']} @ {info['commit']}")
    log("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": info, "command": " ".join(sys.argv), "parts": {}}
    problems: list[str] = []
    tables: list[str] = []

    datasets: list[tuple[str, str, dict[str, Any], int, dict[str, Any] | None]] = []
    if args.only in (None, "xes"):
        spec = {"stages": BPIC_STAGES, "fail": BPIC_FAIL, "timeout": BPIC_TIMEOUT}
        expect = {"cases": 13_087, "events": 164_506, "reached": BPIC_REACHED,
                  "entered": BPIC_LAST_MILE[0], "finished": BPIC_LAST_MILE[1]}
        size = Path(args.bpic).stat().st_size / 2**20
        datasets.append((f"BPI Challenge 2012 (`{Path(args.bpic).name}`, {size:.1f} MiB)",
                         args.bpic, spec, args.reps, expect))
    if args.only in (None, "synthetic"):
        for n in (int(x) for x in args.sizes.split(",") if x):
            code, _peak, out, err, _w = run_child(
                [sys.executable, str(Path(__file__).resolve()), "--generate", str(out_dir),
                 str(n)], args.timeout)
            print(out, end="", flush=True)
            if code != 0:
                problems.append(f"generating {n:,} events failed: {err.strip()[-400:]}")
                continue
            meta = json.loads(Path(out.strip().splitlines()[-1]).read_text())
            src = meta[args.format]
            size = Path(src).stat().st_size / 2**20
            expect = {"cases": meta["cases"], "events": meta["events"]}
            reps = args.reps_large if n >= 5_000_000 else args.reps_1m
            datasets.append((f"Synthetic telecom, {meta['events']:,} events / "
                             f"{meta['cases']:,} cases, {args.format.capitalize()} "
                             f"({size:,.0f} MiB)", src, {"yaml": meta["journey"]}, reps, expect))

    for title, src, spec, reps, expect in datasets:
        db = out_dir / (Path(src).name.split(".")[0] + f"_{Path(src).parent.name}.duckdb")
        log(f"{title}: lastmile load → {db} ...")
        loaded = load_db(src, db, args.timeout)
        log(f"  {loaded['load_s']:.1f}s, peak {loaded['peak_rss_mib']:,.0f} MiB: "
            f"{loaded['message']}")
        rows, bad = bench(title, src, str(db), spec, reps, args.timeout, expect)
        problems += bad
        report["parts"][title] = {"source": src, "db": str(db), "load": loaded, "rows": rows}
        tables.append(fmt_table(title, rows, loaded))
        lm_f, lm_d, pm = (rows.get(t, {}) for t in TOOLS)
        if all("work_s" in r for r in (lm_f, lm_d, pm)):
            log(f"{title}: pm4py ÷ lastmile time: from file {pm['work_s'] / lm_f['work_s']:.2f}×, "
                f"from .duckdb {pm['work_s'] / lm_d['work_s']:.2f}×")
        if args.json:  # write as we go: a long run keeps what it measured
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=2, default=str))

    print()
    print("\n\n".join(tables))
    report["problems"] = problems
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        log(f"results written to {args.json}")
    if problems:
        print("\nPROBLEMS:\n" + "\n".join(f"- {p}" for p in problems))
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--generate":
        meta = generate(Path(sys.argv[2]), int(sys.argv[3]))
        print(Path(meta["parquet"]).parent / "meta.json", flush=True)
        sys.exit(0)
    sys.exit(main())
