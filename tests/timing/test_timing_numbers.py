"""The fast path of ``timing``: numbers from the engine, the per-case frame only when read.

Without ``by``, ``timing`` fetches the durations once as Arrow and estimates from their
numbers; ``durations_`` is built the first time it is read. These tests check that what it
builds is exactly :func:`last_mile_durations`, that the counts and readings agree with the
frame, and that the report's thinned curve is the same as thinning the full JSON form.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import lastmile.demo as demo
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.measures import compute_report
from lastmile.reporting import timing_section
from lastmile.timing import Timing, _Cases, last_mile_durations, timing


@pytest.fixture(scope="module")
def scenario():
    s = demo.generate("telecom", cases=3000, seed=1)
    log = read_log(s.events)
    return log, Journey.from_dict(s.journey_dict)


def test_durations_are_last_mile_durations(scenario):
    log, journey = scenario
    t = timing(log.table, journey, validate=False)
    d = last_mile_durations(log.table, journey)
    pd.testing.assert_frame_equal(t.durations_, d)
    assert t.durations_ is t.durations_  # built once


def test_the_frame_without_by_equals_the_frame_with_by(scenario):
    # two ways of fetching (Arrow, and Ibis' pandas for the segment column): same columns
    log, journey = scenario
    plain = last_mile_durations(log.table, journey)
    split = last_mile_durations(log.table, journey, by="region")
    pd.testing.assert_frame_equal(plain, split.drop(columns="segment"))


def test_counts_and_readings_agree_with_the_frame(scenario):
    log, journey = scenario
    t = timing(log.table, journey, validate=False)
    d = last_mile_durations(log.table, journey)
    status = d["status"].value_counts()
    assert t.counts == {"entered": len(d), **{s: int(status.get(s, 0)) for s in
                                              ("finished", "reversed", "failed", "open")}}
    # the same Timing from the frame alone (as a user may build it) reads the same
    again = Timing(t.journey, t.as_of, t.by, t.threshold, t.alpha, t.min_at_risk, t.log_end,
                   d, t.curve_, t.ever_finish_, t.median_, t.half_finished_, t.going_cold_)
    assert again.counts == t.counts
    pd.testing.assert_frame_equal(again.table(), t.table())
    hours = [0.5, 24.0, 24 * 30.0, 1e6]
    pd.testing.assert_frame_equal(again.at(hours), t.at(hours))


def test_same_result_from_the_numbers_as_from_the_frame(scenario):
    log, journey = scenario
    t = timing(log.table, journey, validate=False)
    numbers = t._cases
    from_frame = _Cases(last_mile_durations(log.table, journey))
    np.testing.assert_array_equal(np.sort(numbers.hours), np.sort(from_frame.hours))
    np.testing.assert_array_equal(np.bincount(numbers.outcome), np.bincount(from_frame.outcome))
    assert numbers.status == from_frame.status


def _thin(rows: list[dict], most: int = 400) -> list[dict]:
    """Reference thinning of the full JSON curve: ``most`` evenly spread rows, ends kept."""
    if len(rows) <= most:
        return rows
    step = (len(rows) - 1) / (most - 1)
    return [rows[round(i * step)] for i in range(most)]


def test_report_curve_is_the_thinned_full_curve(scenario):
    log, journey = scenario
    report = compute_report(log.table, journey, validate=False)
    section = timing_section(log, journey, cases=report.case_table)
    full = timing(log.table, journey, validate=False).to_dict()
    assert len(full["curve"]) > 400
    assert len(section["curve"]) == 400
    assert json.dumps(section["curve"]) == json.dumps(_thin(full["curve"]))
    for key in ("cases", "status", "ever_finish", "median_hours", "going_cold_hours",
                "going_cold_at_risk", "table"):
        assert section[key] == full[key], key


def test_a_short_curve_is_kept_whole(scenario):
    log, journey = scenario
    t = timing(log.table, journey, validate=False)
    assert t.to_dict(curve_points=10**9)["curve"] == t.to_dict()["curve"]
    thin = t.to_dict(curve_points=5)["curve"]
    assert len(thin) == 5
    assert thin[0]["time"] == 0.0 and thin[-1]["time"] == t.to_dict()["curve"][-1]["time"]


def test_a_timing_can_be_pickled_before_its_frame_is_built(scenario):
    import pickle

    log, journey = scenario
    t = timing(log.table, journey, validate=False)
    back = pickle.loads(pickle.dumps(t))
    assert back.counts == t.counts
    pd.testing.assert_frame_equal(back.durations_, t.durations_)
