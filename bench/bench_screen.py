#!/usr/bin/env python3
"""What the drivers screen costs the risk model's training (issue 6).

:func:`lastmile.queue.train_risk_model` screens its features with the drivers analysis by
default (``screen=True``): one :func:`lastmile.why.why` run on the log as it was at the
training moment, before the training set is built. This times, in the same process and on
the same log:

1. **baseline** — ``train_risk_model(log, journey, as_of, screen=False)``;
2. **screened** — the same with ``screen=True`` (the default);
3. **screen alone** — :func:`lastmile.queue.screened_attributes` (the drivers analysis it runs).

Each is repeated ``--repeats`` times in the order A B B A … (so a slow start or a warm cache
does not favour one side); the medians and the ratio screened / baseline are printed and,
with ``--json``, written. The logs: the telecom scenario at the sizes given (trained as of the
75th percentile of its last-mile entries) and, when ``../shared/data`` is there, BPI Challenge
2012 with the journey of issue 3 (trained as of the same percentile).

Run from the repository root:

    .venv/bin/python bench/bench_screen.py                          # telecom 5,000 and 50,000
    .venv/bin/python bench/bench_screen.py --cases 5000 --repeats 2 --no-bpic   # quicker
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from lastmile.demo import generate
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.measures.cases import case_table
from lastmile.queue import screened_attributes, train_risk_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BPIC = SHARED / "bpic2012" / "bpic2012.xes.gz"
BPIC_STAGES = "A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED"
BPIC_FAIL = "A_DECLINED,A_CANCELLED"


def training_moment(log: Any, journey: Journey, q: float = 0.75) -> pd.Timestamp:
    """The ``q`` quantile of the times cases entered the last mile (to the second)."""
    ct = case_table(log.table, journey).to_pandas()
    entered = pd.to_datetime(ct.loc[ct["entered_last_mile"], "entered_last_mile_at"])
    return pd.Timestamp(entered.quantile(q)).floor("s")


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(name: str, log: Any, journey: Journey, repeats: int) -> dict[str, Any]:
    """Medians of the three steps on one log, and what the screen left out."""
    when = training_moment(log, journey)
    steps = {"baseline": lambda: train_risk_model(log, journey, when, screen=False),
             "screened": lambda: train_risk_model(log, journey, when, screen=True)}
    times: dict[str, list[float]] = {"baseline": [], "screened": [], "screen": []}
    model = None
    for r in range(repeats):
        order = ("baseline", "screened") if r % 2 == 0 else ("screened", "baseline")
        for k in order:
            sec, m = timed(steps[k])
            times[k].append(sec)
            if k == "screened":
                model = m
        sec, _ = timed(lambda: screened_attributes(log, journey, when))
        times["screen"].append(sec)
    med = {k: statistics.median(v) for k, v in times.items()}
    meta = model.metadata if model is not None else {}
    return {
        "log": name, "as_of": str(when), "repeats": repeats,
        "training_cases": meta.get("n_cases"), "training_points": meta.get("n_points"),
        "seconds": {k: round(v, 2) for k, v in med.items()},
        "all_seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "ratio_screened_to_baseline": round(med["screened"] / med["baseline"], 2),
        "screen_share_of_screened": round(med["screen"] / med["screened"], 2),
        "screened_out": meta.get("screened_out", []),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="5000,50000",
                    help="telecom sizes, comma-separated (default 5000,50000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-bpic", action="store_true", help="leave out BPI Challenge 2012")
    ap.add_argument("--json", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    results = []
    for n in [int(x) for x in args.cases.split(",") if x.strip()]:
        s = generate("telecom", cases=n, seed=0)
        log = read_log(s.events)
        results.append(measure(f"telecom, {n:,} cases ({len(s.events):,} events)", log,
                               Journey.from_dict(s.journey_dict), args.repeats))
        print(json.dumps(results[-1]), flush=True)
    if not args.no_bpic:
        if BPIC.exists():
            log = read_log(BPIC)
            journey = Journey.from_flags(BPIC_STAGES, fail=BPIC_FAIL, timeout="30d")
            results.append(measure("BPI Challenge 2012 (complete events)", log, journey,
                                   args.repeats))
            print(json.dumps(results[-1]), flush=True)
        else:
            print(f"BPI Challenge 2012 left out: {BPIC} is not there", file=sys.stderr)
    print()
    print("| log | training cases · points | baseline s | screened s | screen alone s "
          "| screened / baseline |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        s = r["seconds"]
        print(f"| {r['log']} | {r['training_cases']:,} · {r['training_points']:,} "
              f"| {s['baseline']:.1f} | {s['screened']:.1f} | {s['screen']:.1f} "
              f"| {r['ratio_screened_to_baseline']:.2f}× |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(
            {"python": platform.python_version(), "machine": platform.machine(),
             "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
