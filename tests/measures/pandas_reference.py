"""An independent plain-pandas/Python computation of every measure in docs/measures.md.

Written from the definitions, case by case, without Ibis and without sharing code with
``lastmile.measures``; the tests compare the two.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from lastmile.journey import Journey


def reference_cases(events: pd.DataFrame, journey: Journey, as_of=None) -> pd.DataFrame:
    """One row per case, indexed by case_id, following docs/measures.md literally."""
    df = events.copy()
    if as_of is not None:
        df = df[df["timestamp"] <= pd.Timestamp(as_of)]
    end = pd.Timestamp(as_of) if as_of is not None else events["timestamp"].max()
    df = df.sort_values(["case_id", "timestamp", "event_index"], kind="mergesort")
    stage_of = {}
    for k, stage in enumerate(journey.stages):
        for a in stage.activities:
            stage_of[a] = k
    fail = set(journey.failure)
    rev_acts = set(journey.reversal.activities) if journey.reversal else set()
    window = journey.reversal.window if journey.reversal else None
    timeout = journey.timeout
    F, L, K = journey.finish_index, journey.last_mile_index, len(journey.stages)
    rows = []
    for case_id, g in df.groupby("case_id", sort=False):
        acts = list(g["activity"])
        times = list(g["timestamp"])
        idx = [stage_of.get(a, -1) for a in acts]
        furthest = max(idx)
        row = {
            "case_id": case_id,
            "first_event_at": min(times),
            "last_event_at": max(times),
            "events": len(acts),
            "stage_index": furthest,
        }
        row["duration_days"] = (
            row["last_event_at"] - row["first_event_at"]
        ).total_seconds() / 86400
        for k in range(K):
            ts = [t for t, i in zip(times, idx, strict=True) if i >= k]
            row[f"reached_{k}_at"] = min(ts) if ts else pd.NaT
        finished = furthest >= F
        reversed_at = pd.NaT
        if finished and rev_acts:
            first_fin = next(p for p, i in enumerate(idx) if i >= F)
            fin_at = times[first_fin]
            for p in range(first_fin + 1, len(acts)):
                if acts[p] in rev_acts and (window is None or times[p] - fin_at <= window):
                    reversed_at = times[p]
                    break
        fails = [t for t, a in zip(times, acts, strict=True) if a in fail]
        explicit = (not finished) and bool(fails)
        abandoned = (
            (not finished)
            and not explicit
            and timeout is not None
            and (end - row["last_event_at"]) > timeout
        )
        if finished and not pd.isna(reversed_at):
            status = "reversed"
        elif finished:
            status = "finished"
        elif explicit or abandoned:
            status = "failed"
        else:
            status = "open"
        row["status"] = status
        row["failure_kind"] = "explicit" if explicit else ("abandoned" if abandoned else None)
        row["reversed_at"] = reversed_at
        row["explicit_failure_at"] = min(fails) if fails else pd.NaT
        row["finished_at"] = row[f"reached_{F}_at"]
        row["entered_last_mile"] = furthest >= L
        row["entered_last_mile_at"] = row[f"reached_{L}_at"]
        row["last_mile_failure"] = furthest >= L and status in ("failed", "reversed")
        row["stage"] = journey.stages[furthest].name if furthest >= 0 else None
        if journey.value:
            vals = pd.to_numeric(g[journey.value], errors="coerce").dropna()
            row["value"] = float(vals.max()) if len(vals) else np.nan
        else:
            row["value"] = np.nan
        cost = journey.cost
        if cost is None:
            row["cost"] = np.nan
        elif cost.per_event is not None:
            row["cost"] = cost.per_event * len(acts)
        elif cost.per_activity is not None:
            row["cost"] = float(sum(cost.per_activity.get(a, 0.0) for a in acts))
        else:
            row["cost"] = float(pd.to_numeric(g[cost.attribute]).fillna(0).sum())
        rows.append(row)
    return pd.DataFrame(rows).set_index("case_id").sort_index()


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q * 100, method="linear")) if values else None


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def reference_report(events: pd.DataFrame, journey: Journey, as_of=None) -> dict:
    """The report dict (schema lastmile.report/1) computed from :func:`reference_cases`."""
    c = reference_cases(events, journey, as_of)
    K, L = len(journey.stages), journey.last_mile_index
    funnel = []
    for k, stage in enumerate(journey.stages):
        reached = int((c.stage_index >= k).sum())
        if k == K - 1:
            funnel.append(
                {
                    "stage": stage.name,
                    "reached": reached,
                    "moved_on": 0,
                    "lost": 0,
                    "open": 0,
                    "conversion": None,
                    "median_hours_to_next": None,
                    "p90_hours_to_next": None,
                }
            )
            continue
        moved = c[c.stage_index > k]
        here = c[c.stage_index == k]
        lost = int((here.status != "open").sum())
        hours = [
            (r[f"reached_{k + 1}_at"] - r[f"reached_{k}_at"]).total_seconds() / 3600
            for _, r in moved.iterrows()
        ]
        funnel.append(
            {
                "stage": stage.name,
                "reached": reached,
                "moved_on": len(moved),
                "lost": lost,
                "open": int((here.status == "open").sum()),
                "conversion": _div(len(moved), len(moved) + lost),
                "median_hours_to_next": _pct(hours, 0.5),
                "p90_hours_to_next": _pct(hours, 0.9),
            }
        )
    lm = c[c.stage_index >= L]
    n = {s: int((lm.status == s).sum()) for s in ("finished", "failed", "reversed", "open")}
    all_fail = int(c.status.isin(["failed", "reversed"]).sum())
    last_mile = {
        "stage": journey.last_mile,
        "entered": len(lm),
        **n,
        "conversion": _div(n["finished"], len(lm) - n["open"]),
        "share_of_failures": _div(n["failed"] + n["reversed"], all_fail),
    }
    st = c[c.last_mile_failure]
    has_cost = journey.cost is not None
    stranded = {
        "events": int(st.events.sum()),
        "case_days": float(st.duration_days.sum()),
        "cost": float(st.cost.sum()) if has_cost else None,
        "share_of_events": _div(int(st.events.sum()), int(c.events.sum())),
        "share_of_case_days": _div(float(st.duration_days.sum()), float(c.duration_days.sum())),
        "share_of_cost": _div(float(st.cost.sum()), float(c.cost.sum())) if has_cost else None,
        "value_lost": float(st.value.fillna(0).sum()) if journey.value else None,
    }
    trend = []
    lm = lm.assign(month=[t.strftime("%Y-%m") for t in lm.entered_last_mile_at])
    for month, g in sorted(lm.groupby("month"), key=lambda x: x[0]):
        m = {s: int((g.status == s).sum()) for s in ("finished", "failed", "reversed", "open")}
        trend.append(
            {
                "month": month,
                "entered": len(g),
                **m,
                "conversion": _div(m["finished"], len(g) - m["open"]),
            }
        )
    return {
        "cases": len(c),
        "events": int(c.events.sum()),
        "status": {
            s: int((c.status == s).sum()) for s in ("finished", "reversed", "failed", "open")
        },
        "funnel": funnel,
        "last_mile": last_mile,
        "stranded": stranded,
        "trend": trend,
    }


def assert_same(actual, expected, path: str = "report", rel: float = 1e-6) -> None:
    """Deep comparison with a relative tolerance for floats (the report rounds to 6 places)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_same(actual[key], value, f"{path}.{key}", rel)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{path}: {actual!r} != {expected!r}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]", rel)
    elif isinstance(expected, float):
        assert actual is not None, f"{path}: None != {expected}"
        assert abs(actual - expected) <= max(rel * abs(expected), 1e-6), (
            f"{path}: {actual} != {expected}"
        )
    elif isinstance(expected, datetime):
        assert pd.Timestamp(actual) == pd.Timestamp(expected), path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
