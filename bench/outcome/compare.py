"""Do two runs of the outcome bench differ on the same test cases? A paired bootstrap.

Two runs of ``run.py --save-scores`` (say, two ways of choosing the model) score the same
test prefixes. Their test AUCs each have an interval, but those intervals share most of their
width: which cases happen to be in the test moves both runs together. This script takes the
test risks of both (``test_scores_<task>.npz``), lines the rows up by case and prefix length,
and draws whole test cases with replacement, judging both runs on every draw
(:func:`lastmile.risk.evaluate.auc_difference_interval`). An interval of the difference that
contains 0 says the test cases cannot tell the two runs apart.

```
.venv/bin/python bench/outcome/compare.py bench/outcome/out/fill_forward_again \\
    bench/outcome/out/folds
```
Prints a Markdown table (and writes it with ``--write``): per task, the prefix-weighted AUC of
run A and of run B, B − A and its interval.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lastmile.risk.evaluate import auc_difference_interval, evaluate

LEVEL = 0.9
RESAMPLES = 1000


def load(path: Path) -> pd.DataFrame:
    """One run's test risks, one row per (case, prefix length)."""
    with np.load(path) as z:
        frame = pd.DataFrame({"case_id": z["case_id"].astype(str),
                              "prefix_length": z["prefix_length"].astype(int),
                              "y": z["y"].astype(int), "risk": z["risk"].astype(float)})
    if frame.duplicated(["case_id", "prefix_length"]).any():
        raise SystemExit(f"{path}: a (case, prefix length) appears twice")
    return frame


def compare(a: pd.DataFrame, b: pd.DataFrame, *, level: float = LEVEL,
            n_boot: int = RESAMPLES, seed: int = 0) -> dict[str, float]:
    """AUC of each run, B − A and its paired interval; the rows must be the same prefixes."""
    both = a.merge(b, on=["case_id", "prefix_length"], how="outer", suffixes=("_a", "_b"),
                   indicator=True)
    if (both["_merge"] != "both").any() or (both["y_a"] != both["y_b"]).any():
        raise SystemExit("the two runs did not score the same test prefixes with the same "
                         "labels: compare runs of the same task and log")
    y, k = both["y_a"].to_numpy(), both["prefix_length"].to_numpy()
    d, lo, hi = auc_difference_interval(y, both["risk_a"], both["risk_b"], both["case_id"],
                                        level=level, n_boot=n_boot, seed=seed,
                                        prefix_lengths=k)
    return {"auc_a": evaluate(y, both["risk_a"], k).weighted_auc,
            "auc_b": evaluate(y, both["risk_b"], k).weighted_auc,
            "difference": d, "low": lo, "high": hi, "cases": both["case_id"].nunique()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_a", type=Path, help="output directory of run A (run.py --out)")
    ap.add_argument("run_b", type=Path, help="output directory of run B")
    ap.add_argument("--task", action="append", default=[],
                    help="only these tasks (default: every task both runs saved)")
    ap.add_argument("--resamples", type=int, default=RESAMPLES)
    ap.add_argument("--write", type=Path, help="also write the table to this file")
    args = ap.parse_args(argv)
    names = {p.name[len("test_scores_"):-len(".npz")]
             for p in args.run_a.glob("test_scores_*.npz")}
    names &= {p.name[len("test_scores_"):-len(".npz")]
              for p in args.run_b.glob("test_scores_*.npz")}
    if args.task:
        names &= set(args.task)
    if not names:
        print("no task has test scores in both directories (run run.py with --save-scores)",
              file=sys.stderr)
        return 2
    lines = [f"| task | AUC, A | AUC, B | B − A | {LEVEL:.0%} interval (paired, cases) | "
             "test cases |", "|---|---:|---:|---:|---|---:|"]
    for name in sorted(names):
        r = compare(load(args.run_a / f"test_scores_{name}.npz"),
                    load(args.run_b / f"test_scores_{name}.npz"), n_boot=args.resamples)
        lines.append(f"| {name} | {r['auc_a']:.3f} | {r['auc_b']:.3f} | "
                     f"{r['difference']:+.3f} | {r['low']:+.3f} to {r['high']:+.3f} | "
                     f"{r['cases']:,} |")
    table = "\n".join([f"A: `{args.run_a}`, B: `{args.run_b}`", "", *lines])
    print(table)
    if args.write:
        args.write.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
