"""Drivers of last-mile failure on every demo scenario: planted causes found, null logs clean.

For each scenario at its default size: are all the causes planted in ``truth.json`` among the
top 5 drivers, significant and holding up? And on ``--null`` logs (no planted cause) over many
seeds: in how many does any driver pass the 5 % false-discovery rate?

    .venv/bin/python bench/why_scenarios.py                  # 1 planted seed, 20 null seeds
    .venv/bin/python bench/why_scenarios.py --seeds 3 --null-seeds 20 --json out.json
    .venv/bin/python bench/why_scenarios.py --seeds 0 --null-from 20 --null-seeds 20  # 20-39

Under a global null a 5 % false-discovery rate is a 5 % chance per log of any discovery, so
the target "at most one of 20 null logs with a discovery" is met by a calibrated procedure in
about three scenarios of four; the pooled count over all scenarios is printed too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lastmile.demo import SCENARIOS, generate
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.why import why
from lastmile.why.truth import find_cause


def run(name: str, seed: int, null: bool) -> dict:
    s = generate(name, seed=seed, null=null)
    log = read_log(s.events)
    t0 = time.perf_counter()
    d = why(log, Journey.from_yaml(s.journey))
    seconds = time.perf_counter() - t0
    out = {"scenario": name, "seed": seed, "null": null, "cases": d.population,
           "failures": d.failures, "tested": d.tested, "seconds": round(seconds, 2),
           "significant": [f"{r['feature']} = {r['value']}" for r in d.drivers
                           if r["significant"]]}
    if not null:
        found = []
        for c in s.truth["causes"]:
            rank = find_cause(d.drivers, c)
            r = d.drivers[rank] if rank is not None else None
            found.append({"cause": c["name"], "feature": c["feature"], "effect": c["effect"],
                          "rank": None if rank is None else rank + 1,
                          "driver": None if r is None else f"{r['feature']} = {r['value']}",
                          "lift": None if r is None else round(r["lift"], 2),
                          "q_value": None if r is None else r["q_value"],
                          "holds_up": None if r is None else r["holds_up"],
                          "ok": r is not None and rank < 5 and r["significant"]
                          and r["holds_up"]})
        out["causes"] = found
        out["ok"] = all(f["ok"] for f in found)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--null-seeds", type=int, default=20)
    ap.add_argument("--null-from", type=int, default=0, help="first null seed")
    ap.add_argument("--scenarios", default=",".join(sorted(SCENARIOS)))
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    names = [n for n in args.scenarios.split(",") if n]
    results = []
    ok = True
    dirty_total = 0
    for name in names:
        for seed in range(args.seeds):
            r = run(name, seed, False)
            results.append(r)
            ok &= r["ok"]
            print(f"{name} seed {seed}: {'OK' if r['ok'] else 'MISSED'} "
                  f"({r['cases']} cases, {r['seconds']} s)", flush=True)
            for c in r["causes"]:
                print(f"   {c['cause']:<36} rank {c['rank']}  {c['driver']}  lift {c['lift']}"
                      f"  q {c['q_value']:.2g}  holds_up {c['holds_up']}" if c["rank"]
                      else f"   {c['cause']:<36} NOT FOUND", flush=True)
        clean = 0
        for seed in range(args.null_from, args.null_from + args.null_seeds):
            r = run(name, seed, True)
            results.append(r)
            clean += not r["significant"]
            if r["significant"]:
                print(f"   null seed {seed}: {r['significant']}", flush=True)
        if args.null_seeds:
            print(f"{name} null: {clean}/{args.null_seeds} seeds with no driver passing the "
                  "FDR", flush=True)
            ok &= clean >= args.null_seeds * 19 / 20
            dirty_total += args.null_seeds - clean
    if args.null_seeds and len(names) > 1:
        print(f"all null logs: {dirty_total}/{args.null_seeds * len(names)} with a driver "
              "passing the FDR", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
