"""The statistics behind the drivers: Wilson intervals, Fisher's exact test, Benjamini–Hochberg,
and the two-stage (feature, then value) procedure of Benjamini and Bogomolov.

All functions take and return numpy arrays (one entry per driver value); the counting that
feeds them is done by the engine.

>>> lo, hi = wilson_interval([5], [50])
>>> round(float(lo[0]), 4), round(float(hi[0]), 4)
(0.0435, 0.2136)
>>> bh_qvalues([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
[0.04, 0.053, 0.053, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["Z95", "bh_qvalues", "fisher_pvalues", "simes_pvalue", "two_stage_qvalues",
           "wilson_interval"]

#: The normal quantile of a two-sided 95 % interval.
Z95 = float(stats.norm.ppf(0.975))


def wilson_interval(
    successes: Sequence[float] | np.ndarray, trials: Sequence[float] | np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion, elementwise; ``(nan, nan)`` where ``trials`` is 0.

    >>> lo, hi = wilson_interval([0, 10], [10, 10])
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.7225], [0.2775, 1.0])
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def bh_qvalues(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) in the input order.

    ``q_(i) = min_{j >= i} p_(j) * m / j`` over the sorted p-values, capped at 1; a driver
    passes a false-discovery rate ``Q`` when its q-value is at most ``Q``. NaN stays NaN and
    does not count in ``m``.

    >>> bh_qvalues([0.001, 0.2, float("nan")]).tolist()
    [0.002, 0.2, nan]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.minimum(q, 1.0)
    back = np.empty(m)
    back[order] = q
    out[ok] = back
    return out


def fisher_pvalues(
    failures_in: Sequence[int] | np.ndarray,
    cases_in: Sequence[int] | np.ndarray,
    failures_out: Sequence[int] | np.ndarray,
    cases_out: Sequence[int] | np.ndarray,
) -> np.ndarray:
    """Two-sided Fisher exact test of the failure rate of a group against the rest, elementwise.

    >>> fisher_pvalues([8], [20], [2], [20]).round(4).tolist()
    [0.0648]
    """
    a = np.asarray(failures_in, dtype=np.int64)
    n1 = np.asarray(cases_in, dtype=np.int64)
    c = np.asarray(failures_out, dtype=np.int64)
    n2 = np.asarray(cases_out, dtype=np.int64)
    out = np.empty(a.shape, dtype=np.float64)
    for i in range(a.size):  # one call per driver value: the counts are already aggregated
        table = [[a[i], n1[i] - a[i]], [c[i], n2[i] - c[i]]]
        out[i] = stats.fisher_exact(table, alternative="two-sided").pvalue
    return out


def simes_pvalue(pvalues: Sequence[float] | np.ndarray) -> float:
    """Simes' combined p-value of a family: ``min_k p_(k) * K / k`` (capped at 1).

    It tests "no hypothesis of the family is false", is valid when the p-values are
    independent or positively dependent, and is at most ``α`` exactly when Benjamini–Hochberg
    at level ``α`` rejects at least one hypothesis of the family.

    >>> simes_pvalue([0.01, 0.04, 0.5])
    0.03
    """
    p = np.sort(np.asarray(pvalues, dtype=np.float64))
    if p.size == 0:
        return float("nan")
    return float(min(1.0, np.min(p * p.size / np.arange(1, p.size + 1))))


def two_stage_qvalues(
    pvalues: Sequence[float] | np.ndarray, families: Sequence[object] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values of the Benjamini–Bogomolov procedure with Simes family p-values.

    Stage 1 tests each family (a feature) as a whole: its Simes p-value, then
    Benjamini–Hochberg across the ``m`` families; at level ``Q`` the ``R`` families with a
    family q-value ``≤ Q`` are selected. Stage 2 runs Benjamini–Hochberg inside each selected
    family at the reduced level ``Q · R / m``. This controls the false-discovery rate of the
    families selected and the average false-discovery rate of the values inside them
    (Benjamini & Bogomolov 2014, JRSS-B 76(1)), whatever the number of values of a family.

    The adjusted p-value of a hypothesis is the smallest ``Q`` at which it is rejected, so a
    value passes ``Q`` exactly when its q-value is ``≤ Q``. Each hypothesis is given once (the
    caller merges identical ones).

    Returns
    -------
    (q, family_q)
        ``q`` per hypothesis, in input order; ``family_q`` the stage-1 q-value of the family of
        each hypothesis.

    >>> q, fq = two_stage_qvalues([0.001, 0.02, 0.3, 0.04], ["a", "a", "b", "c"])
    >>> fq.round(3).tolist(), q.round(3).tolist()
    ([0.006, 0.006, 0.3, 0.06], [0.006, 0.06, 0.3, 0.06])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    fam_keys, fam = np.unique(np.asarray(families, dtype=object).astype(str),
                              return_inverse=True)
    m = len(fam_keys)
    if p.size == 0:
        return np.empty(0), np.empty(0)
    fam_p = np.array([simes_pvalue(p[fam == f]) for f in range(m)])
    fam_q = bh_qvalues(fam_p)
    within = np.empty_like(p)
    for f in range(m):
        idx = np.flatnonzero(fam == f)
        within[idx] = bh_qvalues(p[idx])
    # R(α) = #{family q ≤ α} is a step function; on the step [u_k, u_k+1) the hypothesis is
    # rejected once α ≥ its family's q and α · R_k / m ≥ its within-family q-value
    steps = np.unique(fam_q)
    counts = np.searchsorted(np.sort(fam_q), steps, side="right")
    q = np.ones_like(p)
    done = np.zeros(p.shape, dtype=bool)
    for k, (u, r) in enumerate(zip(steps, counts, strict=True)):
        upper = steps[k + 1] if k + 1 < len(steps) else np.inf
        alpha = np.maximum.reduce([np.full(p.shape, u), fam_q[fam], within * m / r])
        ok = ~done & (alpha < upper)
        q[ok] = alpha[ok]
        done |= ok
    return np.minimum(q, 1.0), fam_q[fam]
