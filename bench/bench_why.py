#!/usr/bin/env python3
"""Drivers benchmark (issue 5, Must show 4): ``why`` on a 1-million-case simulated log.

Simulates the telecom scenario with 1 million cases (about 6.7 million events), writes it as
Parquet, loads it with :func:`lastmile.read_log` (DuckDB), then in the same process times:

1. **baseline** — the case table alone, materialised on the engine (``case_table(...).cache()``);
2. **why** — :func:`lastmile.why.why` on the same log (features, counts, tests, model).

It prints wall-clock seconds and the peak resident memory of the process after each step, the
ratio why / baseline, and whether the planted causes are found at this size.

Run from the repository root:

    .venv/bin/python bench/bench_why.py                  # 1,000,000 cases
    .venv/bin/python bench/bench_why.py --cases 200000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import ibis

from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.measures import case_table
from lastmile.why import why
from lastmile.why.truth import find_cause

OUT = Path(__file__).resolve().parent / "out" / "why"


def peak_gb() -> float:
    """Peak resident set size of this process so far, in GB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


class RssSampler:
    """Highest resident set size seen while a step runs (sampled every 20 ms from /proc)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_gb() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now_gb())
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self.start = self.now_gb()
        self.peak = self.start
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--scenario", default="telecom")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()

    out: dict = {"scenario": args.scenario, "cases": args.cases,
                 "python": platform.python_version(), "duckdb": duckdb.__version__,
                 "ibis": ibis.__version__}
    # the log is simulated and written by a child process (cached under bench/out/why/), so the
    # peak memory below is that of loading and analysing it, not of simulating it
    folder = OUT / f"{args.scenario}_{args.cases}_seed{args.seed}"
    if not (folder / "events.parquet").exists():
        t = time.perf_counter()
        code = ("import sys; from lastmile.demo import generate, write; "
                "write(generate(sys.argv[1], cases=int(sys.argv[2]), seed=int(sys.argv[3])), "
                "sys.argv[4])")
        subprocess.run([sys.executable, "-c", code, args.scenario, str(args.cases),
                        str(args.seed), str(folder)], check=True)
        print(f"simulated and wrote {folder} in {time.perf_counter() - t:.1f} s", flush=True)
    journey = Journey.from_yaml(folder / "journey.yaml")
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))

    t = time.perf_counter()
    log = read_log(folder / "events.parquet")
    out["load_s"] = round(time.perf_counter() - t, 1)
    out["events"] = log.accounting.loaded
    out["peak_after_load_gb"] = round(peak_gb(), 2)
    print(f"loaded {out['events']:,} events in {out['load_s']} s; "
          f"peak RSS {out['peak_after_load_gb']} GB", flush=True)

    with RssSampler() as mem:
        t = time.perf_counter()
        cached = case_table(log.table, journey).cache()
        n_cases = int(cached.count().execute())
        out["baseline_s"] = round(time.perf_counter() - t, 2)
    out["baseline_rss_start_gb"] = round(mem.start, 2)
    out["baseline_rss_peak_gb"] = round(mem.peak, 2)
    print(f"baseline (case table of {n_cases:,} cases, materialised): {out['baseline_s']} s; "
          f"RSS {mem.start:.2f} → peak {mem.peak:.2f} GB", flush=True)
    del cached

    with RssSampler() as mem:
        t = time.perf_counter()
        d = why(log, journey)
        out["why_s"] = round(time.perf_counter() - t, 2)
    out["why_rss_start_gb"] = round(mem.start, 2)
    out["why_rss_peak_gb"] = round(mem.peak, 2)
    out["peak_after_why_gb"] = round(peak_gb(), 2)
    out["ratio"] = round(out["why_s"] / out["baseline_s"], 2)
    out["why_rss_growth_gb"] = round(mem.peak - mem.start, 2)
    out["population"] = d.population
    out["tested"] = d.tested
    out["significant"] = sum(1 for r in d.drivers if r["significant"])
    print(f"why: {out['why_s']} s ({out['ratio']}× the case table); RSS {mem.start:.2f} → "
          f"peak {mem.peak:.2f} GB (+{out['why_rss_growth_gb']} GB while it ran); "
          f"{d.population:,} cases compared, {d.tested} "
          f"values tested, {out['significant']} significant", flush=True)
    ranks = {}
    for c in truth["causes"]:
        rank = find_cause(d.drivers, c)
        ranks[c["name"]] = None if rank is None else rank + 1
    out["planted_ranks"] = ranks
    print("planted causes found at rank: " + ", ".join(f"{k} {v}" for k, v in ranks.items()))
    for i, r in enumerate(d.top(5), 1):
        print(f"  {i}. {r['feature']} = {r['value']}: lift {r['lift']:.2f}, "
              f"{r['cases']:,} cases, holds up {r['holds_up']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
