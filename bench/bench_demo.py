#!/usr/bin/env python3
"""Demo simulator benchmark (issue 4, Must show 4): events generated per second at 10 million.

Generates one scenario at about 1 million and then about 10 million events in the same
process (the number of cases is set from the scenario's events per case in a small pilot run)
and prints the rate of each and their ratio: a ratio near 1 means generation scales linearly.
With ``--write`` it also times writing the 10-million-event log (CSV, Parquet, journey, truth).

Run from the repository root:

    .venv/bin/python bench/bench_demo.py                 # telecom, 10 million events
    .venv/bin/python bench/bench_demo.py --scenario weightloss --write

Times are wall-clock seconds of ``lastmile.demo.generate`` alone (imports excluded).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time

from lastmile.demo import SCENARIOS, generate, write


def timed(name: str, cases: int, seed: int) -> tuple[int, float]:
    started = time.perf_counter()
    scenario = generate(name, cases=cases, seed=seed)
    elapsed = time.perf_counter() - started
    return len(scenario.events), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="telecom", choices=sorted(SCENARIOS))
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="also time writing the files")
    args = parser.parse_args()

    pilot_events, _ = timed(args.scenario, 20_000, args.seed)
    per_case = pilot_events / 20_000
    small_cases = round(args.events / 10 / per_case)
    big_cases = round(args.events / per_case)

    n1, t1 = timed(args.scenario, small_cases, args.seed)
    rate1 = n1 / t1
    print(f"{args.scenario}: {n1:,} events ({small_cases:,} cases) in {t1:.1f} s "
          f"= {rate1:,.0f} events/s", flush=True)
    started = time.perf_counter()
    scenario = generate(args.scenario, cases=big_cases, seed=args.seed)
    t10 = time.perf_counter() - started
    n10 = len(scenario.events)
    rate10 = n10 / t10
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"{args.scenario}: {n10:,} events ({big_cases:,} cases) in {t10:.1f} s "
          f"= {rate10:,.0f} events/s; rate ratio 10M/1M = {rate10 / rate1:.2f}; "
          f"peak RSS {peak_gb:.1f} GB", flush=True)
    if args.write:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            write(scenario, tmp)
            tw = time.perf_counter() - started
        print(f"{args.scenario}: wrote events.csv + events.parquet + journey + truth for "
              f"{n10:,} events in {tw:.1f} s = {n10 / tw:,.0f} events/s", flush=True)
    print(f"python {platform.python_version()}, {platform.machine()}, "
          f"{platform.system()} {platform.release()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
