"""Telecom: fibre installation orders that get the drop cable but never the service.

Stages: order placed, site survey, permit granted, drop cable laid, equipment installed,
service activated (the finish). The last mile begins when the drop cable is laid: the house is
connected to the street, the expensive work is done, and still some customers are never
activated. Planted causes: the subcontractor crew ``SubCo B`` (resource), a wait of more than
14 days between drop laid and equipment installed (timing) and apartment buildings (attribute:
the landlord must agree to in-building wiring).

>>> from lastmile.demo import generate
>>> s = generate("telecom", cases=300, seed=1)
>>> s.events.groupby("case_id")["activity"].first().unique().tolist()
['Order placed']
>>> [c["feature"] for c in s.truth["causes"]]
['crew', 'wait_drop_to_install_days', 'building_type']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.demo.engine import (
    DAY,
    Calendar,
    EventBuilder,
    Pool,
    cause,
    days,
    hours,
    journey_yaml,
    lm_failure_probability,
    lognormal_days,
    make_ids,
    pick,
    to_ns,
    truth_header,
    with_missing,
)

NAME = "telecom"
TITLE = "Fibre installation orders"
STORY = "The drop cable is laid to the house, but the service is never activated."
STAGES = ("ordered", "surveyed", "permit granted", "drop laid", "equipment installed",
          "activated")
CAUSES = ("crew SubCo B (resource)", "wait drop→install > 14 days (timing)",
          "apartment building (attribute)")
BASELINE = 0.08
EFFECTS = {"crew": 2.5, "wait": 2.0, "apartment": 1.8}

JOURNEY = {
    "name": "telecom installation",
    "stages": [
        {"name": "ordered", "activities": ["Order placed"]},
        {"name": "surveyed", "activities": ["Site survey"]},
        {"name": "permit granted", "activities": ["Permit granted"]},
        {"name": "drop laid", "activities": ["Drop cable laid"]},
        {"name": "equipment installed", "activities": ["Equipment installed"]},
        {"name": "activated", "activities": ["Service activated"]},
    ],
    "finish": "activated",
    "last_mile": "drop laid",
    "failure": ["Order cancelled"],
    "timeout": "45d",
    "value": "contract_value",
    "cost": {"per_event": 35.0},
}


def simulate(rng: np.random.Generator, n: int, null: bool) -> tuple[pd.DataFrame, str, dict]:
    """Simulate ``n`` installation orders; returns (events, journey YAML, truth)."""
    start, span = to_ns("2023-01-02T00:00:00"), 730 * DAY
    log_end = start + span
    ids = make_ids("T", n)
    office = Calendar(8, 17)
    field_cal = Calendar(7, 16)
    b = EventBuilder(ids)

    # case attributes: two matter for the story, the rest is noise
    building = pick(rng, ["house", "apartment", "business"], n, [0.55, 0.35, 0.10])
    region = pick(rng, ["North", "South", "East", "West", "Central"], n, [3, 2, 2, 2, 1])
    plan = pick(rng, ["100M", "250M", "1G"], n, [0.45, 0.4, 0.15])
    price = np.select([plan == "100M", plan == "250M"], [30.0, 45.0], 70.0)
    contract_value = np.round(price * pick(rng, [12, 24, 36], n, [0.2, 0.6, 0.2]).astype(float)
                              * np.exp(0.1 * rng.standard_normal(n)), 2)
    channel = pick(rng, ["web", "shop", "phone"], n, [0.6, 0.25, 0.15])
    customer_age = with_missing(rng, np.clip(rng.normal(46, 14, n), 18, 95).round(), 0.08)
    distance = np.round(rng.gamma(2.0, 60.0, n), 1)
    opt_in = rng.random(n) < 0.4
    c = np.arange(n)

    # ordered: any time of day
    t0 = np.sort(start + (rng.random(n) * span).astype(np.int64))
    sales = Pool.make([f"Agent {k:02d}" for k in range(1, 13)], rng)
    res = b.resource_codes(sales.names)[sales.assign(rng, n)]
    res = np.where(channel == "web", b.resource_codes(["Web shop"])[0], res)
    b.add("Order placed", c, t0, res)

    # site survey, with a second visit for some (rework)
    surveyors = Pool.make([f"Surveyor {k}" for k in "ABCDEF"], rng, 0.3)
    who = surveyors.assign(rng, n)
    t1 = field_cal.shift(t0 + lognormal_days(rng, n, 6, 0.4, surveyors.speed[who]), rng)
    b.add("Site survey", c, t1, b.resource_codes(surveyors.names)[who])
    redo = rng.random(n) < 0.12
    t1b = field_cal.shift(t1 + lognormal_days(rng, n, 4, 0.4), rng)
    b.add("Site survey", c[redo], t1b[redo], b.resource_codes(surveyors.names)[who[redo]])
    t1 = np.where(redo, t1b, t1)
    drop1 = rng.random(n) < 0.05 + 0.03 * (distance > 200)
    tc = office.shift(t1 + lognormal_days(rng, n, 5, 0.5), rng)
    explicit = rng.random(n) < 0.6
    b.add("Order cancelled", c[drop1 & explicit], tc[drop1 & explicit], "Customer service")
    alive = ~drop1

    # permit: requested, sometimes rejected and requested again (rework loop)
    t2r = office.shift(t1 + lognormal_days(rng, n, 2, 0.4), rng)
    b.add("Permit requested", c[alive], t2r[alive], "Back office")
    rejected = alive & (rng.random(n) < 0.08)
    t2x = office.shift(t2r + lognormal_days(rng, n, 9, 0.4), rng)
    b.add("Permit rejected", c[rejected], t2x[rejected], "Municipality")
    t2rr = office.shift(t2x + lognormal_days(rng, n, 3, 0.4), rng)
    b.add("Permit requested", c[rejected], t2rr[rejected], "Back office")
    t2r = np.where(rejected, t2rr, t2r)
    t2 = office.shift(t2r + lognormal_days(rng, n, 12, 0.5, cap=60), rng)
    drop2 = alive & (rng.random(n) < 0.06)
    t2c = office.shift(t2r + lognormal_days(rng, n, 20, 0.4), rng)
    b.add("Order cancelled", c[drop2 & explicit], t2c[drop2 & explicit], "Customer service")
    alive &= ~drop2
    b.add("Permit granted", c[alive], t2[alive], "Municipality")

    # drop cable laid by a crew: the last mile begins here
    crews = Pool.make([*(f"Crew {k}" for k in "ABCDEF"), "SubCo A", "SubCo B"], rng, 0.25,
                      weight=[1, 1, 1, 1, 1, 1, 1.5, 1.6])
    crew = crews.assign(rng, n)
    subco_b = crew == crews.names.index("SubCo B")
    t3 = field_cal.shift(t2 + lognormal_days(rng, n, 6, 0.5, crews.speed[crew], cap=40), rng)
    b.add("Drop cable laid", c[alive], t3[alive], b.resource_codes(crews.names)[crew[alive]],
          cable_m=np.round(distance[alive] * rng.uniform(1.05, 1.3, alive.sum()), 1))
    entered = alive

    # equipment installed after a wait: > 14 days for a quarter (the timing cause)
    long_wait = rng.random(n) < 0.25
    wait = np.where(long_wait, rng.uniform(15, 45, n), rng.uniform(1, 10, n))
    techs = Pool.make([f"Technician {k:02d}" for k in range(1, 11)], rng, 0.2)
    tech = techs.assign(rng, n)
    t4 = field_cal.shift(t3 + days(wait), rng)
    b.add("Equipment installed", c[entered], t4[entered],
          b.resource_codes(techs.names)[tech[entered]])

    # the outcome of the last mile
    apartment = building == "apartment"
    f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
    p = lm_failure_probability(BASELINE, [(subco_b, f["crew"]), (long_wait, f["wait"]),
                                          (apartment, f["apartment"])])
    fail = entered & (rng.random(n) < p)
    win = entered & ~fail
    hiccup = rng.random(n) < np.where(fail, 0.4, 0.1)
    t5x = t4 + hours(rng.uniform(1, 6, n))
    b.add("Activation failed", c[(win | fail) & hiccup], t5x[(win | fail) & hiccup], "NOC")
    t5 = office.shift(np.where(hiccup, t5x + days(rng.uniform(1, 6, n)),
                               t4 + hours(rng.uniform(0.5, 30, n))), rng)
    b.add("Service activated", c[win], t5[win], "NOC")
    cancel_lm = fail & (rng.random(n) < 0.5)
    t6 = office.shift(t4 + days(rng.uniform(5, 40, n)), rng)
    b.add("Order cancelled", c[cancel_lm], t6[cancel_lm], "Customer service")
    reminder = fail & ~cancel_lm & (rng.random(n) < 0.5)
    t7 = office.shift(t4 + days(rng.uniform(3, 20, n)), rng)
    b.add("Customer contacted", c[reminder], t7[reminder], "Customer service")

    attrs = {"region": region, "building_type": building, "plan": plan,
             "contract_value": contract_value, "channel": channel,
             "customer_age": customer_age, "distance_to_cabinet_m": distance,
             "marketing_opt_in": opt_in}
    events = b.frame(attrs, log_end)
    complete_before = log_end - 150 * DAY
    pop = entered & (t3 <= complete_before)
    truth = truth_header(NAME, 0, null, n, start, log_end, complete_before, BASELINE,
                         ["region", "plan", "channel", "customer_age", "marketing_opt_in"])
    truth["causes"] = [
        cause("SubCo B crew", "resource", "crew", "SubCo B",
              {"type": "resource", "activity": "Drop cable laid", "op": "==",
               "value": "SubCo B"}, f["crew"], subco_b, pop, ids,
              "the subcontractor crew that laid the drop leaves it unready for activation"),
        cause("Slow installation after the drop", "timing", "wait_drop_to_install_days", ">14",
              {"type": "gap", "from": "Drop cable laid", "to": "Equipment installed",
               "unit": "days", "op": ">", "value": 14}, f["wait"], long_wait, pop, ids,
              "more than 14 days between drop cable laid and equipment installed"),
        cause("Apartment building", "attribute", "building_type", "apartment",
              {"type": "attribute", "column": "building_type", "op": "==",
               "value": "apartment"}, f["apartment"], apartment, pop, ids,
              "in-building wiring needs the landlord's consent"),
    ]
    return events, journey_yaml(JOURNEY), truth
