"""Temporal split and the measures, each checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score
from tests.conftest import shared_file

import lastmile
from lastmile.errors import LastmileError
from lastmile.risk.evaluate import (
    auc_difference_interval,
    auc_interval,
    brier_score,
    calibration_table,
    evaluate,
    roc_auc,
    temporal_split,
)

# a fixed example with ties in the scores
Y = np.array([0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0])
P = np.array([0.1, 0.8, 0.4, 0.4, 0.9, 0.3, 0.65, 0.65, 0.2, 0.7, 0.3, 0.5])
LENGTHS = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])


def test_auc_and_brier_equal_sklearn() -> None:
    assert roc_auc(Y, P) == pytest.approx(roc_auc_score(Y, P), abs=1e-12)
    assert brier_score(Y, P) == pytest.approx(brier_score_loss(Y, P), abs=1e-12)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    with pytest.raises(LastmileError):
        roc_auc([0, 2], [0.1, 0.2])


def test_auc_by_prefix_and_weighted_mean() -> None:
    ev = evaluate(Y, P, LENGTHS)
    expected = [roc_auc_score(Y[k == LENGTHS], P[k == LENGTHS]) for k in (1, 2, 3)]
    assert ev.by_prefix["auc"].tolist() == pytest.approx(expected)
    assert ev.by_prefix["n"].tolist() == [4, 4, 4]
    # unequal group sizes: weights are the number of prefixes of each length
    k2 = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])
    ev2 = evaluate(Y, P, k2)
    a1 = roc_auc_score(Y[:6], P[:6])
    a2 = roc_auc_score(Y[6:], P[6:])
    assert ev2.weighted_auc == pytest.approx((6 * a1 + 6 * a2) / 12)
    k3 = np.array([1] * 9 + [2] * 3)
    ev3 = evaluate(Y, P, k3)
    assert ev3.weighted_auc == pytest.approx(
        (9 * roc_auc_score(Y[:9], P[:9]) + 3 * roc_auc_score(Y[9:], P[9:])) / 12)
    assert ev.auc == pytest.approx(roc_auc_score(Y, P))
    assert ev.brier == pytest.approx(brier_score_loss(Y, P))


def test_prefix_length_with_one_class_is_left_out_of_the_mean() -> None:
    y = np.array([0, 1, 0, 1, 1, 1])
    p = np.array([0.2, 0.7, 0.6, 0.5, 0.4, 0.9])
    k = np.array([1, 1, 1, 1, 2, 2])
    ev = evaluate(y, p, k)
    assert np.isnan(ev.by_prefix["auc"].iloc[1])
    assert ev.weighted_auc == pytest.approx(roc_auc_score(y[:4], p[:4]))


def test_calibration_table_by_hand() -> None:
    table = calibration_table(Y, P, bins=4)
    # bins [0,.25) [.25,.5) [.5,.75) [.75,1]
    assert table["n"].tolist() == [2, 4, 4, 2]
    assert table["predicted"].tolist() == pytest.approx([0.15, 0.35, 0.625, 0.85])
    assert table["observed"].tolist() == pytest.approx([0.0, 0.5, 0.5, 1.0])
    assert table["n"].sum() == len(Y)


W = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 0.25, 1.0, 2.0, 1.0, 0.5, 4.0])


def test_weighted_measures_equal_sklearn() -> None:
    assert roc_auc(Y, P, W) == pytest.approx(roc_auc_score(Y, P, sample_weight=W), abs=1e-12)
    assert brier_score(Y, P, W) == pytest.approx(brier_score_loss(Y, P, sample_weight=W),
                                                 abs=1e-12)
    # unit weights change nothing; a weight of 2 is the point counted twice
    assert roc_auc(Y, P, np.ones(len(Y))) == pytest.approx(roc_auc(Y, P), abs=1e-12)
    twice = np.r_[np.arange(len(Y)), [4]]
    w2 = np.where(np.arange(len(Y)) == 4, 2.0, 1.0)
    assert roc_auc(Y, P, w2) == pytest.approx(roc_auc(Y[twice], P[twice]), abs=1e-12)
    ev = evaluate(Y, P, LENGTHS, sample_weight=W)
    for k, auc in zip((1, 2, 3), ev.by_prefix["auc"], strict=True):
        m = k == LENGTHS
        assert auc == pytest.approx(roc_auc_score(Y[m], P[m], sample_weight=W[m]))
    assert ev.n == len(Y) and ev.positives == int(Y.sum())  # counts stay counts
    table = calibration_table(Y, P, bins=4, sample_weight=W)
    bins = np.clip(np.digitize(P, [0.25, 0.5, 0.75]), 0, 3)
    for row in table.itertuples():
        m = bins == row.bin
        assert row.n == m.sum()
        assert row.predicted == pytest.approx((W[m] * P[m]).sum() / W[m].sum())
        assert row.observed == pytest.approx((W[m] * Y[m]).sum() / W[m].sum())
    with pytest.raises(LastmileError, match="weights"):
        roc_auc(Y, P, -W)


def _random_log(n_cases: int = 60, seed: int = 1) -> lastmile.Log:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_cases):
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=float(rng.uniform(0, 24 * 60)))
        t = start
        for j in range(int(rng.integers(1, 6))):
            rows.append((f"c{i:03d}", f"a{j}", t))
            t = t + pd.Timedelta(hours=float(rng.exponential(48)))
    return lastmile.read_log(pd.DataFrame(rows, columns=["case", "activity", "timestamp"]))


def test_temporal_split_leaves_no_training_event_after_the_split() -> None:
    log = _random_log()
    s = temporal_split(log, 0.8)
    train = s.train.execute()
    test = s.test.execute()
    starts = log.table.execute().groupby("case_id")["timestamp"].min().sort_values()
    assert set(s.train_cases) == set(starts.index[:48])
    assert set(s.test_cases) == set(starts.index[48:])
    assert s.split_time == test["timestamp"].min() == starts.iloc[48]
    assert (train["timestamp"] < s.split_time).all()
    assert set(train["case_id"]) <= set(s.train_cases)
    assert not set(train["case_id"]) & set(test["case_id"])
    every = log.table.execute()
    late = every[every["case_id"].isin(s.train_cases) & (every["timestamp"] >= s.split_time)]
    assert s.train_events_removed == len(late) > 0
    loose = temporal_split(log, 0.8, strict=False)
    assert loose.train.count().execute() == len(train) + len(late)


def test_temporal_split_on_sepsis() -> None:
    path = shared_file("sepsis/sepsis.csv.gz")
    log = lastmile.read_log(path)
    s = temporal_split(log, 0.8)
    assert len(s.train_cases) == 840 and len(s.test_cases) == 210
    tmax = s.train.timestamp.max().execute()
    assert pd.Timestamp(tmax) < s.split_time


def test_auc_interval_is_a_bootstrap_over_whole_cases() -> None:
    # three rows per case; the interval must equal a plain bootstrap that draws cases and
    # scores the drawn cases' rows (repeated as drawn) with scikit-learn
    rng = np.random.default_rng(5)
    cases = np.repeat([f"c{i}" for i in range(40)], 3)
    y = np.repeat(rng.random(40) < 0.4, 3).astype(int)
    p = np.round(y * 0.3 + rng.random(120), 2)  # ties too
    lo, hi = auc_interval(y, p, cases, level=0.8, n_boot=300, seed=11)
    draw = np.random.default_rng(11)
    ids = pd.factorize(cases)[0]
    aucs = []
    for _ in range(300):
        picked = draw.integers(0, 40, 40)
        rows = np.concatenate([np.flatnonzero(ids == k) for k in picked])
        if 0 < y[rows].sum() < len(rows):
            aucs.append(roc_auc_score(y[rows], p[rows]))
    assert np.allclose([lo, hi], np.quantile(aucs, [0.1, 0.9]))
    assert lo < roc_auc(y, p) < hi
    # a case-level bootstrap is wider than one that takes the rows as independent
    lo_rows, hi_rows = auc_interval(y, p, np.arange(120), level=0.8, n_boot=300, seed=11)
    assert hi - lo > hi_rows - lo_rows


def test_auc_interval_edge_cases() -> None:
    assert all(np.isnan(auc_interval([1, 1, 1], [0.2, 0.5, 0.9], ["a", "b", "c"])))
    with pytest.raises(LastmileError, match="3 labels but 2 groups"):
        auc_interval([0, 1, 1], [0.2, 0.5, 0.9], ["a", "b"])


def prefixed_cases(rng: np.random.Generator, n_cases: int):
    """Cases of 1-4 prefixes (prefixes 1..its length, as in the benchmark), 40 % failing:
    the case of every row, its prefix length and its label."""
    length = rng.integers(1, 5, n_cases)
    label = (rng.random(n_cases) < 0.4).astype(int)
    cases = np.repeat([f"c{i}" for i in range(n_cases)], length)
    k = np.concatenate([np.arange(1, m + 1) for m in length])
    return cases, k, np.repeat(label, length)


def sklearn_weighted_auc(y: np.ndarray, s: np.ndarray, k: np.ndarray, rows: np.ndarray):
    """evaluate(...).weighted_auc of the rows (repeated as given), each length by scikit-learn;
    None when no length has both outcomes."""
    per = [(roc_auc_score(y[rows][k[rows] == v], s[rows][k[rows] == v]), (k[rows] == v).sum())
           for v in np.unique(k[rows]) if 0 < y[rows][k[rows] == v].sum() < (k[rows] == v).sum()]
    return np.average([a for a, _ in per], weights=[n for _, n in per]) if per else None


def draw_cases(draw: np.random.Generator, ids: np.ndarray, n_cases: int) -> np.ndarray:
    """The rows of ``n_cases`` cases drawn with replacement (each as often as drawn)."""
    return np.concatenate([np.flatnonzero(ids == c) for c in draw.integers(0, n_cases, n_cases)])


def test_auc_interval_of_the_prefix_weighted_auc() -> None:
    # the interval must equal a plain bootstrap that materialises the drawn cases' rows and
    # computes evaluate(...).weighted_auc on them, each length's AUC by scikit-learn
    rng = np.random.default_rng(8)
    n_cases = 50
    cases, k, y = prefixed_cases(rng, n_cases)
    p = np.round(y * 0.2 * k + rng.random(len(y)), 2)
    lo, hi = auc_interval(y, p, cases, level=0.8, n_boot=200, seed=3, prefix_lengths=k)
    draw = np.random.default_rng(3)
    ids = pd.factorize(cases)[0]
    stats = [sklearn_weighted_auc(y, p, k, draw_cases(draw, ids, n_cases)) for _ in range(200)]
    stats = [x for x in stats if x is not None]
    assert np.allclose([lo, hi], np.quantile(stats, [0.1, 0.9]))
    point = evaluate(y, p, k).weighted_auc
    assert lo < point < hi
    # the pooled AUC's interval is a different statistic (here the lengths differ in rate)
    assert not np.allclose([lo, hi], auc_interval(y, p, cases, level=0.8, n_boot=200, seed=3))
    with pytest.raises(LastmileError, match="prefix lengths"):
        auc_interval(y, p, cases, prefix_lengths=k[:-1])


def test_auc_difference_interval_is_a_paired_bootstrap_over_whole_cases() -> None:
    # two scores of the same rows (cases of 1-4 prefixes): the interval must equal a plain
    # bootstrap that draws cases, materialises their rows and takes the difference of the two
    # prefix-weighted AUCs on the same draw, each length's AUC by scikit-learn
    rng = np.random.default_rng(21)
    n_cases = 60
    cases, k, y = prefixed_cases(rng, n_cases)
    shared = rng.random(len(y))
    a = np.round(0.3 * y + shared, 2)
    b = np.round(0.5 * y + shared + 0.3 * rng.random(len(y)), 2)
    d, lo, hi = auc_difference_interval(y, a, b, cases, level=0.8, n_boot=200, seed=4,
                                        prefix_lengths=k)
    everything = np.arange(len(y))
    assert d == pytest.approx(sklearn_weighted_auc(y, b, k, everything)
                              - sklearn_weighted_auc(y, a, k, everything), abs=1e-12)
    draw = np.random.default_rng(4)
    ids = pd.factorize(cases)[0]
    diffs = []
    for _ in range(200):
        rows = draw_cases(draw, ids, n_cases)
        diffs.append(sklearn_weighted_auc(y, b, k, rows) - sklearn_weighted_auc(y, a, k, rows))
    assert np.allclose([lo, hi], np.quantile(diffs, [0.1, 0.9]))
    assert lo < d < hi
    # paired: narrower than the difference of two independent draws, since the cases drawn
    # move both scores together (they share most of their noise here)
    unpaired = [sklearn_weighted_auc(y, b, k, draw_cases(draw, ids, n_cases))
                - sklearn_weighted_auc(y, a, k, draw_cases(draw, ids, n_cases))
                for _ in range(200)]
    assert hi - lo < 0.7 * np.subtract(*np.quantile(unpaired, [0.9, 0.1]))
    # a score against itself: no difference in any draw
    assert auc_difference_interval(y, a, a, cases, n_boot=50) == (0.0, 0.0, 0.0)
    with pytest.raises(LastmileError, match="labels but"):
        auc_difference_interval(y, a, b[:-1], cases)
