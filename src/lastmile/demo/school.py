"""School: students eligible for honours who skip or fail the final exam.

Case = one student in one school year (four years; the log is exported in March of the last
one, so its students are open cases). Stages: enrolled, coursework (four assignments, some
resubmitted, some missed and made up), eligible for honours (the last mile begins), final exam,
honour roll (the finish). Students who are not eligible get ``Not eligible for honours`` (an
explicit failure before the last mile). Planted causes: the class teacher ``Mr. Keller``
(resource), a missed coursework deadline (path) and a part-time job (attribute).

>>> from lastmile.demo import generate
>>> s = generate("school", cases=300, seed=3)
>>> s.journey_dict["last_mile"]
'eligible for honours'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.demo.engine import (
    Calendar,
    EventBuilder,
    Pool,
    cause,
    days,
    journey_yaml,
    lm_failure_probability,
    make_ids,
    pick,
    to_ns,
    truth_header,
    with_missing,
)

NAME = "school"
TITLE = "Honours programme"
STORY = "Students eligible for honours skip or fail the final exam."
STAGES = ("enrolled", "coursework", "eligible for honours", "final exam", "honour roll")
CAUSES = ("teacher Mr. Keller (resource)", "missed coursework (path)",
          "part-time job (attribute)")
BASELINE = 0.10
EFFECTS = {"teacher": 2.0, "missed": 1.8, "job": 1.5}
YEARS = (2021, 2022, 2023, 2024)
TEACHERS = ("Ms. Alvarez", "Mr. Brandt", "Ms. Chen", "Mr. Keller", "Ms. Dubois", "Mr. Evans",
            "Ms. Fischer", "Mr. Gupta")
DEADLINES = ((10, 20), (12, 10), (2, 15), (4, 10))  # (month, day) of coursework 1-4

JOURNEY = {
    "name": "honours programme",
    "stages": [
        {"name": "enrolled", "activities": ["Enrolled"]},
        {"name": "coursework", "activities": ["Coursework submitted"]},
        {"name": "eligible for honours", "activities": ["Eligible for honours"]},
        {"name": "final exam", "activities": ["Final exam taken"]},
        {"name": "honour roll", "activities": ["Honour roll"]},
    ],
    "finish": "honour roll",
    "last_mile": "eligible for honours",
    "failure": ["Not eligible for honours", "Final exam failed", "Withdrawn"],
    "timeout": "75d",
    "value": "scholarship_value",
}


def _date(year: np.ndarray, month: int, day: int) -> np.ndarray:
    base = np.array([to_ns(f"{y}-{month:02d}-{day:02d}T08:00:00") for y in range(2020, 2027)])
    return base[year - 2020]


def simulate(rng: np.random.Generator, n: int, null: bool) -> tuple[pd.DataFrame, str, dict]:
    """Simulate ``n`` student-years; returns (events, journey YAML, truth)."""
    ids = make_ids("S", n)
    b = EventBuilder(ids)
    c = np.arange(n)
    school = Calendar(8, 16)
    year = np.asarray(YEARS)[rng.choice(len(YEARS), size=n)]
    log_end = to_ns(f"{YEARS[-1] + 1}-03-14T12:00:00")

    teachers = Pool.make(TEACHERS, rng, 0.2, weight=[1, 1, 1, 1.4, 1, 1, 1, 1])
    teacher = teachers.assign(rng, n)
    t_code = b.resource_codes(TEACHERS)[teacher]
    keller = teacher == TEACHERS.index("Mr. Keller")
    job = rng.random(n) < 0.3
    gpa = np.round(np.clip(rng.normal(3.0, 0.45, n), 1.0, 4.0), 2)
    club = pick(rng, ["none", "sports", "music", "debate", "robotics"], n, [4, 3, 2, 1, 1])
    bus = with_missing(rng, np.round(rng.gamma(2, 3, n), 1), 0.1)
    homeroom = pick(rng, [f"{g}{s}" for g in (10, 11, 12) for s in "ABC"], n)
    scholarship = np.where(rng.random(n) < 0.5, np.round(rng.uniform(500, 5000, n), -2), 0.0)

    t0 = school.shift(_date(year, 8, 28) + days(rng.uniform(0, 9, n)), rng)
    b.add("Enrolled", c, t0, "Registrar")
    missed = rng.random(n) < 0.2
    missed_which = rng.integers(0, 4, n)
    withdrawn = np.zeros(n, dtype=bool)
    for k, (month, day) in enumerate(DEADLINES):
        y = np.where(month >= 8, year, year + 1)
        due = _date(y, month, day)
        gone = ~withdrawn & (rng.random(n) < 0.015)
        b.add("Withdrawn", c[gone], (due - days(rng.uniform(1, 20, n)))[gone], "Registrar")
        withdrawn |= gone
        miss = ~withdrawn & missed & (missed_which == k)
        sub = ~withdrawn & ~miss
        t_sub = due - days(rng.uniform(0, 6, n)) + days(rng.uniform(0, 0.6, n))
        b.add("Coursework submitted", c[sub], t_sub[sub], None,
              assignment=np.full(sub.sum(), k + 1))
        b.add("Coursework missed", c[miss], due[miss], t_code[miss],
              assignment=np.full(miss.sum(), k + 1))
        t_make = school.shift(due + days(rng.uniform(7, 20, n)), rng)
        b.add("Make-up coursework submitted", c[miss], t_make[miss], None,
              assignment=np.full(miss.sum(), k + 1))
        graded = sub | miss
        t_gr = school.shift(np.where(miss, t_make, t_sub) + days(rng.uniform(2, 10, n)), rng)
        grade = np.clip(np.round(rng.normal(gpa * 25, 8)), 0, 100)
        b.add("Coursework graded", c[graded], t_gr[graded], t_code[graded],
              assignment=np.full(graded.sum(), k + 1), grade=grade[graded])
        redo = sub & (grade < 55) & (rng.random(n) < 0.6)  # resubmission loop
        t_re = school.shift(t_gr + days(rng.uniform(3, 10, n)), rng)
        b.add("Coursework resubmitted", c[redo], t_re[redo], None,
              assignment=np.full(redo.sum(), k + 1))

    # eligibility in May: depends on prior grades and (a little) on a missed deadline
    p_elig = np.clip((gpa - 2.0) / 2.0, 0.02, 0.98) * np.where(missed, 0.8, 1.0)
    eligible = ~withdrawn & (rng.random(n) < p_elig)
    t_el = school.shift(_date(year + 1, 5, 2) + days(rng.uniform(0, 6, n)), rng)
    b.add("Eligible for honours", c[eligible], t_el[eligible], t_code[eligible])
    ne = ~withdrawn & ~eligible
    b.add("Not eligible for honours", c[ne], t_el[ne], t_code[ne])

    f = {k: (1.0 if null else v) for k, v in EFFECTS.items()}
    p = lm_failure_probability(BASELINE, [(keller, f["teacher"]), (missed, f["missed"]),
                                          (job, f["job"])])
    fail = eligible & (rng.random(n) < p)
    skipped = fail & (rng.random(n) < 0.55)  # silent: never shows up
    failed_exam = fail & ~skipped
    t_ex = school.shift(_date(year + 1, 6, 10) + days(rng.uniform(0, 8, n)), rng)
    took = eligible & ~skipped
    b.add("Final exam taken", c[took], t_ex[took], "Exam board")
    b.add("Final exam failed", c[failed_exam], (t_ex + days(rng.uniform(5, 12, n)))[failed_exam],
          "Exam board")
    honour = eligible & ~fail
    t_hr = _date(year + 1, 7, 1) + days(rng.uniform(0, 2, n))
    b.add("Honour roll", c[honour], t_hr[honour], "Principal")

    attrs = {"school_year": np.char.add(year.astype(str), "/").astype(object)
             + (year + 1 - 2000).astype(str).astype(object),
             "part_time_job": job, "prior_gpa": gpa, "club": club, "bus_minutes": bus,
             "homeroom": homeroom, "scholarship_value": scholarship}
    events = b.frame(attrs, log_end)
    complete_before = to_ns(f"{YEARS[-1]}-08-01T00:00:00")
    pop = eligible & (t_el <= complete_before)
    truth = truth_header(NAME, 0, null, n, int(t0.min()), log_end, complete_before, BASELINE,
                         ["club", "bus_minutes", "homeroom"])
    truth["causes"] = [
        cause("Teacher Mr. Keller", "resource", "teacher", "Mr. Keller",
              {"type": "resource", "activity": "Eligible for honours", "op": "==",
               "value": "Mr. Keller"}, f["teacher"], keller, pop, ids,
              "a class teacher who does not prepare students for the final"),
        cause("Missed coursework", "path", "activity:Coursework missed", "present",
              {"type": "path", "activity": "Coursework missed", "op": "present"},
              f["missed"], missed, pop, ids,
              "a missed coursework deadline (made up later) predicts a skipped final"),
        cause("Part-time job", "attribute", "part_time_job", True,
              {"type": "attribute", "column": "part_time_job", "op": "==", "value": True},
              f["job"], job, pop, ids, "students with a part-time job miss the final more often"),
    ]
    return events, journey_yaml(JOURNEY), truth
