"""Campaign: voters who request a mail ballot and never send it back.

Case = one voter in one election (four elections; the log is exported five days before the
last one, so its voters are open cases). Stages: registered, contacted (door knock or phone
call), ballot requested, ballot returned (the finish). The last mile begins with the ballot
request. Planted causes: no contact in the final 72 hours before polls close (timing, among
voters still outstanding 72 hours before), the canvasser ``Canvasser 07`` at the door
(resource) and first-time voters (attribute).

The journey's timeout is 11 weeks (77 days), what ``lastmile infer`` proposes on this log
(76d, 11w, 78d for seeds 0, 1, 2): 95 % of the voters who return the ballot were never silent
for longer. A voter can register up to 100 days before polls close and may hear nothing
between the ballot request and the return; with the earlier 60 days, about one in six of the
voters who did return the ballot had first been silent for longer than that, so they were
counted as abandoned mid-way.

>>> from lastmile.demo import generate
>>> s = generate("campaign", cases=400, seed=1)
>>> {"Ballot requested", "Ballot returned", "GOTV call"} <= set(s.events["activity"])
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.demo.engine import (
    ALL_DAYS,
    DAY,
    HOUR,
    Calendar,
    EventBuilder,
    Pool,
    cause,
    days,
    hours,
    journey_yaml,
    lm_failure_probability,
    make_ids,
    pick,
    to_ns,
    truth_header,
    with_missing,
)

NAME = "campaign"
TITLE = "Get-out-the-vote campaign"
STORY = "Voters request a mail ballot and never return it."
STAGES = ("registered", "contacted", "ballot requested", "ballot returned")
CAUSES = ("no contact in the final 72 h (timing)", "Canvasser 07 at the door (resource)",
          "first-time voter (attribute)")
BASELINE = 0.12  # among voters still outstanding 72 h before polls close
EARLY_RETURN = 0.45
EFFECTS = {"no_contact": 2.0, "canvasser": 2.0, "first_time": 1.6}
ELECTIONS = (("2022 general", "2022-11-08"), ("2023 spring", "2023-04-04"),
             ("2023 general", "2023-11-07"), ("2024 primary", "2024-05-21"))

JOURNEY = {
    "name": "get out the vote",
    "stages": [
        {"name": "registered", "activities": ["Voter registered"]},
        {"name": "contacted", "activities": ["Door knock", "Phone call"]},
        {"name": "ballot requested", "activities": ["Ballot requested"]},
        {"name": "ballot returned", "activities": ["Ballot returned"]},
    ],
    "finish": "ballot returned",
    "last_mile": "ballot requested",
    "failure": ["Moved away"],
    "timeout": "11w",
    "value": "support_score",
}


def simulate(rng: np.random.Generator, n: int, null: bool) -> tuple[pd.DataFrame, str, dict]:
    """Simulate ``n`` voter-elections; returns (events, journey YAML, truth)."""
    ids = make_ids("V", n)
    b = EventBuilder(ids)
    c = np.arange(n)
    field_cal = Calendar(10, 20, ALL_DAYS)
    phones = Calendar(9, 21, ALL_DAYS)
    election = rng.choice(len(ELECTIONS), size=n, p=[0.3, 0.15, 0.3, 0.25])
    close = np.array([to_ns(d + "T20:00:00") for _, d in ELECTIONS])[election]
    log_end = to_ns(ELECTIONS[-1][1] + "T20:00:00") - 5 * DAY

    first_time = rng.random(n) < 0.25
    age = with_missing(rng, np.where(first_time, rng.integers(18, 30, n),
                                     rng.integers(18, 90, n)).astype(float), 0.1)
    precinct = pick(rng, [f"P-{k:03d}" for k in range(1, 41)], n)
    party = pick(rng, ["DEM", "REP", "IND", "none"], n, [0.38, 0.3, 0.2, 0.12])
    household = rng.integers(1, 6, n)
    language = pick(rng, ["en", "es", "zh", "vi", "other"], n, [0.7, 0.18, 0.05, 0.03, 0.04])
    support = np.round(rng.beta(4, 3, n), 3)

    t_reg = close - days(rng.uniform(20, 100, n))
    b.add("Voter registered", c, t_reg, "County registrar")

    # contacts: door knocks by canvassers, phone calls; some voters several times (rework)
    contacted = rng.random(n) < 0.75
    door = contacted & (rng.random(n) < 0.7)
    canvassers = Pool.make([f"Canvasser {k:02d}" for k in range(1, 16)], rng, 0.3,
                           weight=[1, 1, 1, 1, 1, 1, 4.5, 1, 1, 1, 1, 1, 1, 1, 1])
    who = canvassers.assign(rng, n)
    bad = door & (who == canvassers.names.index("Canvasser 07"))
    last_contact_by = close - 6 * DAY
    t_c1 = np.minimum(field_cal.shift(t_reg + days(rng.uniform(1, 8, n)), rng),
                      last_contact_by - 2 * DAY)
    b.add("Door knock", c[door], t_c1[door], b.resource_codes(canvassers.names)[who[door]],
          minutes_talked=np.round(rng.gamma(2, 2.5, door.sum()), 1))
    bank = b.resource_codes([f"Phone bank {k}" for k in "ABC"])
    call = contacted & ~door
    b.add("Phone call", c[call], t_c1[call], bank[rng.integers(0, 3, call.sum())])
    again = contacted & (rng.random(n) < 0.3)
    t_c2 = np.minimum(phones.shift(t_c1 + days(rng.uniform(2, 10, n)), rng), last_contact_by)
    b.add("Phone call", c[again], t_c2[again], bank[rng.integers(0, 3, again.sum())])
    texted = rng.random(n) < 0.5
    t_tx = np.minimum(t_reg + days(rng.uniform(0, 5, n)), last_contact_by)
    b.add("Text message", c[texted], t_tx[texted], "SMS platform")

    # ballot request: the last mile begins (no later than 7 days before polls close)
    req = rng.random(n) < np.where(contacted, 0.6, 0.25)
    t_req = np.minimum(np.maximum(t_c1, t_reg) + days(rng.uniform(0.5, 15, n)),
                       close - 7 * DAY - hours(rng.uniform(0, 48, n)))
    moved = rng.random(n) < 0.03
    t_mv = t_reg + days(rng.uniform(1, 10, n))
    b.add("Moved away", c[moved & ~req], t_mv[moved & ~req], "County registrar")
    b.add("Ballot requested", c[req], t_req[req], None,
          request_channel=pick(rng, ["online", "mail", "in person"], int(req.sum()), [6, 3, 1]))

    # early returns (before the final 72 h), then the outstanding ones
    early = req & (rng.random(n) < EARLY_RETURN)
    window0 = close - 72 * HOUR
    t_early = t_req + ((window0 - HOUR - t_req) * rng.uniform(0.05, 1, n)).astype(np.int64)
    b.add("Ballot returned", c[early], t_early[early], None)
    outstanding = req & ~early
    no_contact = rng.random(n) < 0.4
    gotv = outstanding & ~no_contact
    t_gotv = np.minimum(phones.shift(window0 + hours(rng.uniform(1, 50, n)), rng),
                        close - 4 * HOUR)
    b.add("GOTV call", c[gotv], t_gotv[gotv], bank[rng.integers(0, 3, gotv.sum())])
    f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
    p = lm_failure_probability(BASELINE, [(no_contact, f["no_contact"]),
                                          (bad, f["canvasser"]), (first_time, f["first_time"])])
    fail = outstanding & (rng.random(n) < p)
    late = outstanding & ~fail
    t_late = np.maximum(t_gotv, window0) + hours(rng.uniform(0.5, 3, n))
    t_late = np.minimum(t_late, close - HOUR)
    b.add("Ballot returned", c[late], t_late[late], None)
    mv2 = fail & (rng.random(n) < 0.15)
    b.add("Moved away", c[mv2], (t_req + days(rng.uniform(1, 5, n)))[mv2], "County registrar")

    attrs = {"election": np.asarray([e for e, _ in ELECTIONS], dtype=object)[election],
             "polls_close": pd.to_datetime(close, utc=True), "first_time_voter": first_time,
             "age": age, "precinct": precinct, "party": party, "household_size": household,
             "language": language, "support_score": support}
    events = b.frame(attrs, log_end)
    complete_before = to_ns(ELECTIONS[2][1] + "T20:00:00") + DAY
    pop = req & (t_req <= complete_before)
    outstanding_pop = pop & outstanding
    truth = truth_header(NAME, 0, null, n, int(t_reg.min()), log_end, complete_before,
                         BASELINE * (1 - EARLY_RETURN),
                         ["age", "precinct", "party", "household_size", "language"])
    truth["causes"] = [
        cause("No contact in the final 72 hours", "timing", "contact_in_final_72h", False,
              {"type": "no_event_before", "activities": ["Door knock", "Phone call",
                                                         "GOTV call", "Text message"],
               "column": "polls_close", "hours": 72}, f["no_contact"], no_contact,
              outstanding_pop, ids,
              "nobody from the campaign contacted the voter in the 72 hours before polls close",
              population_name="entered_last_mile_and_not_finished_72h_before_polls_close",
              population_rule={"type": "not_finished_before", "column": "polls_close",
                               "hours": 72}),
        cause("Canvasser 07", "resource", "canvasser", "Canvasser 07",
              {"type": "resource", "activity": "Door knock", "op": "==",
               "value": "Canvasser 07"}, f["canvasser"], bad, pop, ids,
              "a canvasser whose script leaves voters unsure how to return the ballot"),
        cause("First-time voter", "attribute", "first_time_voter", True,
              {"type": "attribute", "column": "first_time_voter", "op": "==", "value": True},
              f["first_time"], first_time, pop, ids,
              "first-time voters often do not know where to post the ballot"),
    ]
    return events, journey_yaml(JOURNEY), truth
