"""The measures on a small hand-made log: every status, ties, single events, skips, reversals.

The expected numbers below are counted by hand from the log in ``LOG`` (see the comments);
every measure is also compared with the independent pandas computation.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from tests.measures.lm_tables import duckdb_table
from tests.measures.pandas_reference import assert_same, reference_cases, reference_report

from lastmile.errors import LastmileError
from lastmile.journey import Cost, Journey
from lastmile.measures import (
    case_table,
    compute_report,
    funnel,
    last_mile,
    stranded,
    trend,
)

BASE = pd.Timestamp("2024-01-01")

# case, activity, day after BASE.  Stages: apply -> offer -> sign (last mile) -> done (finish);
# failure: cancel; reversal: revoke within 10 days; timeout 30 days.  The log ends on day 100.
LOG = [
    ("fin", "apply", 0),
    ("fin", "offer", 1),
    ("fin", "sign", 2),
    ("fin", "done", 3),
    ("rev_in", "apply", 0),
    ("rev_in", "offer", 1),
    ("rev_in", "sign", 2),
    ("rev_in", "done", 3),
    ("rev_in", "revoke", 8),  # 5 days after done: reversed
    ("rev_out", "apply", 0),
    ("rev_out", "offer", 1),
    ("rev_out", "sign", 2),
    ("rev_out", "done", 3),
    ("rev_out", "revoke", 20),  # 17 days after: still finished
    ("tie_before", "apply", 0),
    ("tie_before", "sign", 5),
    ("tie_before", "revoke", 6),
    ("tie_before", "done", 6),  # same time, revoke listed first
    ("tie_after", "apply", 0),
    ("tie_after", "sign", 5),
    ("tie_after", "done", 6),
    ("tie_after", "revoke", 6),  # same time, revoke listed after
    ("explicit_lm", "apply", 0),
    ("explicit_lm", "offer", 1),
    ("explicit_lm", "sign", 2),
    ("explicit_lm", "cancel", 4),
    ("abandon_lm", "apply", 10),
    ("abandon_lm", "offer", 11),
    ("abandon_lm", "sign", 12),
    ("open_lm", "apply", 90),
    ("open_lm", "offer", 91),
    ("open_lm", "sign", 95),
    ("open_lm", "note", 100),
    ("single_old", "apply", 5),
    ("single_new", "apply", 99),
    ("skip", "apply", 0),
    ("skip", "sign", 2),
    ("skip", "done", 4),
    ("none", "note", 50),
    ("cancel_then_finish", "apply", 0),
    ("cancel_then_finish", "cancel", 1),
    ("cancel_then_finish", "offer", 2),
    ("cancel_then_finish", "sign", 3),
    ("cancel_then_finish", "done", 4),
    ("explicit_early", "apply", 0),
    ("explicit_early", "offer", 1),
    ("explicit_early", "cancel", 2),
    ("open_offer", "apply", 80),
    ("open_offer", "offer", 85),
]
AMOUNT = {"explicit_lm": 1000.0, "abandon_lm": 2000.0, "rev_in": 3000.0, "tie_after": 4000.0}

# status and furthest stage of every case, by hand
EXPECTED = {
    "fin": ("finished", 3, None),
    "rev_in": ("reversed", 3, None),
    "rev_out": ("finished", 3, None),
    "tie_before": ("finished", 3, None),
    "tie_after": ("reversed", 3, None),
    "explicit_lm": ("failed", 2, "explicit"),
    "abandon_lm": ("failed", 2, "abandoned"),
    "open_lm": ("open", 2, None),
    "single_old": ("failed", 0, "abandoned"),
    "single_new": ("open", 0, None),
    "skip": ("finished", 3, None),
    "none": ("failed", -1, "abandoned"),
    "cancel_then_finish": ("finished", 3, None),
    "explicit_early": ("failed", 1, "explicit"),
    "open_offer": ("open", 1, None),
}


def make_log() -> pd.DataFrame:
    rows = [
        {
            "case_id": c,
            "activity": a,
            "timestamp": BASE + pd.Timedelta(days=d),
            "resource": "r1" if i % 2 else None,
            "event_index": i,
            "amount": AMOUNT.get(c, 10.0),
            "effort": float(i % 3),
        }
        for i, (c, a, d) in enumerate(LOG)
    ]
    # shuffle the rows: the table's physical order must not matter, only (timestamp, event_index)
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=7).reset_index(drop=True)
    df["timestamp"] = df["timestamp"].astype("datetime64[us]")
    return df


def make_journey(**changes) -> Journey:
    text = """
stages:
  - {name: applied, activities: [apply]}
  - {name: offered, activities: [offer]}
  - {name: signed, activities: [sign]}
  - {name: done, activities: [done]}
failure: [cancel]
reversal: {activities: [revoke], window: 10d}
timeout: 30d
value: amount
cost: {per_activity: {offer: 2.0, sign: 5.0}}
"""
    journey = Journey.from_yaml(text)
    if changes:
        data = journey.to_dict() | changes
        data = {k: v for k, v in data.items() if v is not None}
        journey = Journey.from_dict(data)
    return journey


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_log()


@pytest.fixture(scope="module")
def events(log):
    return duckdb_table(log)


def test_case_status_by_hand(events):
    cases = case_table(events, make_journey()).to_pandas().set_index("case_id")
    assert set(cases.index) == set(EXPECTED)
    for case_id, (status, stage, kind) in EXPECTED.items():
        row = cases.loc[case_id]
        assert row["status"] == status, case_id
        assert row["stage_index"] == stage, case_id
        assert (None if pd.isna(row["failure_kind"]) else row["failure_kind"]) == kind, case_id
    assert cases.loc["skip", "stage"] == "done"
    assert pd.isna(cases.loc["none", "stage"])
    assert cases.loc["rev_in", "reversed_at"] == BASE + pd.Timedelta(days=8)
    assert pd.isna(cases.loc["rev_out", "reversed_at"])
    assert cases.loc["open_lm", "events"] == 4
    assert cases.loc["rev_in", "duration_days"] == pytest.approx(8.0)
    assert cases.loc["explicit_lm", "cost"] == pytest.approx(7.0)  # offer 2 + sign 5
    assert cases.loc["tie_after", "cost"] == pytest.approx(5.0)  # skipped the offer
    # the skipped stage counts as reached at the time of the later stage
    assert cases.loc["skip", "reached_1_at"] == BASE + pd.Timedelta(days=2)
    assert bool(cases.loc["abandon_lm", "last_mile_failure"])
    assert not bool(cases.loc["explicit_early", "last_mile_failure"])


def test_case_table_matches_reference(events, log):
    journey = make_journey()
    ours = case_table(events, journey).to_pandas().set_index("case_id").sort_index()
    ref = reference_cases(log, journey)
    assert list(ours.index) == list(ref.index)
    for col in ref.columns:
        a, b = ours[col], ref[col]
        if col in ("duration_days", "value", "cost"):
            pd.testing.assert_series_equal(a.astype(float), b.astype(float), check_names=False)
        elif col.endswith("_at"):
            pd.testing.assert_series_equal(
                pd.to_datetime(a), pd.to_datetime(b).astype(a.dtype), check_names=False
            )
        else:
            assert [None if pd.isna(x) else x for x in a] == [
                None if pd.isna(x) else x for x in b
            ], col


def test_funnel_by_hand(events):
    journey = make_journey()
    f = funnel(case_table(events, journey), journey).to_pandas()
    assert list(f["stage"]) == ["applied", "offered", "signed", "done"]
    assert list(f["reached"]) == [14, 12, 10, 7]
    assert list(f["moved_on"]) == [12, 10, 7, 0]
    assert list(f["lost"]) == [1, 1, 2, 0]
    assert list(f["open"]) == [1, 1, 1, 0]
    assert f["conversion"].iloc[:3].tolist() == pytest.approx([12 / 13, 10 / 11, 7 / 9])
    assert pd.isna(f["conversion"].iloc[3])
    # days to the offer (or later) among the 12 that moved on: seven 1s, two 2s, three 5s
    assert f["median_hours_to_next"].iloc[0] == pytest.approx(24.0)
    assert f["p90_hours_to_next"].iloc[0] == pytest.approx(120.0)


def test_last_mile_and_stranded_by_hand(events):
    journey = make_journey()
    cases = case_table(events, journey)
    lm = last_mile(cases, journey).to_pandas().iloc[0]
    assert (lm.entered, lm.finished, lm.failed, lm.reversed, lm.open) == (10, 5, 2, 2, 1)
    assert lm.conversion == pytest.approx(5 / 9)
    assert lm.share_of_failures == pytest.approx(4 / 7)  # 2 failed + 2 reversed of 5 + 2
    st = stranded(cases, journey).to_pandas().iloc[0]
    assert st.events == 16  # explicit_lm 4, abandon_lm 3, rev_in 5, tie_after 4
    assert st.case_days == pytest.approx(20.0)  # 4 + 2 + 8 + 6
    assert st.share_of_events == pytest.approx(16 / 49)
    assert st.cost == pytest.approx(26.0)
    assert st.value_lost == pytest.approx(10000.0)


def test_trend_by_hand(events):
    journey = make_journey()
    t = trend(case_table(events, journey), journey).to_pandas()
    assert list(t["month"]) == ["2024-01", "2024-04"]
    jan = t.iloc[0]
    assert (jan.entered, jan.finished, jan.failed, jan.reversed, jan.open) == (9, 5, 2, 2, 0)
    assert jan.conversion == pytest.approx(5 / 9)
    assert (t.iloc[1].entered, t.iloc[1].open) == (1, 1)
    assert pd.isna(t.iloc[1].conversion)


def test_report_matches_reference(events, log):
    journey = make_journey()
    report = compute_report(events, journey).to_dict()
    assert_same(report, reference_report(log, journey))
    assert report["status"] == {"finished": 5, "reversed": 2, "failed": 5, "open": 3}
    assert report["cases"] == 15 and report["events"] == 49


def test_as_of_cut(events, log):
    journey = make_journey()
    as_of = BASE + pd.Timedelta(days=3, hours=12)
    cases = case_table(events, journey, as_of=as_of).to_pandas().set_index("case_id")
    by_hand = {
        "fin": "finished",
        "rev_in": "finished",
        "rev_out": "finished",
        "tie_before": "open",
        "tie_after": "open",
        "explicit_lm": "open",
        "skip": "open",
        "cancel_then_finish": "failed",
        "explicit_early": "failed",
    }
    assert cases["status"].to_dict() == by_hand
    report = compute_report(events, journey, as_of=as_of).to_dict()
    assert report["as_of"] == "2024-01-04T12:00:00"
    assert_same(report, reference_report(log, journey, as_of=as_of))


def test_timeout_boundary_after_log_end(events, log):
    journey = make_journey()
    # 30 days after open_lm's last event it is still open (the timeout needs *more* silence)
    at = BASE + pd.Timedelta(days=130)
    cases = case_table(events, journey, as_of=at).to_pandas().set_index("case_id")
    assert cases.loc["open_lm", "status"] == "open"
    assert cases.loc["open_offer", "status"] == "failed"
    later = case_table(events, journey, as_of=at + pd.Timedelta(seconds=1)).to_pandas()
    assert later.set_index("case_id").loc["open_lm", "failure_kind"] == "abandoned"
    assert_same(
        compute_report(events, journey, as_of=at).to_dict(),
        reference_report(log, journey, as_of=at),
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"reversal": None, "timeout": None, "cost": None, "value": None},
        {"failure": None, "cost": {"per_event": 1.5}},
        {"cost": {"attribute": "effort"}, "reversal": {"activities": ["revoke"]}},
        {"last_mile": "offered", "timeout": "3w"},
        {"finish": "signed", "last_mile": None},
    ],
    ids=["bare", "per-event", "attribute-no-window", "earlier-last-mile", "earlier-finish"],
)
def test_variants_match_reference(events, log, changes):
    journey = make_journey(**changes)
    assert_same(compute_report(events, journey).to_dict(), reference_report(log, journey))


def test_reversal_without_window_catches_late_revoke(events):
    journey = make_journey(reversal={"activities": ["revoke"]})
    cases = case_table(events, journey).to_pandas().set_index("case_id")
    assert cases.loc["rev_out", "status"] == "reversed"
    assert cases.loc["tie_before", "status"] == "finished"  # the revoke came before the finish


def test_no_failure_no_timeout_leaves_cases_open(events):
    journey = make_journey(failure=None, timeout=None, reversal=None)
    report = compute_report(events, journey)
    assert report.status["failed"] == 0 and report.status["reversed"] == 0
    assert report.last_mile["conversion"] == pytest.approx(1.0)
    assert "counts as open" in report.summary


def test_report_object(events):
    report = compute_report(events, make_journey())
    data = report.to_dict()
    assert data["schema"] == "lastmile.report/1"
    assert set(data) >= {
        "journey",
        "as_of",
        "cases",
        "events",
        "status",
        "funnel",
        "last_mile",
        "stranded",
        "trend",
    }
    assert pd.read_json(pd.io.common.StringIO(report.to_json()), typ="series")["cases"] == 15
    frame = report.to_frame()
    assert list(frame["reached"]) == [14, 12, 10, 7]
    assert "signed" in report.summary and "57.1% of all failures" in report.summary
    assert report.case_table.count().execute() == 15


def test_report_validates_activities(events):
    journey = Journey.from_flags("apply,offer,sgin,done")
    with pytest.raises(LastmileError, match="did you mean 'sign'"):
        compute_report(events, journey)
    with pytest.raises(LastmileError, match="value column 'amont'"):
        compute_report(events, make_journey(value="amont"))


def test_single_event_and_empty_cut(events):
    journey = make_journey()
    report = compute_report(events, journey, as_of=BASE - timedelta(days=1))
    assert report.cases == 0 and report.events == 0
    assert report.last_mile["conversion"] is None and report.trend == []
    assert report.funnel[0]["reached"] == 0


def test_cost_object_requires_one_kind():
    with pytest.raises(LastmileError):
        Cost()
    with pytest.raises(LastmileError):
        Cost(per_event=1.0, attribute="x")
