"""bench/bench_screen.py: the screen's cost, timed on the same log with the screen off and on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import load_script

from lastmile.demo import generate
from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.queue import screened_attributes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_screen", ROOT / "bench" / "bench_screen.py")


def test_the_training_moment_is_the_quantile_of_last_mile_entries(bench) -> None:
    s = generate("carsales", cases=400, seed=1)
    log = read_log(s.events)
    journey = Journey.from_dict(s.journey_dict)
    # independently, from the events: each case's first event of the last mile's stage or a
    # later one
    ev = s.events
    later = {a for st in journey.stages[journey.last_mile_index:] for a in st.activities}
    entries = (ev[ev["activity"].isin(later)].groupby("case_id")["timestamp"].min()
               .dt.tz_localize(None))
    want = pd.Timestamp(entries.quantile(0.6)).floor("s")
    assert bench.training_moment(log, journey, 0.6) == want


def test_a_measurement_times_both_sides_and_reports_what_the_screen_left_out(bench) -> None:
    s = generate("carsales", cases=600, seed=2)
    log = read_log(s.events)
    journey = Journey.from_dict(s.journey_dict)
    r = bench.measure("carsales", log, journey, repeats=2)
    assert {k: len(v) for k, v in r["all_seconds"].items()} == {
        "baseline": 2, "screened": 2, "screen": 2}
    med = r["seconds"]
    assert r["ratio_screened_to_baseline"] == pytest.approx(
        med["screened"] / med["baseline"], abs=0.01)
    when = bench.training_moment(log, journey)
    assert r["as_of"] == str(when)
    assert r["screened_out"] == screened_attributes(log, journey, when)[1]
