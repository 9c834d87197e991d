"""Marathon: runners who pass 40 km and still do not reach the finish.

Six editions of a city marathon; each runner crosses timing mats at the start, 10K, the half,
30K and 40K, then the finish. The last mile begins at the 40K mat. Planted causes: a first half
run faster than the runner's own target pace (timing: the ``Half marathon`` split is more than
3 % ahead of half the target time) and a longest training run under 25 km (attribute). The
last edition is still running when the log ends, so its runners are open cases.

>>> from lastmile.demo import generate
>>> s = generate("marathon", cases=300, seed=1)
>>> bool(s.events.groupby("case_id")["activity"].first().eq("Start").all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.demo.engine import (
    MINUTE,
    EventBuilder,
    cause,
    journey_yaml,
    lm_failure_probability,
    make_ids,
    pick,
    to_ns,
    truth_header,
    with_missing,
)

NAME = "marathon"
TITLE = "City marathon"
STORY = "Runners pass 40 km and still do not reach the finish line."
STAGES = ("start", "10K", "half", "30K", "40K", "finish")
CAUSES = ("first half faster than target pace (timing)", "longest training run < 25 km "
          "(attribute)")
BASELINE = 0.04
EFFECTS = {"fast_start": 2.5, "short_training": 2.0}
MATS = (("10K", 10.0), ("Half marathon", 21.0975), ("30K", 30.0), ("40K", 40.0),
        ("Finish", 42.195))
RACE_DAYS = ("2019-04-07", "2020-10-04", "2021-10-03", "2022-04-03", "2023-04-02", "2024-04-07")

JOURNEY = {
    "name": "city marathon",
    "stages": [
        {"name": "start", "activities": ["Start"]},
        {"name": "10K", "activities": ["10K"]},
        {"name": "half", "activities": ["Half marathon"]},
        {"name": "30K", "activities": ["30K"]},
        {"name": "40K", "activities": ["40K"]},
        {"name": "finish", "activities": ["Finish"]},
    ],
    "finish": "finish",
    "last_mile": "40K",
    "failure": ["DNF"],
    "timeout": "3h",
    "value": "charity_pledge",
}


def simulate(rng: np.random.Generator, n: int, null: bool) -> tuple[pd.DataFrame, str, dict]:
    """Simulate ``n`` runner-races; returns (events, journey YAML, truth)."""
    ids = make_ids("R", n)
    b = EventBuilder(ids)
    c = np.arange(n)
    edition = rng.choice(len(RACE_DAYS), size=n, p=[0.14, 0.12, 0.14, 0.18, 0.2, 0.22])
    race_start = np.array([to_ns(d + "T07:00:00") for d in RACE_DAYS])[edition]
    log_end = to_ns(RACE_DAYS[-1] + "T10:45:00")  # the export ran during the last race

    target = np.clip(np.exp(rng.normal(np.log(250), 0.15, n)), 150, 390).round()  # minutes
    wave = np.clip((target - 150) // 45, 0, 4).astype(int)
    gender = pick(rng, ["F", "M", "X"], n, [0.42, 0.57, 0.01])
    age_group = pick(rng, ["18-29", "30-39", "40-49", "50-59", "60+"], n, [2, 3, 3, 2, 1])
    longest = np.round(rng.uniform(14, 36, n), 1)
    short_training = longest < 25
    fast_start = rng.random(n) < 0.3
    pledge = np.where(rng.random(n) < 0.3, np.round(rng.lognormal(np.log(400), 0.8, n), -1), 0.0)
    shoe = with_missing(rng, pick(rng, ["Asics", "Nike", "Hoka", "Adidas", "Brooks", "other"], n),
                        0.15)
    club = rng.random(n) < 0.35
    bib = (edition * 100000 + rng.permutation(n) % 100000).astype(np.int64)

    t0 = race_start + wave * 15 * MINUTE + (rng.random(n) * 8 * MINUTE).astype(np.int64)
    b.add("Start", c, t0, None, start_wave=wave.astype(np.int64))
    pace = target / 42.195  # min/km
    r1 = np.where(fast_start, rng.uniform(0.86, 0.93, n), rng.uniform(1.0, 1.08, n))
    r2 = np.where(fast_start, rng.uniform(1.04, 1.2, n), rng.uniform(0.97, 1.08, n))
    alive = np.ones(n, dtype=bool)
    prev_km, prev_t = 0.0, t0
    medics = b.resource_codes([f"Medical tent {k}" for k in range(1, 9)])
    dnf_p = {"10K": 0.01, "Half marathon": 0.012, "30K": 0.02, "40K": 0.03}
    t_40 = t0
    for mat, km in MATS:
        seg = km - prev_km
        ratio = r1 if km <= 21.1 else r2
        dt = seg * pace * ratio * rng.uniform(0.985, 1.015, n)
        t = prev_t + (dt * MINUTE).astype(np.int64)
        if mat == "Finish":
            f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
            p = lm_failure_probability(BASELINE, [(fast_start, f["fast_start"]),
                                                  (short_training, f["short_training"])])
            fail = alive & (rng.random(n) < p)
        else:
            hazard = dnf_p[mat] * np.where(fast_start & (km >= 30), 2.0, 1.0)
            fail = alive & (rng.random(n) < hazard)
        explicit = fail & (rng.random(n) < 0.7)
        t_dnf = prev_t + (dt * rng.uniform(0.2, 0.9, n) * MINUTE).astype(np.int64)
        b.add("DNF", c[explicit], t_dnf[explicit], medics[rng.integers(0, 8, explicit.sum())])
        alive &= ~fail
        pace_now = np.round(dt / seg, 2)
        b.add(mat, c[alive], t[alive], "Finish line" if mat == "Finish" else None,
              split_pace_min_per_km=pace_now[alive])
        if mat == "40K":
            entered, t_40 = alive.copy(), t
        prev_km, prev_t = km, t

    attrs = {"edition": (np.asarray(RACE_DAYS, dtype=object)[edition]),
             "target_finish_min": target, "longest_training_run_km": longest,
             "charity_pledge": pledge, "gender": gender, "age_group": age_group,
             "shoe_brand": shoe, "club_member": club, "bib": bib}
    events = b.frame(attrs, log_end)
    complete_before = to_ns(RACE_DAYS[-1] + "T00:00:00")
    pop = entered & (t_40 <= complete_before)
    f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
    truth = truth_header(NAME, 0, null, n, int(t0.min()), log_end, complete_before, BASELINE,
                         ["gender", "age_group", "shoe_brand", "club_member", "bib"])
    truth["causes"] = [
        cause("Fast first half", "timing", "first_half_vs_target_pace", "<0.97",
              {"type": "gap_ratio", "from": "Start", "to": "Half marathon", "unit": "minutes",
               "column": "target_finish_min", "multiplier": 0.5, "op": "<", "value": 0.97},
              f["fast_start"], fast_start, pop, ids,
              "the half was run more than 3 % faster than half the runner's target time"),
        cause("Short longest training run", "attribute", "longest_training_run_km", "<25",
              {"type": "attribute", "column": "longest_training_run_km", "op": "<",
               "value": 25}, f["short_training"], short_training, pop, ids,
              "the longest training run was under 25 km"),
    ]
    return events, journey_yaml(JOURNEY), truth
