"""The vectorised Aalen–Johansen estimate equals lifelines' own, on the same durations.

``lastmile.timing`` computes lifelines' ``AalenJohansenFitter`` arithmetic with numpy (lifelines
takes seconds per million cases in pandas group-bys). Here the reference is lifelines itself,
fed exactly as lastmile fed it before: failures tied with finishes moved one representable
time later (case by case), outcomes at 0 h computed just after 0, then folded back. Equal to
floating-point precision: times, F, G, the live counts and the band, on tie-heavy random data,
hand-made chains of ties, and BPI Challenge 2012.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter
from tests.conftest import shared_file

from lastmile.timing import _AT_ZERO, _aj_curve, _event_table

TOL = {"rtol": 1e-12, "atol": 1e-12}


def separate_ties_case_by_case(hours: np.ndarray, code: np.ndarray) -> np.ndarray:
    """The tie rule applied to each case (as lastmile did before feeding lifelines)."""
    t = np.where(hours > 0, hours.astype("float64"), _AT_ZERO)
    for _ in range(20):
        tied = (code == 2) & np.isin(t, t[code == 1])
        if not tied.any():
            break
        t[tied] = np.nextafter(t[tied], np.inf)
    return t


def lifelines_fits(hours: np.ndarray, code: np.ndarray):
    t = separate_ties_case_by_case(hours, code)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # lifelines must not jitter: no ties are left
        fin = AalenJohansenFitter(seed=0, alpha=0.05).fit(t, code, event_of_interest=1)
        fail = AalenJohansenFitter(seed=0, calculate_variance=False)
        fail.fit(t, code, event_of_interest=2)
    return fin, fail


def lifelines_curve(hours: np.ndarray, code: np.ndarray) -> pd.DataFrame:
    """F, G, live counts and band from lifelines, folded back onto the true times."""
    fin, fail = lifelines_fits(hours, code)
    table = fin.event_table
    f = fin.cumulative_density_.iloc[:, 0].reindex(table.index).to_numpy()
    g = fail.cumulative_density_.iloc[:, 0].reindex(table.index).to_numpy()
    ci = fin.confidence_interval_.reindex(table.index).to_numpy()
    curve = pd.DataFrame({"time": table.index.to_numpy(dtype="float64"), "finished": f,
                          "lower": np.fmin(ci[:, 0], ci[:, 1]),
                          "upper": np.fmax(ci[:, 0], ci[:, 1]),
                          "at_risk": table["at_risk"].to_numpy(dtype="float64"), "failed": g})
    key = np.where(curve["time"] < 10 * _AT_ZERO, 0.0, np.round(curve["time"], 9))
    grouped = curve.groupby(key, sort=True)
    folded = grouped.last()
    folded["time"] = grouped["time"].first()
    folded["at_risk"] = grouped["at_risk"].first()
    folded = folded.reset_index(drop=True)
    folded.loc[folded["time"] < 10 * _AT_ZERO, "time"] = 0.0
    return folded


def assert_equal_to_lifelines(hours: np.ndarray, code: np.ndarray) -> pd.DataFrame:
    ours = _aj_curve(hours, code)
    theirs = lifelines_curve(hours, code)
    assert len(ours) == len(theirs)
    for column in ("time", "finished", "failed", "at_risk"):
        np.testing.assert_allclose(ours[column], theirs[column], **TOL, err_msg=column)
    # lifelines' band where it is defined (it is NaN where F = 0 or nobody is left)
    ok = theirs["lower"].notna() & (theirs["finished"] > 0)
    assert ok.any() or not (ours["finished"] > 0).any()
    for column in ("lower", "upper"):
        np.testing.assert_allclose(ours.loc[ok, column], theirs.loc[ok, column], rtol=1e-9,
                                   atol=1e-12, err_msg=column)
    return ours


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_equal_on_whole_hours_with_many_ties_and_zeros(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    hours = rng.integers(0, 40, n).astype("float64")  # ties of every kind, and 0 h
    code = rng.choice([0, 1, 2], size=n, p=[0.2, 0.55, 0.25])
    curve = assert_equal_to_lifelines(hours, code)
    assert curve["time"].iloc[0] == 0.0 and curve["finished"].iloc[0] > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_equal_on_distinct_times(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 800
    hours = rng.exponential(60, n)
    code = rng.choice([0, 1, 2], size=n, p=[0.1, 0.7, 0.2])
    assert_equal_to_lifelines(hours, code)


def test_equal_without_failures_and_when_everyone_finishes() -> None:
    rng = np.random.default_rng(5)
    hours = rng.integers(1, 30, 300).astype("float64")
    assert_equal_to_lifelines(hours, rng.choice([0, 1], size=300, p=[0.3, 0.7]))
    curve = assert_equal_to_lifelines(hours, np.ones(300, dtype="int64"))
    assert curve["finished"].iloc[-1] == pytest.approx(1.0)


def assert_event_table_is_lifelines(hours: np.ndarray, code: np.ndarray) -> None:
    """Our event table (ties separated) equals the one lifelines' fitter builds."""
    table = _event_table(hours, code)
    fin, _ = lifelines_fits(hours, code)
    theirs = fin.event_table
    np.testing.assert_array_equal(table["time"], theirs.index.to_numpy(dtype="float64"))
    for column in ("removed", "observed", "observed_1", "at_risk"):
        np.testing.assert_array_equal(table[column], theirs[column].to_numpy(), err_msg=column)


def test_a_moved_failure_that_lands_on_another_finish_moves_on() -> None:
    # failures at 5 h and just after are both tied with finishes: the one moved from 5 h
    # lands on the finish just after 5 h and must move once more, after it
    just_after = np.nextafter(5.0, np.inf)
    hours = np.array([5.0, 5.0, just_after, just_after, 7.0, 0.0, 0.0, 9.0])
    code = np.array([1, 2, 1, 2, 0, 1, 2, 1])
    assert_equal_to_lifelines(hours, code)
    assert_event_table_is_lifelines(hours, code)


def test_event_table_is_lifelines_one_on_tied_data() -> None:
    rng = np.random.default_rng(11)
    hours = rng.integers(0, 25, 400).astype("float64")
    code = rng.choice([0, 1, 2], size=400)
    assert_event_table_is_lifelines(hours, code)


@pytest.mark.shared
def test_equal_on_bpic2012() -> None:
    from lastmile.io import read_log
    from lastmile.journey import Journey
    from lastmile.timing import last_mile_durations

    events = read_log(shared_file("bpic2012/bpic2012.xes.gz")).table
    journey = Journey.from_flags(
        "A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED",
        fail="A_DECLINED,A_CANCELLED", timeout="30d")
    d = last_mile_durations(events, journey)
    code = d["outcome"].map({"censored": 0, "finished": 1, "failed": 2}).to_numpy()
    curve = assert_equal_to_lifelines(d["hours"].to_numpy(), code)
    assert curve["finished"].iloc[-1] == pytest.approx(0.7105, abs=1e-4)
