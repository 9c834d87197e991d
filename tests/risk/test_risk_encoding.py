"""Prefix encodings on a small hand-made log, checked against numbers counted by hand.

Log (hours after 2024-01-01 00:00):

    case a: offer@0 (r1, amount 10, score 1.0), call@24 (r2, score 3.0), call@30 (r2),
            signed@48 (r1), call@50 (r2)
    case b: offer@2 (r3, amount 20), call@3 (r3, score 2.0)
    case c: signed@5 (r1), offer@6 (r1)

"signed" is the outcome in the leakage tests: case a is cut before hour 48 (so its call at
hour 50 is never seen), case c has no events before its outcome and no prefixes at all.
"""

from __future__ import annotations

import pandas as pd
import pytest

import lastmile
from lastmile.errors import LastmileError
from lastmile.risk import PrefixEncoder

BASE = pd.Timestamp("2024-01-01")
ROWS = [
    ("a", "offer", 0, "r1", 10.0, 1.0),
    ("a", "call", 24, "r2", None, 3.0),
    ("a", "call", 30, "r2", None, None),
    ("a", "signed", 48, "r1", None, None),
    ("a", "call", 50, "r2", None, None),
    ("b", "offer", 2, "r3", 20.0, None),
    ("b", "call", 3, "r3", None, 2.0),
    ("c", "signed", 5, "r1", None, None),
    ("c", "offer", 6, "r1", None, None),
]


@pytest.fixture(scope="module")
def log() -> lastmile.Log:
    df = pd.DataFrame(ROWS, columns=["case", "activity", "hours", "resource", "amount",
                                     "score"])
    df["timestamp"] = BASE + pd.to_timedelta(df.pop("hours"), unit="h")
    return lastmile.read_log(df)


def test_counts_elapsed_and_last_activity_by_hand(log: lastmile.Log) -> None:
    enc = PrefixEncoder(min_count=1).fit(log)
    X = enc.transform(log).X
    a = X.loc["a"]
    assert list(a.index) == [1, 2, 3, 4, 5]
    assert a["n_offer"].tolist() == [1, 1, 1, 1, 1]
    assert a["n_call"].tolist() == [0, 1, 2, 2, 3]
    assert a["n_signed"].tolist() == [0, 0, 0, 1, 1]
    assert a["elapsed_days"].tolist() == pytest.approx([0, 1, 30 / 24, 2, 50 / 24])
    assert a["since_prev_hours"].tolist() == pytest.approx([0, 24, 6, 18, 2])
    assert a["max_gap_hours"].tolist() == pytest.approx([0, 24, 24, 24, 24])
    assert "month" not in X.columns
    assert a["last_activity"].astype(str).tolist() == ["offer", "call", "call", "signed",
                                                        "call"]
    assert a["last_resource"].astype(str).tolist() == ["r1", "r2", "r2", "r1", "r2"]
    # pace: events per day (elapsed at least one hour) and the last gap over the mean gap
    assert a["events_per_day"].tolist() == pytest.approx([24.0, 2.0, 3 / (30 / 24), 2.0,
                                                          5 / (50 / 24)])
    assert a["gap_ratio"].iloc[1:].tolist() == pytest.approx([1.0, 6 / 15, 18 / 16,
                                                              2 / 12.5])
    # the last known value of an attribute is carried forward; mean/min/max so far
    assert a["last_amount"].tolist() == [10.0] * 5
    assert a["last_score"].tolist() == [1.0, 3.0, 3.0, 3.0, 3.0]
    assert a["mean_score"].tolist() == pytest.approx([1.0, 2.0, 2.0, 2.0, 2.0])
    assert a["max_score"].tolist() == [1.0, 3.0, 3.0, 3.0, 3.0]
    b = X.loc["b"]
    assert b["elapsed_days"].tolist() == pytest.approx([0, 1 / 24])
    assert b["hour"].tolist() == [2, 3]
    assert b["weekday"].tolist() == [0, 0]  # 2024-01-01 was a Monday
    assert b["last_score"].isna().tolist() == [True, False]


def test_max_and_min_prefix(log: lastmile.Log) -> None:
    enc = PrefixEncoder(min_count=1).fit(log)
    X = enc.transform(log, min_prefix=2, max_prefix=3).X
    assert sorted(X.index.tolist()) == [("a", 2), ("a", 3), ("b", 2), ("c", 2)]


def test_as_of_uses_only_events_up_to_the_moment(log: lastmile.Log) -> None:
    enc = PrefixEncoder(min_count=1).fit(log)
    feats = enc.transform(log, as_of=BASE + pd.Timedelta(hours=25))
    X = feats.X
    assert sorted(X.index.tolist()) == [("a", 2), ("b", 2), ("c", 2)]
    assert X.loc[("a", 2), "n_call"] == 1
    assert feats.meta.loc[("a", 2), "idle_hours"] == pytest.approx(1.0)
    assert feats.meta.loc[("b", 2), "idle_hours"] == pytest.approx(22.0)


def test_outcome_activity_is_cut_and_reported(log: lastmile.Log) -> None:
    """Must-show 4: the outcome never reaches the features, and the cut is visible."""
    enc = PrefixEncoder(outcome_activities=["signed"], min_count=1).fit(log)
    feats = enc.transform(log)
    assert "n_signed" not in feats.feature_names
    assert enc.dropped_features_ == ["n_signed"] == feats.dropped_features
    # case a stops before hour 48: three prefixes, the call at hour 50 is not counted
    assert feats.X.loc["a"].index.tolist() == [1, 2, 3]
    assert feats.X.loc["a", "n_call"].max() == 2
    # case c starts with its outcome: nothing is known before it
    assert "c" not in feats.X.index.get_level_values("case_id")
    assert "signed" not in set(feats.X["last_activity"].astype(str))
    # no prefix ends at or after the first outcome event
    assert (feats.meta.loc["a", "timestamp"] < BASE + pd.Timedelta(hours=48)).all()


def test_outcome_feature_requested_explicitly_is_refused(log: lastmile.Log) -> None:
    """Must-show 4: asking for a feature made from the outcome raises LastmileError."""
    with pytest.raises(LastmileError, match="leak"):
        PrefixEncoder(outcome_activities=["signed"], min_count=1,
                      features=["n_offer", "n_signed"]).fit(log)
    with pytest.raises(LastmileError, match="outcome"):
        PrefixEncoder(outcome_attributes=["score"], attributes=["amount", "score"]).fit(log)
    enc = PrefixEncoder(outcome_attributes=["score"], min_count=1).fit(log)
    assert "last_score" in enc.dropped_features_
    assert not any("score" in f for f in enc.feature_names_)


def test_explicit_features_keep_their_order(log: lastmile.Log) -> None:
    enc = PrefixEncoder(min_count=1, features=["n_call", "elapsed_days"]).fit(log)
    assert enc.transform(log).X.columns.tolist() == ["n_call", "elapsed_days"]
    with pytest.raises(LastmileError, match="unknown features"):
        PrefixEncoder(features=["n_nothing"]).fit(log)


def test_rare_levels_become_other_and_vocabulary_is_fixed_at_fit(log: lastmile.Log) -> None:
    enc = PrefixEncoder(min_count=3).fit(log)  # r1 has 4 events, r2 3, r3 2
    X = enc.transform(log).X
    assert list(X["last_resource"].cat.categories) == ["r1", "r2", "other"]
    assert set(X.loc["b", "last_resource"].astype(str)) == {"other"}
    # a log with an unseen activity gets the same columns
    df = pd.DataFrame({"case": ["z"], "activity": ["fax"], "timestamp": [BASE]})
    other = enc.transform(lastmile.read_log(df)).X
    assert other.columns.tolist() == X.columns.tolist()
    assert other["last_activity"].astype(str).tolist() == ["other"]


def test_to_dict_round_trip(log: lastmile.Log) -> None:
    enc = PrefixEncoder(outcome_activities=["signed"], min_count=1).fit(log)
    again = PrefixEncoder.from_dict(enc.to_dict())
    pd.testing.assert_frame_equal(enc.transform(log).X, again.transform(log).X)
