"""Report dicts for the report tests: realistic BPI Challenge 2012 numbers, and hostile ones.

The funnel follows issue 3's Must-show 1 (reached = 13087, 7367, 5113, 5015, 3254, 2246); the
rest is made up to be consistent with it: every stage's reached = moved on + lost + open, the
statuses add up to the cases, the last mile and the monthly trend add up to each other.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

STAGES = ["A_SUBMITTED", "A_PREACCEPTED", "A_ACCEPTED", "O_SENT", "O_SENT_BACK", "A_APPROVED"]
REACHED = [13087, 7367, 5113, 5015, 3254, 2246]
OPEN = [70, 54, 8, 61, 58]  # still open at each stage (all but the finish)
HOURS = [(0.02, 0.6), (20.3, 92.0), (0.01, 0.2), (161.0, 460.0), (74.0, 310.0)]
# month, entered, finished, failed, open (cases that entered the last mile that month)
MONTHS = [
    ("2011-10", 531, 372, 159, 0),
    ("2011-11", 575, 398, 177, 0),
    ("2011-12", 498, 352, 146, 0),
    ("2012-01", 602, 431, 171, 0),
    ("2012-02", 556, 392, 158, 6),
    ("2012-03", 492, 301, 139, 52),
]
EVENTS = 262_200


def _funnel() -> list[dict[str, Any]]:
    rows = []
    for i, stage in enumerate(STAGES):
        reached = REACHED[i]
        if i == len(STAGES) - 1:
            rows.append({"stage": stage, "reached": reached, "moved_on": None, "lost": 0,
                         "open": 0, "conversion": None, "median_hours_to_next": None,
                         "p90_hours_to_next": None})
            continue
        moved_on, open_ = REACHED[i + 1], OPEN[i]
        lost = reached - moved_on - open_
        rows.append({"stage": stage, "reached": reached, "moved_on": moved_on, "lost": lost,
                     "open": open_, "conversion": moved_on / (reached - open_),
                     "median_hours_to_next": HOURS[i][0], "p90_hours_to_next": HOURS[i][1]})
    return rows


def bpic2012() -> dict[str, Any]:
    """A fresh ``lastmile.report/1`` dict shaped like the report on BPI Challenge 2012."""
    funnel = _funnel()
    failed_total = sum(row["lost"] for row in funnel)
    open_total = sum(OPEN)
    lm = funnel[4]
    stranded_events, stranded_days, value_lost = 36_100, 25_935.4, 15_580_250.0
    total_days = 112_548.0
    return copy.deepcopy({
        "schema": "lastmile.report/1",
        "title": "BPI Challenge 2012: where loan applications are lost",
        "source": "BPI_Challenge_2012.xes.gz",
        "generated_at": "2026-11-25T14:30:00Z",
        "journey": {
            "name": "BPIC 2012 loan applications",
            "stages": [{"name": s, "activities": [s]} for s in STAGES],
            "finish": "A_APPROVED",
            "last_mile": "O_SENT_BACK",
            "failure": ["A_DECLINED", "A_CANCELLED"],
            "timeout": "30d",
            "value": "AMOUNT_REQ",
            "cost": {"per_event": 1.0},
        },
        "as_of": None,
        "log_end": "2012-03-14T15:04:00",
        "cases": REACHED[0],
        "events": EVENTS,
        "status": {"finished": REACHED[-1], "reversed": 0, "failed": failed_total,
                   "open": open_total},
        "funnel": funnel,
        "last_mile": {"stage": "O_SENT_BACK", "entered": lm["reached"],
                      "finished": REACHED[-1], "failed": lm["lost"], "reversed": 0,
                      "open": lm["open"], "conversion": lm["conversion"],
                      "share_of_failures": lm["lost"] / failed_total},
        "stranded": {"events": stranded_events, "case_days": stranded_days,
                     "cost": float(stranded_events),
                     "share_of_events": stranded_events / EVENTS,
                     "share_of_case_days": stranded_days / total_days,
                     "share_of_cost": stranded_events / EVENTS, "value_lost": value_lost},
        "trend": [{"month": m, "entered": e, "finished": f, "failed": x, "reversed": 0,
                   "open": o, "conversion": f / (e - o)} for m, e, f, x, o in MONTHS],
        "quarantine": {"read": EVENTS + 4, "loaded": EVENTS, "quarantined": 4,
                       "reasons": {"timestamp could not be parsed": 3, "empty case id": 1}},
        "timing": _timing(),
        "why": _why(),
        "risk": _risk(),
    })


@functools.lru_cache(maxsize=1)
def _why_cached() -> str:
    import json

    import lastmile
    from lastmile.demo import generate
    from lastmile.journey import Journey
    from lastmile.reporting import why_section

    sc = generate("telecom", cases=3000, seed=3)
    section = why_section(lastmile.read_log(sc.events), Journey.from_yaml(sc.journey))
    assert "error" not in section and section["drivers"]
    return json.dumps(section)


def _why() -> dict[str, Any]:
    """A real ``why`` section, computed by lastmile.why on a simulated telecom log."""
    import json

    return json.loads(_why_cached())


def _timing() -> dict[str, Any]:
    """A real ``timing`` section, computed by lastmile.timing on a small last-mile log."""
    import numpy as np
    import pandas as pd

    import lastmile
    from lastmile.journey import Journey
    from lastmile.reporting import timing_section

    rng = np.random.default_rng(7)
    rows = []
    start = pd.Timestamp("2012-01-02 09:00")
    for i in range(300):
        t0 = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 60)))
        rows.append((f"c{i}", "O_SENT_BACK", t0))
        wait = pd.Timedelta(hours=float(rng.exponential(120)))
        outcome = rng.random()
        if outcome < 0.7:
            rows.append((f"c{i}", "A_APPROVED", t0 + wait))
        elif outcome < 0.95:
            rows.append((f"c{i}", "A_DECLINED", t0 + wait))
    df = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp"])
    journey = Journey.from_flags("O_SENT_BACK,A_APPROVED", fail="A_DECLINED", timeout="30d")
    section = timing_section(lastmile.read_log(df), journey)
    assert section is not None and "error" not in section
    return section


def _risk() -> dict[str, Any]:
    """`lastmile evaluate --json` on BPIC 2012 (the README's flags), rounded."""
    return {"schema": "lastmile.queue-evaluation/1", "trained_as_of": "2012-02-03T16:17:11",
            "test_from": "2012-02-03T16:17:11", "test_to": "2012-03-14T15:04:54",
            "test_cases": 361, "in_sample": False, "auc": 0.6288, "auc_at_entry": 0.5617,
            "weighted_auc_by_prefix": 0.6055, "brier": 0.2234, "n": 7322, "positives": 2596,
            "by_stages_to_finish": [{"stages_to_finish": 1, "n": 7322, "positives": 2596,
                                     "auc": 0.6288}],
            "calibration": [
                {"bin": 1, "lower": 0.1, "upper": 0.2, "n": 0, "predicted": 0.15,
                 "observed": 0.0},  # an empty bin: not drawn
                {"bin": 2, "lower": 0.2, "upper": 0.3, "n": 6510, "predicted": 0.2597,
                 "observed": 0.3284},
                {"bin": 5, "lower": 0.5, "upper": 0.6, "n": 812, "predicted": 0.5146,
                 "observed": 0.564}]}


HOSTILE = '<script>alert("x")</script>'
HOSTILE_2 = "</style><img src=x onerror=alert(1)>&amp;"


def hostile() -> dict[str, Any]:
    """The BPIC dict with markup in every piece of text that comes from the user's log."""
    data = bpic2012()
    names = {"O_SENT_BACK": HOSTILE, "A_ACCEPTED": HOSTILE_2}
    for row in data["funnel"]:
        row["stage"] = names.get(row["stage"], row["stage"])
    for stage in data["journey"]["stages"]:
        stage["activities"] = [names.get(a, a) for a in stage["activities"]]
        stage["name"] = names.get(stage["name"], stage["name"])
    data["journey"]["last_mile"] = HOSTILE
    data["journey"]["name"] = HOSTILE_2
    data["journey"]["value"] = HOSTILE
    data["last_mile"]["stage"] = HOSTILE
    data["timing"]["journey"] = {"last_mile": HOSTILE, "finish": HOSTILE_2}
    data["why"]["drivers"][0]["feature"] = HOSTILE
    data["why"]["drivers"][0]["value"] = HOSTILE_2
    data["title"] = HOSTILE
    data["source"] = HOSTILE_2
    data["trend"][0]["month"] = HOSTILE
    data["quarantine"]["reasons"] = {HOSTILE: 3, HOSTILE_2: 1}
    return data


def expected_bars(data: dict[str, Any]) -> dict[str, int]:
    """How many data bars (not tracks) each chart should draw for ``data``."""
    funnel = data["funnel"]
    n_funnel = 0
    for i, row in enumerate(funnel):
        if i == len(funnel) - 1:
            n_funnel += 1  # the finish: one "finished" bar
        else:
            n_funnel += sum(1 for k in ("moved_on", "lost", "open") if (row.get(k) or 0) > 0)
    statuses = ("finished", "reversed", "failed", "open")
    return {
        "funnel": n_funnel,
        "last_mile": sum(1 for k in statuses if (data["last_mile"].get(k) or 0) > 0),
        "stranded": sum(1 for k in ("share_of_events", "share_of_case_days", "share_of_cost")
                        if data["stranded"].get(k) is not None),
        "trend": sum(1 for row in data["trend"] if row.get("entered") is not None),
        "status": sum(1 for k in statuses if (data["status"].get(k) or 0) > 0),
        # the timing chart draws curves (paths), not bars
        **({"timing": 0} if data.get("timing") else {}),
        **({"why": 0} if data.get("why") else {}),
        **({"risk": 0} if data.get("risk") else {}),  # points, not bars
    }


def expected_points(data: dict[str, Any]) -> dict[str, int]:
    """How many points each chart should draw for ``data``."""
    points = {"trend": sum(1 for row in data["trend"] if row.get("conversion") is not None)}
    if data.get("why"):  # one point per driver shown (at most 12)
        points["why"] = min(12, sum(1 for d in data["why"]["drivers"]
                                    if d.get("failure_rate") is not None))
    if data.get("risk"):  # one point per calibration bin that has prediction points
        points["risk"] = sum(1 for r in data["risk"]["calibration"] if r["n"] > 0)
    return points


def telecom() -> dict[str, Any]:
    """A second shape: premises to activate, reversals, 26 months with a gap, no cost or value."""
    names = [("ordered", "Order placed"), ("surveyed", "Site survey done"),
             ("permitted", "Permit granted by the municipality"),
             ("drop laid", "Drop cable laid"), ("activated", "Service activated")]
    reached, opened = [4200, 3800, 3500, 3300, 2550], [50, 40, 30, 30]
    hours = [(70, 300), (200, 900), (100, 400), (30, 500)]
    funnel: list[dict[str, Any]] = []
    for i, (stage, _activity) in enumerate(names[:-1]):
        moved_on = reached[i + 1]
        funnel.append({"stage": stage, "reached": reached[i], "moved_on": moved_on,
                       "lost": reached[i] - moved_on - opened[i], "open": opened[i],
                       "conversion": moved_on / (reached[i] - opened[i]),
                       "median_hours_to_next": hours[i][0], "p90_hours_to_next": hours[i][1]})
    funnel.append({"stage": "activated", "reached": reached[-1]})
    failed = sum(row["lost"] for row in funnel[:-1])
    trend = []
    for i in range(26):
        entered = 100 + (i * 37) % 60
        open_ = 40 if i > 23 else 0
        finished, reversed_ = round(0.7 * (entered - open_)), 6 if i % 4 == 0 else 0
        trend.append({"month": f"{2023 + i // 12}-{i % 12 + 1:02d}", "entered": entered,
                      "finished": finished, "open": open_, "reversed": reversed_,
                      "failed": entered - open_ - finished - reversed_,
                      "conversion": None if i == 7 else 0.62 + ((i * 13) % 17) / 100})
    return {
        "schema": "lastmile.report/1", "source": "telecom.csv",
        "generated_at": "2026-11-25T15:00:00Z", "as_of": "2025-03-01T00:00:00",
        "cases": 4200, "events": 51_000,
        "journey": {"name": "telecom installation", "noun": "premises",
                    "stages": [{"name": n, "activities": [a]} for n, a in names],
                    "finish": "activated", "last_mile": "drop laid",
                    "failure": ["Order cancelled"],
                    "reversal": {"activities": ["Contract revoked"], "window": "90d"},
                    "timeout": "30d"},
        "status": {"finished": 2400, "reversed": 150, "failed": failed,
                   "open": sum(opened)},
        "funnel": funnel,
        "last_mile": {"stage": "drop laid", "entered": 3300, "finished": 2400, "failed": 720,
                      "reversed": 150, "open": 30, "conversion": 2400 / 3270,
                      "share_of_failures": 870 / (failed + 150)},
        "stranded": {"events": 22_000, "case_days": 41_000.0, "cost": None,
                     "share_of_events": 22_000 / 51_000, "share_of_case_days": 0.38,
                     "share_of_cost": None, "value_lost": None},
        "trend": trend,
        "quarantine": {"read": 51_000, "loaded": 51_000, "quarantined": 0, "reasons": {}},
    }
