"""Timing on BPI Challenge 2012: the last mile from the signed offer coming back (O_SENT_BACK)
to approval (A_APPROVED); the numbers quoted in docs/timing.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import AalenJohansenFitter
from tests.conftest import shared_file

from lastmile.io import read_log
from lastmile.journey import Journey
from lastmile.timing import timing

pytestmark = pytest.mark.shared

JOURNEY = Journey.from_flags(
    "A_SUBMITTED,A_PREACCEPTED,A_ACCEPTED,O_SENT,O_SENT_BACK,A_APPROVED",
    fail="A_DECLINED,A_CANCELLED", last_mile="O_SENT_BACK", timeout="30d",
)


@pytest.fixture(scope="module")
def events():
    return read_log(shared_file("bpic2012/bpic2012.xes.gz")).table


@pytest.fixture(scope="module")
def result(events):
    return timing(events, JOURNEY, by="AMOUNT_REQ")


def test_durations_match_a_plain_pandas_computation(events, result):
    ev = events.select("case_id", "activity", "timestamp").to_pandas()
    end = ev["timestamp"].max()
    first = ev.groupby(["case_id", "activity"]).timestamp.min().unstack()
    last = ev.groupby("case_id").timestamp.max()
    ref = pd.DataFrame({"entry": first[["O_SENT_BACK", "A_APPROVED"]].min(axis=1),
                        "finish": first["A_APPROVED"],
                        "fail": first[["A_DECLINED", "A_CANCELLED"]].min(axis=1),
                        "last": last}).dropna(subset=["entry"])
    silent = (end - ref["last"]) > pd.Timedelta(days=30)
    ref["outcome"] = np.select(
        [ref["finish"].notna(), ref["fail"].notna() | silent], ["finished", "failed"],
        "censored")
    stop = ref["finish"].where(ref["finish"].notna(),
                               ref["fail"].where(ref["fail"].notna(),
                                                 (ref["last"] + pd.Timedelta(days=30))
                                                 .where(silent, end)))
    ref["hours"] = ((stop - ref["entry"]).dt.total_seconds() / 3600).clip(lower=0)
    ours = result.durations_.set_index("case_id").sort_index()
    ref = ref.sort_index()
    assert list(ours.index) == list(ref.index)
    assert (ours["outcome"] == ref["outcome"]).all()
    np.testing.assert_allclose(ours["hours"], ref["hours"], atol=1e-6)
    code = ref["outcome"].map({"censored": 0, "finished": 1, "failed": 2})
    aj = AalenJohansenFitter(seed=0, calculate_variance=False).fit(ref["hours"], code, 1)
    cif = aj.cumulative_density_.iloc[:, 0]
    for row in result.table().itertuples():
        assert row.finished == pytest.approx(float(cif[cif.index <= row.time].iloc[-1]),
                                             abs=1e-6)


def test_the_numbers_in_the_docs(result):
    assert result.counts == {"entered": 3254, "finished": 2246, "reversed": 0, "failed": 912,
                             "open": 96}
    # the same as the report's last-mile conversion 2,246 / (3,254 - 96): few are censored
    assert result.ever_finish_ == pytest.approx(0.711, abs=5e-4)
    assert result.median_ / 24 == pytest.approx(4.13, abs=0.01)
    assert result.going_cold_ / 24 == pytest.approx(34.0, abs=0.05)
    assert list(result.segments_) == ["25–7,250", "7,300–12,500", "12,750–21,000",
                                      "21,127–99,000"]
    assert sum(s.counts["entered"] for s in result.segments_.values()) == 3254
    assert result.logrank_p_ < 0.001
