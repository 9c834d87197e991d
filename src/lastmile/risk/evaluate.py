"""Judge a risk model the way it will be used: on later cases than it learned from.

- :func:`temporal_split` orders cases by their first event, trains on the first share and
  tests on the rest; with ``strict=True`` (the default) training events at or after the first
  test event are removed, so nothing the model learns comes from the test period.
- :func:`roc_auc`, :func:`brier_score` and :func:`calibration_table` are the measures;
  :func:`evaluate` puts them together, with the AUC for every prefix length and its average
  weighted by the number of prefixes (as in Teinemaa et al., 2019).

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1, 0, 1]); p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
>>> round(roc_auc(y, p), 4), round(brier_score(y, p), 4)
(0.8889, 0.1138)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from lastmile.errors import LastmileError

__all__ = ["Evaluation", "Split", "auc_interval", "brier_score", "calibration_table", "evaluate",
           "roc_auc", "temporal_split"]


@dataclass
class Split:
    """A temporal split: the training and test event tables and where the cut fell."""

    train: ir.Table
    test: ir.Table
    train_cases: list[str]
    test_cases: list[str]
    split_time: pd.Timestamp
    train_events_removed: int

    @property
    def summary(self) -> str:
        """One line: sizes and the split time."""
        return (f"{len(self.train_cases)} training cases, {len(self.test_cases)} test cases, "
                f"split at {self.split_time}; {self.train_events_removed} training events at "
                "or after the split removed")


def temporal_split(log: Any, train_ratio: float = 0.8, *, strict: bool = True) -> Split:
    """Split cases by start time: the first ``train_ratio`` of cases train, the rest test.

    Cases are ordered by their first event (ties by case id). The split time is the first
    event of the test cases; with ``strict`` the training events at or after it are removed
    (Teinemaa et al.'s "temporal split" that discards the overlap).

    >>> import pandas as pd, lastmile
    >>> df = pd.DataFrame({"case": ["a", "a", "b", "b", "c"],
    ...                    "activity": ["x", "y", "x", "y", "x"],
    ...                    "timestamp": ["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-03",
    ...                                  "2024-01-04"]})
    >>> s = temporal_split(lastmile.read_log(df), 0.67)
    >>> s.train_cases, s.test_cases, str(s.split_time), s.train_events_removed
    (['a', 'b'], ['c'], '2024-01-04 00:00:00', 1)
    """
    if not 0 < train_ratio < 1:
        raise LastmileError(f"train_ratio must be between 0 and 1, got {train_ratio}")
    table = getattr(log, "table", log)
    starts = (table.group_by("case_id").agg(start=ibis._.timestamp.min()).execute())
    starts = starts.sort_values(["start", "case_id"], kind="mergesort")
    n_train = int(train_ratio * len(starts))
    if n_train == 0 or n_train == len(starts):
        raise LastmileError(f"too few cases ({len(starts)}) to split {train_ratio:.0%} / rest")
    train_ids = starts["case_id"].iloc[:n_train].astype(str).tolist()
    test_ids = starts["case_id"].iloc[n_train:].astype(str).tolist()
    split_time = pd.Timestamp(starts["start"].iloc[n_train:].min())
    train = table.filter(table.case_id.isin(train_ids))
    test = table.filter(table.case_id.isin(test_ids))
    removed = 0
    if strict:
        late = train.timestamp >= split_time.to_pydatetime()
        removed = int(train.filter(late).count().execute())
        train = train.filter(~late)
    return Split(train=train, test=test, train_cases=train_ids, test_cases=test_ids,
                 split_time=split_time, train_events_removed=removed)


def _check(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(y_score, dtype=float).ravel()
    if y.shape != p.shape:
        raise LastmileError(f"{len(y)} labels but {len(p)} scores")
    if not np.isin(y, (0.0, 1.0)).all():
        raise LastmileError("labels must be 0 or 1")
    return y, p


def _weights(sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float).ravel()
    if w.shape != (n,):
        raise LastmileError(f"{n} labels but {len(w)} weights")
    if not np.isfinite(w).all() or (w < 0).any():
        raise LastmileError("weights must be finite and not negative")
    return w


def roc_auc(y_true: Any, y_score: Any, sample_weight: Any = None) -> float:
    """Area under the ROC curve (Mann–Whitney, ties counted half); NaN with one class only.

    With ``sample_weight``, every positive–negative pair counts with the product of their
    weights (as scikit-learn's ``roc_auc_score``).

    >>> roc_auc([0, 1, 0, 1], [0.2, 0.9, 0.5, 0.5])
    0.875
    >>> roc_auc([0, 1, 0, 1], [0.2, 0.9, 0.5, 0.5], sample_weight=[1, 1, 3, 1])
    0.8125
    """
    y, p = _check(y_true, y_score)
    w = _weights(sample_weight, len(y))
    _, group = np.unique(p, return_inverse=True)  # one group per distinct score
    return _grouped_auc(group, y, np.ones(len(y)) if w is None else w)


def _grouped_auc(group: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """The weighted AUC from each row's rank group of distinct scores (ties count half)."""
    pos = np.bincount(group, weights=w * y)
    neg = np.bincount(group, weights=w * (1 - y))
    if pos.sum() <= 0 or neg.sum() <= 0:
        return float("nan")
    below = np.cumsum(neg) - neg  # negative weight scored lower than each distinct score
    return float((pos * (below + 0.5 * neg)).sum() / (pos.sum() * neg.sum()))


def auc_interval(y_true: Any, y_score: Any, groups: Any, sample_weight: Any = None, *,
                 level: float = 0.9, n_boot: int = 200, seed: int = 0,
                 prefix_lengths: Sequence[int] | None = None) -> tuple[float, float]:
    """A bootstrap interval for :func:`roc_auc` that resamples whole cases (``groups``).

    The rows of one case (several prediction points) are not independent; drawing cases with
    replacement, each drawn case's rows count as many times as it was drawn. Returns the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled AUCs (resamples with
    one class only are skipped); ``(nan, nan)`` when fewer than two resamples have both.

    With ``prefix_lengths`` the statistic is :func:`evaluate`'s ``weighted_auc`` instead: the
    AUC within each prefix length, averaged with weights equal to the resample's number of
    prefixes of that length (lengths with one class only in a resample are left out of it).

    >>> lo, hi = auc_interval([0, 1, 0, 1, 1, 0], [0.1, 0.9, 0.2, 0.8, 0.7, 0.3],
    ...                       ["a", "b", "c", "d", "e", "f"])
    >>> lo == hi == 1.0  # every resample ranks the failures first
    True
    >>> lo, hi = auc_interval([0, 1, 0, 1], [0.1, 0.9, 0.8, 0.7], ["a", "b", "a", "b"],
    ...                       prefix_lengths=[1, 1, 2, 2])
    >>> lo == hi == 0.5  # one length ranks perfectly, the other backwards, always as many
    True
    """
    _, draws = _bootstrap_aucs(y_true, [y_score], groups, sample_weight, n_boot=n_boot,
                               seed=seed, prefix_lengths=prefix_lengths)
    aucs = draws[:, 0]
    if len(aucs) < 2:
        return float("nan"), float("nan")
    lo, hi = np.quantile(aucs, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def auc_difference_interval(y_true: Any, score_a: Any, score_b: Any, groups: Any,
                            sample_weight: Any = None, *, level: float = 0.9,
                            n_boot: int = 1000, seed: int = 0,
                            prefix_lengths: Sequence[int] | None = None,
                            ) -> tuple[float, float, float]:
    """How much better ``score_b`` ranks the same rows than ``score_a``: AUC(b) − AUC(a).

    A paired bootstrap: whole cases (``groups``) are drawn with replacement as in
    :func:`auc_interval`, and both scores are judged on the same draw, so what the two share
    (which cases happen to be in the test) cancels. Returns the difference on the rows as given
    and the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled
    differences; an interval that contains 0 says the rows cannot tell the two apart. With
    ``prefix_lengths`` the AUC is :func:`evaluate`'s ``weighted_auc``.

    >>> y, cases = [0, 1, 0, 1, 0, 1], ["a", "b", "c", "d", "e", "f"]
    >>> d, lo, hi = auc_difference_interval(y, [0.5] * 6, [0.1, 0.9, 0.2, 0.8, 0.3, 0.7], cases)
    >>> d, lo, hi  # b ranks every failure first, a ranks nothing: always 1.0 − 0.5
    (0.5, 0.5, 0.5)
    """
    (auc_a, auc_b), draws = _bootstrap_aucs(y_true, [score_a, score_b], groups, sample_weight,
                                            n_boot=n_boot, seed=seed,
                                            prefix_lengths=prefix_lengths)
    point = auc_b - auc_a  # NaN when either is undefined
    if len(draws) < 2:
        return point, float("nan"), float("nan")
    lo, hi = np.quantile(draws[:, 1] - draws[:, 0], [(1 - level) / 2, (1 + level) / 2])
    return point, float(lo), float(hi)


def _bootstrap_aucs(y_true: Any, scores: list[Any], groups: Any, sample_weight: Any, *,
                    n_boot: int, seed: int, prefix_lengths: Any = None,
                    ) -> tuple[list[float], np.ndarray]:
    """The AUC of every score on the rows as given, and on each of ``n_boot`` case resamples.

    Returns ``(point, draws)``: ``point`` has one AUC per score; ``draws`` one row per
    resample, leaving out resamples where some score's AUC is undefined (one class only).
    """
    checked = [_check(y_true, sc) for sc in scores]
    y, parsed = checked[0][0], [p for _, p in checked]
    w = _weights(sample_weight, len(y))
    w = np.ones(len(y)) if w is None else w
    codes = pd.factorize(np.asarray(groups, dtype=str))[0]
    if len(codes) != len(y):
        raise LastmileError(f"{len(y)} labels but {len(codes)} groups")
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    score_groups = [np.unique(p, return_inverse=True)[1] for p in parsed]
    rng = np.random.default_rng(seed)
    lengths: list[np.ndarray] = []
    if prefix_lengths is not None:
        k = np.asarray(prefix_lengths)
        if len(k) != len(y):
            raise LastmileError(f"{len(y)} labels but {len(k)} prefix lengths")
        lengths = [np.flatnonzero(k == v) for v in np.unique(k)]

    def aucs(times: np.ndarray) -> list[float]:
        """Every score's AUC with each row counted ``times`` times."""
        if not lengths:
            return [_grouped_auc(g, y, w * times) for g in score_groups]
        out = []
        for g in score_groups:
            parts = [(_grouped_auc(g[i], y[i], w[i] * times[i]), times[i].sum())
                     for i in lengths]
            parts = [(a, n) for a, n in parts if not math.isnan(a)]
            out.append(float(np.average([a for a, _ in parts], weights=[n for _, n in parts]))
                       if parts else float("nan"))
        return out

    draws = []
    for _ in range(n_boot if n_groups else 0):
        got = aucs(np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)[codes])
        if not any(math.isnan(a) for a in got):
            draws.append(got)
    return aucs(np.ones(len(y))), np.array(draws, dtype=float).reshape(len(draws), len(scores))


def brier_score(y_true: Any, y_prob: Any, sample_weight: Any = None) -> float:
    """Mean squared difference between the predicted probability and the 0/1 outcome.

    >>> round(brier_score([0, 1], [0.2, 0.6]), 6), round(brier_score([0, 1], [0.2, 0.6], [3, 1]), 6)
    (0.1, 0.07)
    """
    y, p = _check(y_true, y_prob)
    w = _weights(sample_weight, len(y))
    if not len(y) or (w is not None and w.sum() <= 0):
        return float("nan")
    return float(np.average((p - y) ** 2, weights=w))


def calibration_table(y_true: Any, y_prob: Any, bins: int = 10,
                      sample_weight: Any = None) -> pd.DataFrame:
    """Predicted against observed, in ``bins`` equal-width bins of the predicted probability.

    Columns: ``bin``, ``lower``, ``upper``, ``n`` (points in the bin), ``predicted`` (mean),
    ``observed`` (rate); with ``sample_weight`` the mean and the rate are weighted. Empty bins
    are left out.

    >>> calibration_table([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.9], bins=2)
       bin  lower  upper  n  predicted  observed
    0    0    0.0    0.5  2      0.125       0.0
    1    1    0.5    1.0  2      0.850       1.0
    """
    y, p = _check(y_true, y_prob)
    w = _weights(sample_weight, len(y))
    w = np.ones(len(y)) if w is None else w
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any() and w[m].sum() > 0:
            rows.append({"bin": b, "lower": edges[b], "upper": edges[b + 1], "n": int(m.sum()),
                         "predicted": float(np.average(p[m], weights=w[m])),
                         "observed": float(np.average(y[m], weights=w[m]))})
    return pd.DataFrame(rows, columns=["bin", "lower", "upper", "n", "predicted", "observed"])


@dataclass
class Evaluation:
    """Measures of a risk model on test prefixes.

    ``auc`` is over all prefixes pooled; ``weighted_auc`` averages the per-prefix-length AUCs
    weighted by the number of prefixes of that length (lengths with one class only are left
    out); ``by_prefix`` has one row per prefix length.
    """

    auc: float
    weighted_auc: float
    brier: float
    n: int
    positives: int
    by_prefix: pd.DataFrame
    calibration: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"auc": self.auc, "weighted_auc": self.weighted_auc, "brier": self.brier,
                "n": self.n, "positives": self.positives,
                "by_prefix": self.by_prefix.to_dict(orient="records"),
                "calibration": self.calibration.to_dict(orient="records")}

    def to_frame(self) -> pd.DataFrame:
        """The AUC by prefix length."""
        return self.by_prefix.copy()

    @property
    def summary(self) -> str:
        """A few readable lines."""
        return (f"AUC {self.auc:.3f} over {self.n} prefixes ({self.positives} positive); "
                f"weighted mean AUC by prefix length {self.weighted_auc:.3f}; "
                f"Brier {self.brier:.4f}")

    def __repr__(self) -> str:
        return f"Evaluation({self.summary})"


def evaluate(y_true: Any, y_prob: Any, prefix_lengths: Sequence[int] | None = None, *,
             bins: int = 10, sample_weight: Any = None) -> Evaluation:
    """AUC overall and by prefix length, the prefix-weighted AUC, Brier score, calibration.

    With ``sample_weight`` the AUCs, the Brier score and the calibration weigh each point
    (the counts ``n`` and ``positives`` stay counts, and the prefix-weighted AUC still weighs
    each length by its number of points).

    >>> ev = evaluate([0, 1, 0, 1, 0, 1], [0.1, 0.9, 0.2, 0.7, 0.8, 0.3], [1, 1, 1, 2, 2, 2])
    >>> ev.by_prefix
       prefix_length  n  positives  auc
    0              1  3          1  1.0
    1              2  3          2  0.0
    >>> ev.weighted_auc
    0.5
    """
    y, p = _check(y_true, y_prob)
    w = _weights(sample_weight, len(y))
    k = np.ones(len(y), dtype=int) if prefix_lengths is None else np.asarray(prefix_lengths)
    rows = []
    for length in np.unique(k):
        m = k == length
        rows.append({"prefix_length": int(length), "n": int(m.sum()),
                     "positives": int(y[m].sum()),
                     "auc": roc_auc(y[m], p[m], None if w is None else w[m])})
    by = pd.DataFrame(rows, columns=["prefix_length", "n", "positives", "auc"])
    ok = by["auc"].notna()
    weighted = (float(np.average(by.loc[ok, "auc"], weights=by.loc[ok, "n"]))
                if ok.any() else float("nan"))
    return Evaluation(auc=roc_auc(y, p, w), weighted_auc=weighted, brier=brier_score(y, p, w),
                      n=len(y), positives=int(y.sum()), by_prefix=by,
                      calibration=calibration_table(y, p, bins=bins, sample_weight=w))
