"""Car sales: leads who agree on a deal and never sign, or sign and change their mind.

Stages: inquiry, test drive, negotiation (offers, revised offers), agreed, signed (the finish),
delivered. The last mile begins when the deal is agreed. A signed contract cancelled within the
14-day cooling-off window is a reversal (the customer changed their mind) and counts as a
last-mile failure; a cancellation later than that does not undo the finish. Planted causes:
more than 4 days between ``Deal agreed`` and ``Paperwork sent`` (timing), the salesperson
``Mark T.`` (resource) and financing through an external bank (attribute).

>>> from lastmile.demo import generate
>>> s = generate("carsales", cases=300, seed=2)
>>> s.journey_dict["reversal"]
{'activities': ['Contract cancelled'], 'window': '14d'}
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
    journey_yaml,
    lm_failure_probability,
    lognormal_days,
    make_ids,
    pick,
    to_ns,
    truth_header,
    with_missing,
)

NAME = "carsales"
TITLE = "Car dealership leads"
STORY = "The deal is agreed, but the contract is never signed — or signed and withdrawn."
STAGES = ("inquiry", "test drive", "negotiation", "agreed", "signed", "delivered")
CAUSES = ("agreed→paperwork > 4 days (timing)", "salesperson Mark T. (resource)",
          "external bank financing (attribute)")
BASELINE = 0.10
EFFECTS = {"slow_paperwork": 2.0, "salesperson": 2.2, "external_bank": 1.7}
SALES = ("Anna K.", "Ben O.", "Carla M.", "Dev P.", "Eva L.", "Farid S.", "Gina R.",
         "Hugo B.", "Ines W.", "Jonas F.", "Mark T.", "Nora V.")

JOURNEY = {
    "name": "car sales",
    "stages": [
        {"name": "inquiry", "activities": ["Inquiry"]},
        {"name": "test drive", "activities": ["Test drive"]},
        {"name": "negotiation", "activities": ["Offer made", "Offer revised"]},
        {"name": "agreed", "activities": ["Deal agreed"]},
        {"name": "signed", "activities": ["Contract signed"]},
        {"name": "delivered", "activities": ["Car delivered"]},
    ],
    "finish": "signed",
    "last_mile": "agreed",
    "failure": ["Lead lost"],
    "reversal": {"activities": ["Contract cancelled"], "window": "14d"},
    "timeout": "30d",
    "value": "car_price",
}


def simulate(rng: np.random.Generator, n: int, null: bool) -> tuple[pd.DataFrame, str, dict]:
    """Simulate ``n`` leads; returns (events, journey YAML, truth)."""
    start, span = to_ns("2023-01-02T00:00:00"), 730 * DAY
    log_end = start + span
    ids = make_ids("L", n)
    b = EventBuilder(ids)
    c = np.arange(n)
    shop = Calendar(9, 19, (0, 1, 2, 3, 4, 5))
    office = Calendar(8, 17)

    source = pick(rng, ["website", "walk-in", "phone", "referral", "marketplace"], n,
                  [0.4, 0.2, 0.15, 0.1, 0.15])
    model = pick(rng, ["City", "Compact", "Family", "SUV", "Electric", "Sport"], n,
                 [3, 3, 2.5, 2.5, 2, 0.7])
    base = pd.Series(model).map({"City": 17000, "Compact": 24000, "Family": 32000,
                                 "SUV": 45000, "Electric": 41000, "Sport": 68000}).to_numpy()
    price = np.round(base * np.exp(0.12 * rng.standard_normal(n)), -2)
    financing = pick(rng, ["cash", "dealer finance", "external bank", "lease"], n,
                     [0.25, 0.3, 0.3, 0.15])
    colour = pick(rng, ["black", "white", "grey", "blue", "red", "green"], n)
    age = with_missing(rng, np.clip(rng.normal(44, 13, n), 18, 85).round(), 0.12)
    trade_in = rng.random(n) < 0.45
    sales = Pool.make(SALES, rng, 0.3)
    rep = sales.assign(rng, n)
    rep_code = b.resource_codes(SALES)[rep]
    speed = sales.speed[rep]

    t0 = np.sort(start + (rng.random(n) * span).astype(np.int64))
    b.add("Inquiry", c, t0, np.where(source == "website", b.resource_codes(["Web form"])[0],
                                     rep_code))
    lost = np.zeros(n, dtype=bool)
    explicit = rng.random(n) < 0.35
    t_lost = np.zeros(n, dtype=np.int64)

    def drop(mask_p: np.ndarray, after: np.ndarray) -> None:
        nonlocal lost
        d = ~lost & (rng.random(n) < mask_p)
        tl = shop.shift(after + lognormal_days(rng, n, 12, 0.5), rng)
        e = d & explicit
        b.add("Lead lost", c[e], tl[e], rep_code[e])
        t_lost[d] = tl[d]
        lost |= d

    drive = rng.random(n) < 0.65
    t1 = shop.shift(t0 + lognormal_days(rng, n, 4, 0.6, speed), rng)
    drop(np.where(drive, 0.25, 0.45), t0)
    b.add("Test drive", c[~lost & drive], t1[~lost & drive], rep_code[~lost & drive])
    t1 = np.where(drive, t1, t0)
    t2 = shop.shift(t1 + lognormal_days(rng, n, 3, 0.6, speed), rng)
    b.add("Offer made", c[~lost], t2[~lost], rep_code[~lost],
          offer_eur=np.round(price[~lost] * rng.uniform(0.97, 1.02, (~lost).sum()), -1))
    # revised offers: a rework loop of 0-3 rounds
    rounds = np.minimum(rng.geometric(0.55, n) - 1, 3)
    t = t2
    for k in range(1, 4):
        m = ~lost & (rounds >= k)
        t = np.where(m, shop.shift(t + lognormal_days(rng, n, 2.5, 0.5, speed), rng), t)
        b.add("Offer revised", c[m], t[m], rep_code[m],
              offer_eur=np.round(price[m] * (1 - 0.015 * k) * rng.uniform(0.98, 1.0, m.sum()),
                                 -1))
    drop(np.full(n, 0.35), t)
    agreed = ~lost
    t3 = shop.shift(t + lognormal_days(rng, n, 2, 0.5, speed), rng)
    b.add("Deal agreed", c[agreed], t3[agreed], rep_code[agreed])

    # paperwork: sent within 30 hours, or after more than 5.5 days (the timing cause)
    slow = rng.random(n) < 0.25
    wait = np.where(slow, rng.uniform(5.5, 14, n), rng.uniform(2 / 24, 1.25, n))
    t4 = office.shift(t3 + days(wait), rng)
    b.add("Paperwork sent", c[agreed], t4[agreed], "Sales office")

    mark = rep == SALES.index("Mark T.")
    bank = financing == "external bank"
    f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
    p = lm_failure_probability(BASELINE, [(slow, f["slow_paperwork"]), (mark, f["salesperson"]),
                                          (bank, f["external_bank"])])
    fail = agreed & (rng.random(n) < p)
    changed_mind = fail & (rng.random(n) < 0.35)  # signed, then cancelled inside the window
    never = fail & ~changed_mind
    signed = agreed & ~never
    t5 = shop.shift(t4 + lognormal_days(rng, n, 2, 0.5, cap=10), rng)
    b.add("Contract signed", c[signed], t5[signed], rep_code[signed])
    t6 = office.shift(t5 + days(rng.uniform(1, 12, n)), rng)
    b.add("Contract cancelled", c[changed_mind], t6[changed_mind], "Sales office")
    e = never & explicit
    t7 = shop.shift(t4 + days(rng.uniform(5, 25, n)), rng)
    b.add("Lead lost", c[e], t7[e], rep_code[e])
    follow = never & ~explicit & (rng.random(n) < 0.6)
    t8 = shop.shift(t4 + days(rng.uniform(2, 10, n)), rng)
    b.add("Follow-up call", c[follow], t8[follow], rep_code[follow])
    held = signed & ~changed_mind
    late_cancel = held & (rng.random(n) < 0.02)  # after the window: the finish holds
    t9 = office.shift(t5 + days(rng.uniform(20, 60, n)), rng)
    b.add("Contract cancelled", c[late_cancel], t9[late_cancel], "Sales office")
    delivered = held & ~late_cancel
    t10 = shop.shift(t5 + days(rng.uniform(15, 45, n)), rng)
    b.add("Car delivered", c[delivered], t10[delivered], rep_code[delivered])

    attrs = {"lead_source": source, "model": model, "car_price": price, "financing": financing,
             "colour": colour, "customer_age": age, "trade_in": trade_in}
    events = b.frame(attrs, log_end)
    complete_before = log_end - 100 * DAY
    pop = agreed & (t3 <= complete_before)
    truth = truth_header(NAME, 0, null, n, start, log_end, complete_before, BASELINE,
                         ["lead_source", "model", "colour", "customer_age", "trade_in"])
    truth["causes"] = [
        cause("Slow paperwork", "timing", "wait_agreed_to_paperwork_days", ">4",
              {"type": "gap", "from": "Deal agreed", "to": "Paperwork sent", "unit": "days",
               "op": ">", "value": 4}, f["slow_paperwork"], slow, pop, ids,
              "more than 4 days between the agreed deal and the paperwork"),
        cause("Salesperson Mark T.", "resource", "salesperson", "Mark T.",
              {"type": "resource", "activity": "Deal agreed", "op": "==", "value": "Mark T."},
              f["salesperson"], mark, pop, ids,
              "a salesperson who agrees deals the customer is not yet sure about"),
        cause("External bank financing", "attribute", "financing", "external bank",
              {"type": "attribute", "column": "financing", "op": "==",
               "value": "external bank"}, f["external_bank"], bank, pop, ids,
              "the bank's loan approval arrives late or not at all"),
    ]
    return events, journey_yaml(JOURNEY), truth
