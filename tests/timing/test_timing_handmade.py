"""Timing on a small hand-made log, checked against estimates computed by hand.

The log (days after 2024-01-01; the last event of the log is on day 10, so the end of
observation T is day 10). Journey: ``sent`` → ``signed``, failure ``lost``. The last mile
begins at ``sent``; the clock stops at the case's outcome.

    case  events                 status    outcome   hours  note
    a     sent d0, signed d1     finished  finished    24
    b     sent d0, signed d2     finished  finished    48
    c     sent d1, signed d3     finished  finished    48   tied with b
    d     sent d7                open      censored    72   T - 7 days
    e     sent d0, lost d1       failed    failed      24   tied with a's finish
    f     sent d2, signed d6     finished  finished    96
    g     sent d5                open      censored   120   T - 5 days
    h     sent d0, signed d8     finished  finished   192
    i     sent d0, lost d6       failed    failed     144
    j     sent d1, lost d9       failed    failed     192   tied with h's finish
    z     other d10              -         -            -   never in the last mile; sets T

1. Kaplan–Meier of the time to the first outcome (finish or failure), S(t) = P(still live):

    t (h)  live   finish  fail  censored  S(t)
    24     10     1 (a)   1 (e) 0         8/10          = 0.8
    48      8     2 (b,c) 0     0         0.8 · 6/8     = 0.6
    72      6     0       0     1 (d)     0.6
    96      5     1 (f)   0     0         0.6 · 4/5     = 0.48
    120     4     0       0     1 (g)     0.48
    144     3     0       1 (i) 0         0.48 · 2/3    = 0.32
    192     2     1 (h)   1 (j) 0         0

2. Aalen–Johansen: F(t) = P(finished by t) grows by S(t-) · finishes / live at each time, and
   G(t) = P(failed by t) likewise with the failures:

    t      F                               G
    24     1 · 1/10      = 0.1             1 · 1/10     = 0.1
    48     + 0.8 · 2/8   = 0.3             0.1
    96     + 0.6 · 1/5   = 0.42            0.1
    144    0.42                            + 0.48 · 1/3 = 0.26
    192    + 0.32 · 1/2  = 0.58            + 0.32 · 1/2 = 0.42      (F + G + S = 1 throughout)

   F(∞) = 0.58. Median of the cases that finish: first F ≥ 0.29 → 48 h. Half of all: F ≥ 0.5
   → 192 h.

3. The chance that a case still live ever finishes, p(t) = (0.58 - F) / S:
   p(0) = 0.58, p(24) = 0.48/0.8 = 0.6, p(48) = p(72) = 0.28/0.6 = 0.467,
   p(96) = p(120) = 0.16/0.48 = 0.333, p(144) = 0.16/0.32 = 0.5 (the failure of i leaves
   better cases), p(192) undefined (nobody live). It never falls below half of 0.58 (0.29): no
   going-cold point at threshold 1/2. At threshold 0.6 (0.348) it goes cold at 96 h; at 0.85
   (0.493) at 48 h.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.timing import going_cold_point, last_mile_durations, timing

DAY0 = datetime(2024, 1, 1)
EVENTS = [
    ("a", "sent", 0), ("a", "signed", 1),
    ("b", "sent", 0), ("b", "signed", 2),
    ("c", "sent", 1), ("c", "signed", 3),
    ("d", "sent", 7),
    ("e", "sent", 0), ("e", "lost", 1),
    ("f", "sent", 2), ("f", "signed", 6),
    ("g", "sent", 5),
    ("h", "sent", 0), ("h", "signed", 8),
    ("i", "sent", 0), ("i", "lost", 6),
    ("j", "sent", 1), ("j", "lost", 9),
    ("z", "other", 10),
]
REGION = {"a": "N", "b": "S", "c": "N", "d": "S", "e": "N", "f": "S", "g": "N", "h": "S",
          "i": "N", "j": "N", "k": "N", "z": "N"}
JOURNEY = Journey.from_flags("sent,signed", fail="lost")

HAND_TIMES = [0, 24, 48, 72, 96, 120, 144, 192]
HAND_LIVE = [10, 10, 8, 6, 5, 4, 3, 2]
HAND_F = [0, 0.1, 0.3, 0.3, 0.42, 0.42, 0.42, 0.58]
HAND_G = [0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.26, 0.42]
HAND_P = [0.58, 0.6, 0.28 / 0.6, 0.28 / 0.6, 1 / 3, 1 / 3, 0.5, np.nan]


def frame(events=EVENTS) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case": [c for c, _, _ in events],
            "activity": [a for _, a, _ in events],
            "time": [DAY0 + timedelta(days=d) for _, _, d in events],
            "region": [REGION[c] for c, _, _ in events],
        }
    )


@pytest.fixture(scope="module")
def events():
    return read_log(frame()).table


@pytest.fixture(scope="module")
def result(events):
    return timing(events, JOURNEY, min_at_risk=1)


def test_durations_are_the_hand_ones(events):
    d = last_mile_durations(events, JOURNEY)
    got = {r.case_id: (r.status, r.outcome, r.hours) for r in d.itertuples()}
    assert got == {
        "a": ("finished", "finished", 24.0), "b": ("finished", "finished", 48.0),
        "c": ("finished", "finished", 48.0), "d": ("open", "censored", 72.0),
        "e": ("failed", "failed", 24.0), "f": ("finished", "finished", 96.0),
        "g": ("open", "censored", 120.0), "h": ("finished", "finished", 192.0),
        "i": ("failed", "failed", 144.0), "j": ("failed", "failed", 192.0),
    }
    # watched until T (day 10) whatever the outcome
    assert d.set_index("case_id")["watched_hours"].to_dict()["e"] == 240.0


def test_abandoned_cases_fail_when_the_timeout_has_passed():
    # with a 3-day timeout, g (sent d5, silent since) is abandoned at d8 = 72 h; d (sent d7)
    # has been silent 3 days at T: not yet more than the timeout, still open
    j = Journey.from_flags("sent,signed", fail="lost", timeout="3d")
    d = last_mile_durations(read_log(frame()).table, j).set_index("case_id")
    assert (d.loc["g", "outcome"], d.loc["g", "hours"]) == ("failed", 72.0)
    assert (d.loc["d", "outcome"], d.loc["d", "hours"]) == ("censored", 72.0)


def test_curve_is_the_hand_computed_aalen_johansen(result):
    c = result.curve_
    assert c["time"].tolist() == HAND_TIMES
    assert c["at_risk"].tolist() == HAND_LIVE
    np.testing.assert_allclose(c["finished"], HAND_F, atol=1e-12)
    np.testing.assert_allclose(c["failed"], HAND_G, atol=1e-12)
    np.testing.assert_allclose(c["chance"], HAND_P, atol=1e-12)
    assert result.ever_finish_ == pytest.approx(0.58)
    assert result.median_ == 48.0 and result.half_finished_ == 192.0


def test_time_to_first_outcome_is_the_hand_computed_kaplan_meier(result):
    c = result.curve_
    np.testing.assert_allclose(1 - c["finished"] - c["failed"],
                               [1, 0.8, 0.6, 0.6, 0.48, 0.48, 0.32, 0], atol=1e-12)


def test_without_failures_it_is_a_plain_kaplan_meier_by_hand(events):
    """A journey that knows no failure ('lost' is just an activity): e, i and j are open,
    censored at T (240, 240 and 216 h). Kaplan–Meier of the time to finish, by hand:

        t (h)  at risk                  finish  S
        24     10                       a       9/10              = 0.9
        48     9 (b-j)                  b, c    0.9 · 7/9         = 0.7
        96     6 (f, g, h, e, i, j)     f       0.7 · 5/6         = 0.58333
        192    4 (h, e, i, j)           h       0.58333 · 3/4     = 0.4375

    F(∞) = 1 - 0.4375 = 0.5625; p(t) = (0.5625 - F) / (1 - F): 0.514 at 24 h, 0.375 at 48 h,
    0.25 at 96 h < 0.28125 = half of p0: cold at 96 h.
    """
    t = timing(events, Journey.from_flags("sent,signed"), min_at_risk=1)
    s = 1 - t.curve_.set_index("time")["finished"]
    assert s[[24.0, 48.0, 96.0, 192.0]].tolist() == pytest.approx([0.9, 0.7, 0.7 * 5 / 6,
                                                                    0.4375])
    assert t.ever_finish_ == pytest.approx(0.5625) and t.going_cold_ == 96.0
    assert (t.curve_["failed"] == 0).all()
    d = t.durations_
    kmf = KaplanMeierFitter().fit(d["hours"], d["outcome"] == "finished")
    np.testing.assert_allclose(t.curve_["finished"],
                               1 - kmf.survival_function_.iloc[:, 0].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(t.curve_["at_risk"],
                               kmf.event_table["at_risk"].reindex(kmf.survival_function_.index)
                               .to_numpy())


def test_going_cold_points_by_hand(result):
    assert result.going_cold_ is None  # p(t) never below 0.29
    assert going_cold_point(result.curve_, 0.6) == 96.0
    assert going_cold_point(result.curve_, 0.85) == 48.0
    # only while enough cases are live: at 96 h five are; with at least six, none qualifies
    assert going_cold_point(result.curve_, 0.6, min_at_risk=5) == 96.0
    assert going_cold_point(result.curve_, 0.6, min_at_risk=6) is None
    ev = read_log(frame()).table
    assert timing(ev, JOURNEY, threshold=0.85, min_at_risk=1).going_cold_ == 48.0
    assert timing(ev, JOURNEY, threshold=0.85).going_cold_ is None  # default: 10 live cases


def test_counting_failed_cases_among_the_unfinished_would_call_it_cold_too_early(result):
    """(F(∞) - F) / (1 - F) mixes in the cases that already failed: at 96 h it is
    0.16 / 0.58 = 0.276 < 0.29, cold — though a case still live then has a chance of 1/3."""
    unfinished = going_cold_point(result.curve_.drop(columns="failed"), 0.5)
    assert unfinished == 96.0
    assert result.going_cold_ is None


def test_band_at_the_first_finish_is_the_binomial_one_on_the_log_log_scale(result):
    # At 24 h nothing was censored yet: F = 1/10 from 10 cases, variance F(1 - F)/n = 0.009;
    # lifelines' band is symmetric on the log(-log F) scale (delta method).
    f, var = 0.1, 0.1 * 0.9 / 10
    z = NormalDist().inv_cdf(0.975)
    theta, se = math.log(-math.log(f)), math.sqrt(var) / (f * abs(math.log(f)))
    ends = sorted([math.exp(-math.exp(theta + z * se)), math.exp(-math.exp(theta - z * se))])
    row = result.curve_.set_index("time").loc[24]
    assert (row["lower"], row["upper"]) == pytest.approx(ends, abs=1e-9)
    c = result.curve_
    assert (c["lower"] <= c["finished"] + 1e-12).all() and (c["upper"] >= c["finished"]).all()


def test_equals_lifelines_on_the_same_durations(result):
    d = result.durations_
    code = d["outcome"].map({"censored": 0, "finished": 1, "failed": 2})
    hours = d["hours"].copy()
    hours[(code == 2) & hours.isin(hours[code == 1])] += 1e-6  # break ties: failure after
    aj = AalenJohansenFitter(seed=0).fit(hours, code, event_of_interest=1)
    cif = aj.cumulative_density_.iloc[:, 0]
    for row in result.curve_.itertuples():
        assert row.finished == pytest.approx(float(cif[cif.index <= row.time + 1e-3].iloc[-1]))
    live = KaplanMeierFitter().fit(hours, code != 0).survival_function_.iloc[:, 0]
    for row in result.curve_.itertuples():
        s = float(live[live.index <= row.time + 1e-3].iloc[-1])
        assert row.finished + row.failed + s == pytest.approx(1.0)


def test_open_cases_are_censored_not_lost(result):
    """Counting d and g (open) as lost gives 5/10 finishing, not 0.58: a different answer.

    It is the wrong one: d and g were live when the log ended, like the cases still live at
    72 h and 120 h, most of which went on to finish.
    """
    d = result.durations_
    as_lost = d.assign(outcome=d["outcome"].replace("censored", "failed"))
    from lastmile.timing import _aj_curve

    wrong = _aj_curve(as_lost["hours"].to_numpy(),
                      as_lost["outcome"].map({"finished": 1, "failed": 2}).to_numpy())
    assert wrong["finished"].iloc[-1] == pytest.approx(5 / 10)
    assert result.ever_finish_ == pytest.approx(0.58)


def test_failed_cases_are_not_censored_at_their_failure(result):
    """Censoring e, i, j at their failure would let them 'finish later' like the rest.

    By hand: S = 9/10 at 24 h (10 live), · 6/8 at 48 h, · 4/5 at 96 h, · 1/2 at 192 h =
    0.27, so F(∞) = 0.73 instead of 0.58.
    """
    d = result.durations_
    wrong = KaplanMeierFitter().fit(d["hours"], d["outcome"] == "finished")
    assert 1 - float(wrong.survival_function_.iloc[-1, 0]) == pytest.approx(0.73)
    assert result.ever_finish_ == pytest.approx(0.58)


def test_as_of_censors_what_had_not_happened_yet(events):
    # On day 4: d and g do not exist yet; f, h, i and j have no outcome yet (censored).
    d = last_mile_durations(events, JOURNEY, as_of="2024-01-05")
    got = {r.case_id: (r.outcome, r.hours) for r in d.itertuples()}
    assert got == {
        "a": ("finished", 24.0), "b": ("finished", 48.0), "c": ("finished", 48.0),
        "e": ("failed", 24.0), "f": ("censored", 48.0), "h": ("censored", 96.0),
        "i": ("censored", 96.0), "j": ("censored", 72.0),
    }
    t = timing(events, JOURNEY, as_of="2024-01-05")
    # 24 h: 8 live, a finishes (F 1/8), e fails; S = 6/8. 48 h: 6 live, b and c finish:
    # F = 1/8 + 6/8 · 2/6 = 3/8; then only censoring.
    assert t.ever_finish_ == pytest.approx(3 / 8)
    assert t.as_of == datetime(2024, 1, 5)


def test_segments_equal_the_curve_of_each_sub_log(events):
    t = timing(events, JOURNEY, by="region", as_of="2024-01-11")
    assert list(t.segments_) == ["N", "S"]  # six cases and four: largest first
    for region, seg in t.segments_.items():
        cases = {c for c, r in REGION.items() if r == region}
        sub = read_log(frame([e for e in EVENTS if e[0] in cases])).table
        alone = timing(sub, JOURNEY, as_of="2024-01-11", validate=False)  # S: no "lost"
        pd.testing.assert_frame_equal(seg.curve_, alone.curve_)
        assert seg.going_cold_ == alone.going_cold_
    # N (as of day 11): a 24 h finish, e 24 h fail, c 48 h finish, g censored 144 h, i 144 h
    # fail, j 192 h fail. F = 1/6 at 24 h (6 live), + (4/6)·(1/4) = 1/3 at 48 h; no more.
    assert t.segments_["N"].ever_finish_ == pytest.approx(1 / 3)
    # S: b 48 h, d censored 96 h, f 96 h, h 192 h: 1/4, + 3/4 · 1/3 = 1/2, then h → 1
    assert t.segments_["S"].ever_finish_ == pytest.approx(1.0)
    assert 0 < t.logrank_p_ < 1


def test_a_case_that_finishes_as_it_enters_counts_at_zero():
    # k skips 'sent' and is signed at once: 0 h. Then a finishes at 24 h, b is censored at
    # 48 h. By hand: F(0) = 1/3 (3 live); F(24) = 1/3 + 2/3 · 1/2 = 2/3. (lifelines' own
    # Aalen–Johansen sets its first time to 0 and would lose k: F(24) = 1/3.)
    ev = frame([("k", "signed", 0), ("a", "sent", 0), ("a", "signed", 1), ("b", "sent", 0),
                ("z", "other", 2)])
    t = timing(read_log(ev).table, Journey.from_flags("sent,signed"), min_at_risk=1)
    assert t.durations_.set_index("case_id").loc["k", "hours"] == 0.0
    assert t.curve_["time"].tolist() == [0.0, 24.0, 48.0]
    assert t.curve_["at_risk"].tolist() == [3, 2, 1]
    np.testing.assert_allclose(t.curve_["finished"], [1 / 3, 2 / 3, 2 / 3])


def test_reversed_cases_did_finish():
    ev = frame([("a", "sent", 0), ("a", "signed", 1), ("a", "undo", 2), ("b", "sent", 0),
                ("z", "other", 3)])
    j = Journey.from_dict({"stages": ["sent", "signed"], "reversal": {"activities": ["undo"]}})
    t = timing(read_log(ev).table, j)
    assert t.counts["reversed"] == 1
    assert t.durations_.set_index("case_id").loc["a", "hours"] == 24.0
    assert t.ever_finish_ == pytest.approx(0.5)


def test_outputs_have_the_schema(result):
    data = result.to_dict()
    assert data["schema"] == "lastmile.timing/1"
    assert data["cases"] == 10
    assert data["status"] == {"finished": 5, "reversed": 0, "failed": 3, "open": 2}
    assert data["going_cold_hours"] is None and data["median_hours"] == 48.0
    assert [r["time"] for r in data["curve"]] == HAND_TIMES
    assert data["curve"][-1]["chance"] is None  # nobody live: undefined, not NaN
    assert [r["after"] for r in data["table"]] == ["1d", "3d", "7d"]  # longest: 8 days
    three = data["table"][1]  # 72 h
    assert three["finished"] == pytest.approx(0.3) and three["at_risk"] == 6
    assert data["segments"] == [] and data["by"] is None
    assert "NaN" not in result.to_json()
    frame_ = result.to_frame()
    assert set(frame_["segment"]) == {"all"} and len(frame_) == 3
    text = result.summary
    assert "10 cases entered the last mile: 5 finished, 3 failed, 2 still open" in text
    assert "going cold: not reached" in text


def test_bad_arguments_are_explained(events):
    from lastmile.errors import LastmileError

    with pytest.raises(LastmileError, match=r"no attribute 'regoin'.*did you mean 'region'"):
        timing(events, JOURNEY, by="regoin")
    with pytest.raises(LastmileError, match="threshold"):
        timing(events, JOURNEY, threshold=1.5)
    with pytest.raises(LastmileError, match=r"'signd'.*never occurs.*did you mean 'signed'"):
        timing(events, Journey.from_flags("sent,signd"))


def test_no_case_in_the_last_mile_gives_an_empty_result():
    t = timing(read_log(frame([("z", "other", 1), ("z", "other", 2)])).table,
               Journey.from_flags("sent,signed"), validate=False)
    assert t.counts["entered"] == 0 and t.going_cold_ is None and t.curve_.empty
    assert t.to_dict()["curve"] == [] and "0 cases entered" in t.summary
