"""Timing on constructed logs where the answer is known analytically.

Cases enter the last mile (``sent``) uniformly over 60 days; the log ends on day 60. A case of
segment ``fast`` finishes (``signed``) with probability 0.8, after an exponential time with
mean 2 days; one of segment ``slow`` with probability 0.4, mean 8 days. The others never
finish: half of them get an explicit failure (``lost``) after an exponential time with mean 3
days, half go silent (abandoned once the 30-day timeout has passed, or still open at the end).
A case still waiting for its outcome after 30 silent days is abandoned too, as the journey
says (2 % of the slow finishers; the formulas below hold before 30 days).

With share ``π`` that ever finishes and rate ``λ``, the cumulative incidence of finishing is
``F(t) = π (1 - exp(-λ t))``. A case still live at ``t`` is a future finisher (weight
``π e^{-λt}``), a future explicit failure (``(1-π)/2 · e^{-t/3d}``) or a silent one
(``(1-π)/2`` until 30 days), so it finishes with chance

    p(t) = π e^{-λt} / (π e^{-λt} + (1-π)/2 · e^{-t/3d} + (1-π)/2 · [t < 30 d]).

Read with a journey that knows no failure (no ``lost``, no timeout), every case that has not
finished is live, and ``p(t) = (π - F(t)) / (1 - F(t))`` falls below ``θ·π`` at the closed form
``t* = ln((1 - θπ) / (θ(1 - π))) / λ``. The median time to finish of the cases that finish is
``ln 2 / λ`` either way.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter

from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.timing import going_cold_point, last_mile_durations, timing

START = pd.Timestamp("2024-01-01")
HORIZON_DAYS = 60.0
JOURNEY = Journey.from_flags("sent,signed", fail="lost", timeout="30d")
BLIND = Journey.from_flags("sent,signed")  # knows no failure
SEGMENTS = {"fast": (0.8, 2.0), "slow": (0.4, 8.0)}  # (share that finishes, mean days)
N_PER_SEGMENT = 8_000


def closed_form_cold(pi: float, mean_days: float, theta: float = 0.5) -> float:
    """t* in hours when no failure is observed."""
    return 24 * mean_days * math.log((1 - theta * pi) / (theta * (1 - pi)))


def live_chance(t_hours: np.ndarray, pi: float, mean_days: float) -> np.ndarray:
    d = t_hours / 24
    finisher = pi * np.exp(-d / mean_days)
    rest = (1 - pi) / 2
    return finisher / (finisher + rest * np.exp(-d / 3.0) + rest * (d < 30))


def live_cold(pi: float, mean_days: float, theta: float = 0.5) -> float:
    """First t (hours, to 0.01 h) with p(t) < θπ, for the journey that knows the failures."""
    grid = np.arange(0, 24 * 60, 0.01)
    return float(grid[np.argmax(live_chance(grid, pi, mean_days) < theta * pi)])


def simulate(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The event log, and each case's true outcome and time (hours) under JOURNEY."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for segment, (pi, mean) in SEGMENTS.items():
        entry = rng.uniform(0, HORIZON_DAYS, N_PER_SEGMENT)
        finishes = rng.random(N_PER_SEGMENT) < pi
        to_finish = rng.exponential(mean, N_PER_SEGMENT)
        explicit = rng.random(N_PER_SEGMENT) < 0.5
        to_fail = rng.exponential(3.0, N_PER_SEGMENT)
        for i in range(N_PER_SEGMENT):
            case = f"{segment}-{i:05d}"
            rows.append((case, "sent", entry[i], segment))
            watched = HORIZON_DAYS - entry[i]
            if finishes[i] and to_finish[i] <= watched:
                rows.append((case, "signed", entry[i] + to_finish[i], segment))
                truth.append((case, "finished", to_finish[i]))
            elif not finishes[i] and explicit[i] and to_fail[i] <= watched:
                rows.append((case, "lost", entry[i] + to_fail[i], segment))
                truth.append((case, "failed", to_fail[i]))
            elif watched > 30:
                # silent for more than the timeout when the log ends: abandoned at 30 days
                # (a slow finisher too: the journey cannot know it would still finish)
                truth.append((case, "failed", 30.0))
            else:
                truth.append((case, "censored", watched))
    rows.append(("end", "other", HORIZON_DAYS, "fast"))  # the log ends on day 60
    ev = pd.DataFrame(rows, columns=["case", "activity", "day", "channel"])
    ev["time"] = START + pd.to_timedelta(ev["day"], unit="D")
    truth_df = pd.DataFrame(truth, columns=["case_id", "outcome", "days"])
    truth_df["hours"] = truth_df.pop("days") * 24
    return ev.drop(columns="day"), truth_df.sort_values("case_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def simulated():
    ev, truth = simulate()
    return read_log(ev).table, truth


@pytest.fixture(scope="module")
def result(simulated):
    return timing(simulated[0], JOURNEY, by="channel")


@pytest.fixture(scope="module")
def blind(simulated):
    return timing(simulated[0], BLIND, by="channel")


def test_going_cold_point_of_an_exact_curve():
    # No sampling: F(t) on a fine grid, no failures; the first grid point past t* is it.
    pi, mean = 0.6, 5.0
    grid = np.arange(0, 24 * 200, 0.25)
    curve = pd.DataFrame({"time": grid, "finished": pi * (1 - np.exp(-grid / (24 * mean)))})
    for theta in (0.5, 0.25, 0.8):
        expected = closed_form_cold(pi, mean, theta)  # 5 d · ln 3.5 = 150.4 h at θ = 1/2
        assert going_cold_point(curve, theta) == pytest.approx(expected, abs=0.5)


def test_outcomes_and_times_are_the_true_ones(simulated):
    events, truth = simulated
    d = last_mile_durations(events, JOURNEY)
    assert d["case_id"].tolist() == truth["case_id"].tolist()
    assert (d["outcome"] == truth["outcome"]).all()
    np.testing.assert_allclose(d["hours"], truth["hours"], atol=1e-3)  # timestamps in µs


def test_curve_equals_lifelines_aalen_johansen_on_the_true_times(simulated, result):
    _, truth = simulated
    code = truth["outcome"].map({"censored": 0, "finished": 1, "failed": 2})
    aj = AalenJohansenFitter(seed=1, calculate_variance=False)
    aj.fit(truth["hours"], code, event_of_interest=1)
    cif = aj.cumulative_density_.iloc[:, 0]
    for row in result.table().itertuples():
        assert row.finished == pytest.approx(float(cif[cif.index <= row.time].iloc[-1]),
                                             abs=1e-4)


@pytest.mark.parametrize("segment", list(SEGMENTS))
def test_segments_match_the_analytic_answer(result, blind, segment):
    pi, mean = SEGMENTS[segment]
    seg = result.segments_[segment]
    assert seg.ever_finish_ == pytest.approx(pi, abs=0.02)
    assert seg.median_ == pytest.approx(24 * mean * math.log(2), rel=0.08)
    assert seg.going_cold_ == pytest.approx(live_cold(pi, mean), rel=0.08)
    # blind to failures, the live cases are all the unfinished ones: the closed form
    unaware = blind.segments_[segment]
    assert unaware.ever_finish_ == pytest.approx(pi, abs=0.02)
    assert unaware.going_cold_ == pytest.approx(closed_form_cold(pi, mean), rel=0.08)
    assert seg.going_cold_ > 1.1 * unaware.going_cold_  # knowing the failures matters
    # the true F lies in the band at the table's time points (2.1 half-widths ≈ 4 sigma)
    for row in seg.table().itertuples():
        true_f = pi * (1 - math.exp(-row.time / (24 * mean)))
        half = (row.upper - row.lower) / 2
        assert abs(row.finished - true_f) < 2.1 * half + 1e-9, row


def test_chance_of_a_live_case_follows_the_formula(result):
    pi, mean = SEGMENTS["fast"]
    seg = result.segments_["fast"]
    for days in (1, 3, 7):
        got = float(seg.at(days * 24.0)["chance"].iloc[0])
        assert got == pytest.approx(float(live_chance(np.array([days * 24.0]), pi, mean)[0]),
                                    abs=0.04)


def test_the_segments_differ_and_are_ordered(result):
    assert list(result.segments_) == ["fast", "slow"]
    assert result.segments_["fast"].going_cold_ < result.segments_["slow"].going_cold_
    assert result.logrank_p_ < 1e-6


def test_overall_curve_is_the_mixture(result):
    # Half the cases per segment: F(t) = average of the two segment curves, F(∞) = 0.6.
    assert result.ever_finish_ == pytest.approx(0.6, abs=0.015)
    for row in result.table().itertuples():
        t_days = row.time / 24
        true_f = sum(pi * (1 - math.exp(-t_days / m)) for pi, m in SEGMENTS.values()) / 2
        assert row.finished == pytest.approx(true_f, abs=0.015)


def test_counting_open_cases_as_lost_would_be_wrong(result):
    d = result.durations_
    naive = (d["outcome"] == "finished").mean()  # open cases counted as never finishing
    assert (d["outcome"] == "censored").sum() > 1_000
    assert naive < 0.6 - 0.03  # biased low: cases that entered near the end had no time
    assert abs(result.ever_finish_ - 0.6) < abs(naive - 0.6) / 3
