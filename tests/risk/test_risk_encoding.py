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
from lastmile.risk.encoding import OTHER

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
    assert list(X["last_resource"].cat.categories) == ["r1", "r2", OTHER]
    assert set(X.loc["b", "last_resource"].astype(str)) == {OTHER}
    # a log with an unseen activity gets the same columns
    df = pd.DataFrame({"case": ["z"], "activity": ["fax"], "timestamp": [BASE]})
    other = enc.transform(lastmile.read_log(df)).X
    assert other.columns.tolist() == X.columns.tolist()
    assert other["last_activity"].astype(str).tolist() == [OTHER]


def test_to_dict_round_trip(log: lastmile.Log) -> None:
    enc = PrefixEncoder(outcome_activities=["signed"], min_count=1).fit(log)
    again = PrefixEncoder.from_dict(enc.to_dict())
    pd.testing.assert_frame_equal(enc.transform(log).X, again.transform(log).X)


def test_a_level_named_other_is_not_the_rare_bucket() -> None:
    """A resource called "other" is a level of its own, apart from the pooled rare ones."""
    rows = [(f"c{i}", "offer", BASE + pd.Timedelta(hours=i), "other" if i % 2 else "r1")
            for i in range(20)]
    rows += [("z", "offer", BASE, "rare one")]
    df = pd.DataFrame(rows, columns=["case", "activity", "timestamp", "resource"])
    log = lastmile.read_log(df)
    enc = PrefixEncoder(min_count=5).fit(log)
    X = enc.transform(log).X
    cats = list(X["last_resource"].cat.categories)
    assert cats == ["other", "r1", OTHER]
    assert len(set(cats)) == len(cats)
    assert X.loc[("z", 1), "last_resource"] == OTHER
    assert X.loc[("c1", 1), "last_resource"] == "other"
    assert X.loc[("c0", 1), "last_resource"] == "r1"
    # a value that happens to equal the sentinel itself is pooled, never a level of its own
    df2 = pd.concat([df, pd.DataFrame({"case": [f"s{i}" for i in range(6)],
                                       "activity": "offer", "timestamp": BASE,
                                       "resource": OTHER})], ignore_index=True)
    enc2 = PrefixEncoder(min_count=5).fit(lastmile.read_log(df2))
    assert enc2.levels_["last_resource"].count(OTHER) == 0


def test_resource_of_an_earlier_activity_uses_only_events_before_the_cut() -> None:
    """``resource_at_<activity>``: who did the last such activity, among the prefix's events.

    Case a: knock by Ann, text, knock by Bob, signed (outcome), knock by Cy (after the cut).
    Case b: text, knock by Ann.
    """
    rows = [("a", "knock", 0, "Ann"), ("a", "text", 1, "SMS"), ("a", "knock", 2, "Bob"),
            ("a", "signed", 3, "Ann"), ("a", "knock", 4, "Cy"),
            ("b", "text", 0, "SMS"), ("b", "knock", 1, "Ann")]
    df = pd.DataFrame(rows, columns=["case", "activity", "hours", "resource"])
    df["timestamp"] = BASE + pd.to_timedelta(df.pop("hours"), unit="h")
    log = lastmile.read_log(df)
    enc = PrefixEncoder(outcome_activities=["signed"], min_count=1).fit(log)
    feats = enc.transform(log)
    X = feats.X
    assert "resource_at_knock" in X.columns
    assert "resource_at_signed" not in X.columns  # the outcome activity is never a feature
    assert X.loc["a", "resource_at_knock"].astype(str).tolist() == ["Ann", "Ann", "Bob"]
    got = X.loc["b", "resource_at_knock"]
    assert pd.isna(got.iloc[0]) and got.iloc[1] == "Ann"
    # Cy knocked after the outcome: not a level, and never a value
    assert "Cy" not in enc.resource_at_[0][1]
    # as of hour 2.5 (before Bob's knock is followed by anything): Bob; at 1.5: Ann
    at = enc.transform(log, as_of=BASE + pd.Timedelta(hours=1.5)).X
    assert at.loc[("a", 2), "resource_at_knock"] == "Ann"
    # rewriting what happens at or after a prefix's end does not change that prefix
    later = df.copy()
    later.loc[(later["case"] == "a") & (later["timestamp"] >= BASE + pd.Timedelta(hours=2)),
              "resource"] = "Zed"
    X2 = enc.transform(lastmile.read_log(later)).X
    assert X2.loc[("a", 2), "resource_at_knock"] == "Ann"
    assert X2.loc[("a", 3), "resource_at_knock"] == OTHER  # Zed was never seen in fitting


def test_attribute_kinds_are_judged_on_the_fitting_events() -> None:
    """An attribute constant per case up to a moment is a case attribute there (no
    mean/min/max), whatever later events do; text that reads as numbers is a number."""
    rows = [("a", "x", 0, 1.0, "5"), ("a", "y", 1, 1.0, "7"), ("a", "z", 5, 9.0, "n/a"),
            ("b", "x", 0, 2.0, "3"), ("b", "y", 1, 2.0, "4")]
    df = pd.DataFrame(rows, columns=["case", "activity", "hours", "level", "code"])
    df["timestamp"] = BASE + pd.to_timedelta(df.pop("hours"), unit="h")
    log = lastmile.read_log(df)
    early = log.table.filter(log.table.timestamp <= BASE + pd.Timedelta(hours=2))
    enc = PrefixEncoder(min_count=1).fit(early)
    assert enc.attr_kinds_["level"] == ("case", "number")
    assert enc.attr_kinds_["code"] == ("event", "number")
    assert "mean_level" not in enc.feature_names_ and "mean_code" in enc.feature_names_
    X = enc.transform(log).X
    assert X.loc[("a", 2), "mean_code"] == pytest.approx(6.0)
    assert pd.isna(X.loc[("a", 3), "last_code"]) or X.loc[("a", 3), "last_code"] == 7.0
    whole = PrefixEncoder(min_count=1).fit(log)
    assert whole.attr_kinds_["level"][0] == "event"
    assert whole.attr_kinds_["code"] == ("event", "category")


def test_levels_of_categorical_event_attributes_are_counted(log: lastmile.Log) -> None:
    rows = [("a", "x", 0, "red"), ("a", "y", 1, "blue"), ("a", "z", 2, "red"),
            ("b", "x", 0, "blue")]
    df = pd.DataFrame(rows, columns=["case", "activity", "hours", "colour"])
    df["timestamp"] = BASE + pd.to_timedelta(df.pop("hours"), unit="h")
    lg = lastmile.read_log(df)
    X = PrefixEncoder(min_count=1).fit(lg).transform(lg).X
    assert X.loc["a", "nval_colour_red"].tolist() == [1, 1, 2]
    assert X.loc["a", "nval_colour_blue"].tolist() == [0, 1, 1]


def _vals(col: pd.Series) -> list:
    return [None if pd.isna(v) else str(v) for v in col]


def test_positions_by_hand_and_cut_at_the_outcome(log: lastmile.Log) -> None:
    enc = PrefixEncoder(min_count=1, positions=3, outcome_activities=["signed"]).fit(log)
    X = enc.transform(log).X
    a = X.loc["a"]  # offer, call, call | signed, call: cut before "signed"
    assert list(a.index) == [1, 2, 3]
    assert _vals(a["activity_1"]) == ["offer", "offer", "offer"]
    assert _vals(a["activity_2"]) == [None, "call", "call"]
    assert _vals(a["activity_3"]) == [None, None, "call"]
    assert _vals(a["activity_back_1"]) == [None, "offer", "call"]
    assert _vals(a["activity_back_2"]) == [None, None, "offer"]
    assert _vals(a["activity_back_3"]) == [None, None, None]
    # neither the outcome activity nor anything after it shows up in any position
    pos = [c for c in X.columns if c.startswith("activity_")]
    assert len(pos) == 6
    assert not (X[pos].astype(object) == "signed").any().any()
    assert "signed" not in X["activity_1"].cat.categories
    # as of hour 24, case a has seen offer and call only
    now = enc.transform(log, as_of=BASE + pd.Timedelta(hours=24)).X.loc["a"]
    assert _vals(now["activity_2"]) == ["call"] and _vals(now["activity_3"]) == [None]
    assert PrefixEncoder.from_dict(enc.to_dict()).feature_names_ == enc.feature_names_


def test_position_attributes_by_hand(log: lastmile.Log) -> None:
    """Each of the first events in full: its resource, the gap before it, its event attributes."""
    enc = PrefixEncoder(min_count=1, positions=3, position_attributes=True,
                        outcome_activities=["signed"]).fit(log)
    X = enc.transform(log).X
    a = X.loc["a"]  # offer@0 (r1, score 1), call@24 (r2, score 3), call@30 (r2) | signed
    assert _vals(a["pos_resource_1"]) == ["r1", "r1", "r1"]
    assert _vals(a["pos_resource_2"]) == [None, "r2", "r2"]
    assert _vals(a["pos_resource_3"]) == [None, None, "r2"]
    assert a["pos_gap_hours_1"].isna().all()  # nothing before the first event
    assert a["pos_gap_hours_2"].tolist()[1:] == [24.0, 24.0]
    assert a["pos_gap_hours_3"].tolist()[2:] == [6.0]
    assert a["pos_gap_hours_2"].isna().tolist() == [True, False, False]
    assert a["pos_score_1"].tolist() == [1.0, 1.0, 1.0]
    assert a["pos_score_2"].tolist()[1:] == [3.0, 3.0] and pd.isna(a["pos_score_2"].iloc[0])
    assert a["pos_score_3"].isna().all()  # the third event has no score
    # amount never changes within a case: a case attribute, not encoded per position
    assert not [c for c in X.columns if c.startswith("pos_amount")]
    assert X.loc["b", "pos_gap_hours_2"].tolist()[1:] == [1.0]
    # never the outcome's events: case a's resource r1 at "signed" is not a position
    now = enc.transform(log, as_of=BASE + pd.Timedelta(hours=24)).X.loc["a"]
    assert _vals(now["pos_resource_2"]) == ["r2"] and _vals(now["pos_resource_3"]) == [None]
    back = PrefixEncoder.from_dict(enc.to_dict())
    assert back.position_attributes and back.feature_names_ == enc.feature_names_
    # off by default, even with positions
    plain = PrefixEncoder(min_count=1, positions=3).fit(log).transform(log).X
    assert not [c for c in plain.columns if c.startswith("pos_")]


def test_positions_default_off_and_negative_refused(log: lastmile.Log) -> None:
    X = PrefixEncoder(min_count=1).fit(log).transform(log).X
    assert not [c for c in X.columns if c.startswith("activity_")]
    with pytest.raises(LastmileError, match="positions"):
        PrefixEncoder(positions=-1)
