"""Must-show 3: does the follow-through queue put the cases that will fail at the top?

For every demo scenario, the queue is built as of several moments (the 35th … 85th percentiles
of the times cases entered the last mile, all before ``follow_up_complete_before`` so that their
outcomes are in the log), each time training its risk model on the spot on the cases closed by
then and using only events up to then. Among the queued cases that entered the last mile
recently (within the going-cold window), pooled over the moments:

- how often the top tenth of the queue (by priority, within each moment's queue) actually
  failed, against the average — judged by the outcome of each case in the complete log;
- the AUC of the queue's risk on those cases, next to that of an oracle that knows the planted
  causes (the product of the effect factors of the causes in ``truth.json`` that apply to the
  case — the simulator's own rule, applied on the complete log).

    .venv/bin/python bench/queue_scenarios.py                     # all six, default sizes
    .venv/bin/python bench/queue_scenarios.py --scenarios carsales --cases 2000 --dates 4
    .venv/bin/python bench/queue_scenarios.py --write /tmp/queue.md  # then into RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from lastmile.demo import SCENARIOS, generate
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.measures.cases import case_table
from lastmile.queue import follow_through_queue
from lastmile.risk.evaluate import auc_difference_interval, roc_auc

QUANTILES = (0.35, 0.45, 0.55, 0.65, 0.75, 0.85)


def as_of_dates(entered: pd.Series, complete_before: pd.Timestamp, n: int) -> list[pd.Timestamp]:
    """``n`` moments at evenly spaced percentiles (35th–85th) of the last-mile entry times."""
    times = entered[entered < complete_before].sort_values()
    qs = np.linspace(QUANTILES[0], QUANTILES[-1], n) if n != len(QUANTILES) else QUANTILES
    return [pd.Timestamp(times.quantile(q)).floor("s") for q in qs]


#: Causes whose rule reads what is known when a case enters the last mile (an attribute, who
#: did an activity, whether an activity happened); the others (waits, pace, contacts in the
#: final hours, weigh-ins after the goal) may only show later.
KNOWABLE = ("attribute", "resource", "path")


def oracle_scores(truth: dict[str, Any], cases: pd.Series,
                  kinds: tuple[str, ...] | None = None) -> np.ndarray:
    """Product of the effect factors of the planted causes that apply to each case.

    With ``kinds``, only the causes whose rule is of one of these types.
    """
    score = np.ones(len(cases))
    ids = cases.astype(str).to_numpy()
    for c in truth["causes"]:
        if kinds is not None and c["rule"]["type"] not in kinds:
            continue
        hit = np.isin(ids, np.asarray(c["cases"], dtype=str))
        score = np.where(hit, score * float(c["effect"]), score)
    return score


def top_rate(score: np.ndarray, failed: np.ndarray, share: float = 0.1) -> float:
    """Fail rate of the top ``share`` (at least one case) by ``score``, ties shared fairly.

    Cases tied at the cut-off count with their group's mean fail rate, so a score with few
    distinct values (an oracle's products of effect factors) gets the rate its ranking
    guarantees, not one that depends on the order of the rows.

    >>> top_rate(np.array([3.0, 2.0, 2.0, 1.0]), np.array([1, 1, 0, 0]), share=0.5)
    0.75
    """
    score = np.asarray(score, dtype=float)
    failed = np.asarray(failed, dtype=float)
    n = max(1, math.ceil(share * len(score)))
    frame = pd.DataFrame({"s": score, "y": failed}).groupby("s")["y"].agg(["sum", "count"])
    frame = frame.sort_index(ascending=False)
    taken, got = 0, 0.0
    for total, count in zip(frame["sum"], frame["count"], strict=True):
        k = min(count, n - taken)
        got += total * k / count
        taken += k
        if taken >= n:
            break
    return got / n


def noise_reason_share(details: pd.Series, irrelevant: list[str]) -> float:
    """Share of the reasons given (all cases, all reasons) that cite an irrelevant attribute.

    ``details`` holds each case's ``reason_details`` (dicts with a ``feature``); an attribute
    ``a`` is cited by the features ``last_a``, ``mean_a``, ``min_a``, ``max_a``.
    """
    from lastmile.risk.encoding import feature_slug

    names = {f"{p}_{feature_slug(a)}" for a in irrelevant for p in ("last", "mean", "min", "max")}
    cited = [r["feature"] for rs in details for r in rs]
    return float(np.mean([f in names for f in cited])) if cited else float("nan")


def run(name: str, cases: int | None = None, seed: int = 0, dates: int = 6) -> dict[str, Any]:
    """Queue the scenario as of ``dates`` moments; pooled top-tenth lift and AUCs."""
    t0 = time.perf_counter()
    s = generate(name, cases=cases, seed=seed)
    log = read_log(s.events)
    journey = Journey.from_dict(s.journey_dict)
    full = case_table(log.table, journey).to_pandas()
    full["case_id"] = full["case_id"].astype(str)
    outcome = full.set_index("case_id")["status"]
    complete = pd.Timestamp(s.truth["follow_up_complete_before"]).tz_localize(None)
    entered = pd.to_datetime(full.loc[full["entered_last_mile"], "entered_last_mile_at"])
    rows = []
    for k, when in enumerate(as_of_dates(entered, complete, dates)):
        q = follow_through_queue(log, journey, as_of=when)
        r = q.ranked_
        cold = q.going_cold_hours
        recent = r[r["hours_in_last_mile"] <= cold] if cold is not None else r
        status = outcome.reindex(recent["case"]).to_numpy()
        known = np.isin(status, ["finished", "reversed", "failed"])
        recent = recent[known].copy()
        recent["failed"] = np.isin(status[known], ["failed", "reversed"]).astype(int)
        recent["date"] = k
        recent["as_of"] = when
        recent["queued"] = len(r)
        recent["stale"] = len(q.stale_)
        recent["settled"] = bool((q.model_.metadata or {}).get("settled", True))
        recent["ranks"] = bool(q.model_ranks)
        recent["train_cases"] = int(getattr(q.model_, "n_train_cases_", 0))
        recent["train_failed"] = int((q.model_.metadata or {}).get("n_failed", 0))
        rows.append(recent)
    pooled = pd.concat(rows, ignore_index=True)
    y = pooled["failed"].to_numpy()
    oracle = oracle_scores(s.truth, pooled["case"])
    knowable = oracle_scores(s.truth, pooled["case"], KNOWABLE)
    base = float(y.mean()) if len(y) else float("nan")
    noise = noise_reason_share(pooled["reason_details"], s.truth.get("irrelevant_attributes", []))
    pooled["risk_urgency"] = pooled["risk"] * pooled["urgency"]
    value = pooled["value"].fillna(1.0) if pooled["value"].notna().any() else 1.0
    pooled["lost"] = y * value

    def top_tenth(score: str) -> pd.DataFrame:
        return pd.concat([tenth(g, score) for _, g in pooled.groupby("date")])

    top_q = top_tenth("priority")
    top_ru = top_tenth("risk_urgency")
    top_r = top_tenth("risk")
    rate = {k: float(t["failed"].mean()) for k, t in
            (("queue", top_q), ("risk_urgency", top_ru), ("risk", top_r))}
    pooled["knowable"] = knowable
    # the ceiling: the top tenth of each moment by the knowable oracle (ties shared fairly)
    groups = [g for _, g in pooled.groupby("date")]
    known_top = [top_rate(g["knowable"].to_numpy(), g["failed"].to_numpy()) for g in groups]
    top_n = [tenth_size(len(g)) for g in groups]
    knowable_rate = float(np.dot(known_top, top_n) / sum(top_n))
    lost_avg = float(pooled["lost"].mean())
    moments = [per_moment(g, k) for g, k in zip(groups, known_top, strict=True)]
    lo, hi = lift_interval(groups, "risk_urgency")
    # is the risk below the knowable oracle, or within what these cases can tell? paired, by
    # case (a case queued at several moments is drawn with all its rows)
    gap = auc_difference_interval(y, knowable, pooled["risk"].to_numpy(), pooled["case"],
                                  level=0.9, n_boot=1000) if 0 < y.sum() < len(y) else None
    return {
        "scenario": name, "cases": int(s.truth["n_cases"]), "seed": seed,
        "as_of": [str(d) for d in sorted(pooled["as_of"].unique())], "dates": dates,
        "value": journey.value,
        "recent_cases": len(pooled), "failures": int(y.sum()),
        "fail_rate": round(base, 4),
        "top_tenth_fail_rate": round(rate["queue"], 4),
        "lift": round(rate["queue"] / base, 2) if base > 0 else None,
        "top_tenth_no_value_fail_rate": round(rate["risk_urgency"], 4),
        "lift_no_value": round(rate["risk_urgency"] / base, 2) if base > 0 else None,
        "lift_no_value_interval": [round(lo, 2), round(hi, 2)],
        "top_tenth_by_risk_fail_rate": round(rate["risk"], 4),
        "lift_by_risk": round(rate["risk"] / base, 2) if base > 0 else None,
        "top_tenth_knowable_oracle_fail_rate": round(knowable_rate, 4),
        "lift_knowable_oracle": round(knowable_rate / base, 2) if base > 0 else None,
        "value_lost_lift": (round(float(top_q["lost"].mean()) / lost_avg, 2)
                            if lost_avg > 0 else None),
        "auc_risk": round(roc_auc(y, pooled["risk"].to_numpy()), 3),
        "auc_priority": round(roc_auc(y, pooled["priority"].to_numpy()), 3),
        "auc_oracle": round(roc_auc(y, oracle), 3),
        "auc_oracle_knowable": round(roc_auc(y, knowable), 3),
        "auc_risk_minus_knowable": (None if gap is None else
                                    [round(float(x), 3) for x in gap]),
        "noise_reasons": round(noise, 3),
        "settled_models": int(pooled.groupby("date")["settled"].first().sum()),
        "models_not_ranking": int((~pooled.groupby("date")["ranks"].first()).sum()),
        "stale_left_out": int(pooled.groupby("date")["stale"].first().sum()),
        "seconds": round(time.perf_counter() - t0, 1),
        "ok": bool(base > 0 and rate["risk_urgency"] >= 1.5 * base),
        "moments": moments,
    }


def queue_order(g: pd.DataFrame, score: str) -> np.ndarray:
    """Row positions of ``g`` by ``score``, highest first, ties in the rows' order (the
    queue's own order)."""
    return np.argsort(-g[score].to_numpy(dtype=float), kind="stable")


def tenth_size(n: int) -> int:
    """How many rows a top tenth of ``n`` rows has (at least one)."""
    return max(1, math.ceil(0.1 * n))


def tenth(g: pd.DataFrame, score: str) -> pd.DataFrame:
    """The first tenth of ``g`` in :func:`queue_order`."""
    return g.iloc[queue_order(g, score)[:tenth_size(len(g))]]


def lift_interval(groups: list[pd.DataFrame], score: str, *, level: float = 0.9,
                  n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """A bootstrap interval for the pooled top-tenth lift of ``score`` over the ``groups``.

    Each moment's cases are drawn with replacement (as many as it has; the moments stay as
    they are), each moment's top tenth is taken again from its drawn cases in the order of
    :func:`tenth` (a case drawn twice counts twice), and the lift is the pooled top tenths'
    fail rate over the pooled fail rate of the drawn cases. Returns the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles; ``(nan, nan)`` when a resample has no failure at all.
    """
    rng = np.random.default_rng(seed)
    # each moment's failures in queue order, with that order to map the draws onto it
    moments = [(o, g["failed"].to_numpy(dtype=float)[o])
               for g, o in ((g, queue_order(g, score)) for g in groups)]
    lifts = []
    for _ in range(n_boot):
        top_f = top_n = all_f = all_n = 0.0
        for order, y in moments:
            n = len(y)
            times = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)[order]
            want = tenth_size(n)
            before = np.cumsum(times) - times
            take = np.clip(want - before, 0.0, times)  # drawn copies inside the top tenth
            top_f += float(take @ y)
            top_n += want
            all_f += float(times @ y)
            all_n += n
        if all_f <= 0:
            return float("nan"), float("nan")
        lifts.append((top_f / top_n) / (all_f / all_n))
    lo, hi = np.quantile(lifts, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def per_moment(g: pd.DataFrame, knowable_top: float) -> dict[str, Any]:
    """One moment's recent queued cases: sizes, the model's training, AUCs and top-tenth lifts.

    ``g`` holds the pooled rows of one moment (``failed``, ``risk``, ``risk_urgency``,
    ``knowable`` and the moment's bookkeeping columns); ``knowable_top`` is the fail rate of
    its top tenth by the knowable oracle (:func:`top_rate`).
    """
    y = g["failed"].to_numpy()
    base = float(y.mean()) if len(y) else float("nan")

    def lift(rate: float) -> float | None:
        return round(rate / base, 2) if base > 0 else None

    def top(col: str) -> float | None:
        return lift(float(tenth(g, col)["failed"].mean()))

    return {
        "as_of": str(g["as_of"].iloc[0])[:16], "recent_cases": len(g),
        "failures": int(y.sum()), "fail_rate": round(base, 4),
        "train_cases": int(g["train_cases"].iloc[0]),
        "train_failed": int(g["train_failed"].iloc[0]),
        "model_ranks": bool(g["ranks"].iloc[0]),
        "auc_risk": round(roc_auc(y, g["risk"].to_numpy()), 3),
        "auc_oracle_knowable": round(roc_auc(y, g["knowable"].to_numpy()), 3),
        "lift_no_value": top("risk_urgency"), "lift_by_risk": top("risk"),
        "lift_knowable_oracle": lift(knowable_top),
    }


def moments_markdown(results: list[dict[str, Any]]) -> str:
    """Moment by moment, per scenario: what bounds a pooled figure (``--per-moment``)."""
    lines = ["", "Moment by moment (recent queued cases of each moment; top tenth against that "
             "moment's average):", "",
             "| scenario | as of | recent | fail rate | training cases (failed) | model ranks | "
             "AUC risk · knowable oracle | top tenth: queue no value · by risk · knowable "
             "oracle |", "|---|---|---:|---:|---|:-:|---|---|"]
    for r in results:
        for m in r["moments"]:
            lines.append(
                f"| {r['scenario']} | {m['as_of']} | {m['recent_cases']:,} | "
                f"{m['fail_rate']:.1%} | {m['train_cases']:,} ({m['train_failed']:,}) | "
                f"{'yes' if m['model_ranks'] else 'no'} | {m['auc_risk']:.3f} · "
                f"{m['auc_oracle_knowable']:.3f} | {m['lift_no_value']}× · "
                f"{m['lift_by_risk']}× · {m['lift_knowable_oracle']}× |")
    return "\n".join(lines) + "\n"


def markdown(results: list[dict[str, Any]], command: str) -> str:
    """The results table for the queue section of ``bench/RESULTS.md``."""
    lines = [
        "# Follow-through queue on the demo scenarios (Must-show 3)", "",
        f"Command: `{command}`", "",
        "Per scenario (default size, seed 0), the queue is built as of six moments (35th–85th "
        "percentile of the last-mile entry times, all before the truth's "
        "`follow_up_complete_before`), each time with a risk model trained on the spot on the "
        "cases closed by then, from events up to then. Judged on the queued cases that "
        "entered the last mile within the going-cold window (stale cases are never queued), "
        "by how each actually ended in the complete log, pooled over the six moments. *Top "
        "tenth*: the first tenth of each moment's queue.", "",
        "- **queue, no value** — the queue ordered as `lastmile queue` orders it when the "
        "journey has no value column: risk × urgency. This is the Must-show criterion "
        "(≥ 1.5× the average fail rate).",
        "- **by risk** — ordered by risk alone.",
        "- **queue with value** — the default queue of the scenario's journey, which has a "
        "value column: risk × value × urgency. It is built to put the *value* at risk on "
        "top, not the likeliest failures, so its fair measure is the value actually lost per "
        "case in its top tenth against the average (*value lost*).",
        "- **oracle** — the product of the effect factors of the planted causes that apply to "
        "the case (truth.json, computed by the simulator on the complete log, future "
        "included); *knowable*: only the causes read from attributes, resources and the path "
        "before the last mile. *Top tenth, knowable oracle*: the fail rate of each moment's "
        "top tenth ranked by the knowable oracle (cases tied at the cut-off count with their "
        "group's mean): what the causes known before the last mile give on their own (the "
        "model may do better where waits and pace, which build up later, carry causes too).",
        "",
        "*Interval*: 90 % bootstrap interval of the queue-no-value lift (each moment's "
        "recent cases drawn with replacement, its top tenth taken again).", "",
        "| scenario | recent queued | failed | average fail rate | top tenth, queue no value "
        "| interval | top tenth, by risk | top tenth, queue with value: failed · value lost "
        "| AUC risk | AUC oracle | AUC oracle, knowable | top tenth, knowable oracle | ≥ 1.5× |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['recent_cases']:,} | {r['failures']:,} | "
            f"{r['fail_rate']:.1%} | {r['top_tenth_no_value_fail_rate']:.1%} "
            f"({r['lift_no_value']}×) | {r['lift_no_value_interval'][0]}–"
            f"{r['lift_no_value_interval'][1]}× | {r['top_tenth_by_risk_fail_rate']:.1%} "
            f"({r['lift_by_risk']}×) | {r['top_tenth_fail_rate']:.1%} ({r['lift']}×) · "
            f"{r['value_lost_lift']}× | {r['auc_risk']:.3f} | {r['auc_oracle']:.3f} | "
            f"{r['auc_oracle_knowable']:.3f} | "
            f"{r['top_tenth_knowable_oracle_fail_rate']:.1%} ({r['lift_knowable_oracle']}×) | "
            f"{'yes' if r['ok'] else '**no**'} |")
    lines += ["", "As-of moments per scenario:", ""]
    for r in results:
        lines.append(f"- {r['scenario']} ({r['cases']:,} cases): "
                     + ", ".join(a[:16] for a in r["as_of"])
                     + f"; {r['stale_left_out']:,} stale cases left out in all; "
                     f"{r['dates'] - r['settled_models']} of {r['dates']} models trained "
                     f"without enough settled cases; {r['models_not_ranking']} of "
                     f"{r['dates']} models did not rank (too few failures or no evidence on "
                     f"held-back cases)"
                     + (f"; AUC risk − knowable oracle {gap[0]:+.3f} (90 % paired interval "
                        f"{gap[1]:+.3f} to {gap[2]:+.3f})"
                        if (gap := r.get("auc_risk_minus_knowable")) else "")
                     + f"; {r['seconds']} s")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--cases", type=int, default=None, help="default: each scenario's size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dates", type=int, default=len(QUANTILES))
    ap.add_argument("--json", default=None, help="write the results as JSON here")
    ap.add_argument("--write", default=None, help="write the Markdown table here")
    ap.add_argument("--per-moment", action="store_true",
                    help="add the moment-by-moment table to the Markdown")
    args = ap.parse_args(argv)
    results = []
    for name in args.scenarios.split(","):
        r = run(name.strip(), args.cases, args.seed, args.dates)
        results.append(r)
        print(json.dumps(r), flush=True)
    command = "python bench/queue_scenarios.py " + " ".join(argv if argv is not None
                                                            else sys.argv[1:])
    text = markdown(results, command.strip())
    if args.per_moment:
        text += moments_markdown(results)
    print(text)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
