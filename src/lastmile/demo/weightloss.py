"""Weight programme: members who reach three quarters of their target and stall, or reach the
goal and regain the weight.

Stages: joined, 25 %, 50 %, 75 % of the target lost, goal reached (the finish), maintained.
The last mile begins at 75 %. ``Weight regained`` within 180 days of the goal is a reversal and
counts as a last-mile failure; a regain after the window does not. Weekly ``Weigh-in`` events
carry ``weight_kg``. Planted causes: the coach ``Coach Brenda`` (resource), the ``app only``
plan (attribute), and — among members who reached the goal — no weigh-in in the 8 weeks after
the goal (timing; it multiplies the chance of regaining).

>>> from lastmile.demo import generate
>>> s = generate("weightloss", cases=200, seed=4)
>>> s.truth["causes"][-1]["population"]
'finished'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.demo.engine import (
    ALL_DAYS,
    DAY,
    Calendar,
    EventBuilder,
    Pool,
    cause,
    days,
    hours,
    journey_yaml,
    make_ids,
    pick,
    to_ns,
    truth_header,
    with_missing,
)

NAME = "weightloss"
TITLE = "Weight-loss programme"
STORY = "Members reach the goal weight, then regain it within the maintenance window."
STAGES = ("joined", "25 %", "50 %", "75 %", "goal", "maintained")
CAUSES = ("Coach Brenda (resource)", "app-only plan (attribute)",
          "no weigh-in 8 weeks after the goal (timing, reached goal)")
A_STALL, B_REGAIN, P_SILENT = 0.06, 0.08, 0.35
EFFECTS = {"coach": 2.0, "app_only": 1.7, "no_weigh_in": 2.5}
COACHES = ("Coach Amir", "Coach Brenda", "Coach Chloe", "Coach Dario", "Coach Elif",
           "Coach Femi", "Coach Greta")

JOURNEY = {
    "name": "weight programme",
    "stages": [
        {"name": "joined", "activities": ["Joined"]},
        {"name": "25 %", "activities": ["25% of target lost"]},
        {"name": "50 %", "activities": ["50% of target lost"]},
        {"name": "75 %", "activities": ["75% of target lost"]},
        {"name": "goal", "activities": ["Goal reached"]},
        {"name": "maintained", "activities": ["Maintenance confirmed"]},
    ],
    "finish": "goal",
    "last_mile": "75 %",
    "failure": ["Membership cancelled"],
    "reversal": {"activities": ["Weight regained"], "window": "180d"},
    "timeout": "60d",
    "value": "lifetime_value",
}


def _series(rng: np.random.Generator, a: np.ndarray, end: np.ndarray, step_days: float,
            mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regular events every ``step_days`` (± a day) from ``a`` to ``end`` for masked cases:
    returns (case index, time) arrays, vectorised with ``np.repeat``."""
    idx = np.flatnonzero(mask & (end > a))
    k = ((end[idx] - a[idx]) // days(step_days)).astype(np.int64)
    idx, k = idx[k > 0], k[k > 0]
    first = np.repeat(np.cumsum(k) - k, k)
    pos = np.arange(int(k.sum()), dtype=np.int64) - first + 1
    case = np.repeat(idx, k)
    t = a[case] + pos * days(step_days) + hours(rng.uniform(-20, 20, case.size))
    return case, t


def simulate(rng: np.random.Generator, n: int, null: bool) -> tuple[pd.DataFrame, str, dict]:
    """Simulate ``n`` members; returns (events, journey YAML, truth)."""
    start, span = to_ns("2021-01-04T00:00:00"), 1092 * DAY
    log_end = start + span
    ids = make_ids("M", n)
    b = EventBuilder(ids)
    c = np.arange(n)
    coach_cal = Calendar(9, 18, (0, 1, 2, 3, 4, 5))
    morning = Calendar(6, 9, ALL_DAYS)

    plan = pick(rng, ["app only", "app + coach", "premium"], n, [0.35, 0.45, 0.2])
    app_only = plan == "app only"
    coaches = Pool.make(COACHES, rng, 0.2, weight=[1, 1.3, 1, 1, 1, 1, 1])
    coach = coaches.assign(rng, n)
    brenda = coach == COACHES.index("Coach Brenda")
    coach_code = b.resource_codes(COACHES)[coach]
    silent = rng.random(n) < P_SILENT  # stops weighing in after the goal
    start_w = np.round(rng.normal(98, 14, n).clip(65, 180), 1)
    target = np.round(np.clip(start_w * rng.uniform(0.08, 0.2, n), 5, 30), 1)
    rate = rng.uniform(0.45, 1.0, n)  # kg per week
    fee = pd.Series(plan).map({"app only": 15.0, "app + coach": 39.0, "premium": 79.0})
    ltv = np.round(fee.to_numpy() * rng.uniform(6, 30, n), 2)
    gender = pick(rng, ["F", "M"], n, [0.68, 0.32])
    age = with_missing(rng, np.clip(rng.normal(45, 12, n), 18, 80).round(), 0.1)
    city = pick(rng, ["Leeds", "Bristol", "Cardiff", "Glasgow", "London", "York"], n)
    referral = rng.random(n) < 0.25

    t0 = np.sort(start + (rng.random(n) * span).astype(np.int64))
    b.add("Joined", c, t0, coach_code)
    weeks_to_goal = target / rate * rng.uniform(0.9, 1.2, n)
    mile = [t0 + days(7 * weeks_to_goal * q * rng.uniform(0.95, 1.05, n)) for q in
            (0.25, 0.5, 0.75, 1.0)]
    alive = np.ones(n, dtype=bool)
    stop = mile[3].copy()  # when weigh-ins stop for members who leave before the goal
    explicit = rng.random(n) < 0.4
    names = ("25% of target lost", "50% of target lost", "75% of target lost")
    for k, (name, pdrop) in enumerate(zip(names, (0.15, 0.12, 0.10), strict=True)):
        prev = t0 if k == 0 else mile[k - 1]
        d = alive & (rng.random(n) < pdrop)
        td = prev + ((mile[k] - prev) * rng.uniform(0.2, 0.9, n)).astype(np.int64)
        b.add("Membership cancelled", c[d & explicit], (td + DAY)[d & explicit], "Member services")
        stop = np.where(d, td, stop)
        alive &= ~d
        b.add(name, c[alive], mile[k][alive], None)
    entered = alive.copy()

    f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
    g = f["no_weigh_in"]
    big_f = np.where(brenda, f["coach"], 1.0) * np.where(app_only, f["app_only"], 1.0)
    q = A_STALL * big_f
    r0 = B_REGAIN * big_f / ((1 - q) * (1 - P_SILENT + P_SILENT * g))
    r = np.where(silent, g * r0, r0)
    stall = entered & (rng.random(n) < q)
    ts = mile[2] + ((mile[3] - mile[2]) * rng.uniform(0.2, 0.9, n)).astype(np.int64)
    b.add("Membership cancelled", c[stall & explicit], (ts + DAY)[stall & explicit],
          "Member services")
    stop = np.where(stall, ts, stop)
    goal = entered & ~stall
    t_goal = mile[3]
    b.add("Goal reached", c[goal], t_goal[goal], coach_code[goal])
    regain = goal & (rng.random(n) < r)
    t_regain = coach_cal.shift(t_goal + days(rng.uniform(20, 170, n)), rng)
    b.add("Weight regained", c[regain], t_regain[regain], coach_code[regain])
    held = goal & ~regain
    t_keep = coach_cal.shift(t_goal + days(rng.uniform(181, 186, n)), rng)
    b.add("Maintenance confirmed", c[held], t_keep[held], coach_code[held])
    late = held & (rng.random(n) < 0.05)
    t_late = coach_cal.shift(t_goal + days(rng.uniform(220, 320, n)), rng)
    b.add("Weight regained", c[late], t_late[late], coach_code[late])

    # weigh-ins: weekly until the goal (or leaving), then in maintenance
    wc, wt = _series(rng, t0, stop - 2 * DAY, 7, np.ones(n, dtype=bool))
    post_end = np.where(regain, t_regain + DAY, t_keep)
    ac, at = _series(rng, t_goal + 2 * DAY, post_end, 7, goal & ~silent)
    bc, bt = _series(rng, t_goal + 57 * DAY, post_end, 14, goal & silent & (rng.random(n) < 0.6))
    case = np.concatenate([wc, ac, bc])
    t = morning.shift(np.concatenate([wt, at, bt]), rng, jitter_hours=2.5)
    lost = np.minimum(rate[case] * (t - t0[case]) / (7 * DAY), target[case])
    regained = np.where(np.isin(case, np.flatnonzero(regain)) & (t > t_goal[case]),
                        0.4 * target[case] * np.clip((t - t_goal[case]) / (120 * DAY), 0, 1), 0)
    weight = np.round(start_w[case] - lost + regained + rng.normal(0, 0.6, case.size), 1)
    b.add("Weigh-in", case, t, None, weight_kg=weight)
    cc, ct = _series(rng, t0, np.maximum(stop, post_end), 28, np.ones(n, dtype=bool))
    ct = coach_cal.shift(ct, rng)
    b.add("Coach check-in", cc, ct, coach_code[cc])

    attrs = {"plan": plan, "target_kg": target, "start_weight_kg": start_w,
             "lifetime_value": ltv, "gender": gender, "age": age, "city": city,
             "referral": referral}
    events = b.frame(attrs, log_end)
    complete_before = log_end - 390 * DAY
    pop = entered & (mile[2] <= complete_before)
    truth = truth_header(NAME, 0, null, n, start, log_end, complete_before,
                         A_STALL + B_REGAIN, ["gender", "age", "city", "referral",
                                              "start_weight_kg"])
    truth["causes"] = [
        cause("Coach Brenda", "resource", "coach", "Coach Brenda",
              {"type": "resource", "activity": "Joined", "op": "==", "value": "Coach Brenda"},
              f["coach"], brenda, pop, ids, "a coach whose members stall and regain"),
        cause("App-only plan", "attribute", "plan", "app only",
              {"type": "attribute", "column": "plan", "op": "==", "value": "app only"},
              f["app_only"], app_only, pop, ids, "members without a human coach in the loop"),
        cause("No weigh-in after the goal", "timing", "weigh_ins_8w_after_goal", 0,
              {"type": "count_after", "activity": "Weigh-in", "after": "Goal reached",
               "days": 56, "op": "==", "value": 0}, g, silent, pop & goal, ids,
              "members who stop weighing in once the goal is reached regain more often",
              population_name="finished", population_rule={"type": "finished"}),
    ]
    return events, journey_yaml(JOURNEY), truth
