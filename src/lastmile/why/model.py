"""The multivariate check: do the drivers hold up when the others are taken into account?

The significant driver values are 0/1 indicators. The engine groups the cases by the
combination of indicators (a few thousand rows at most for a few dozen drivers) and each
driver's binomial model is fitted on those counts, which gives exactly the case-level fit. A
driver *holds up* when its adjusted coefficient keeps its sign and stays significant
(p < 0.05); otherwise it is *explained away*, and the driver it overlaps most with is named as
the likely confounder (see :func:`lastmile.why._multivariate` for which drivers adjust which).

>>> import numpy as np
>>> X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
>>> float(weighted_corr(X, np.array([10, 10, 10, 10]))[0, 1])
0.0
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ModelResult", "fit_grouped_logit", "independent_columns", "weighted_corr"]


@dataclass
class ModelResult:
    """Adjusted log-odds ratios and their two-sided p-values, one per indicator column."""

    coef: np.ndarray
    pvalue: np.ndarray
    method: str


def weighted_corr(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson correlation of the columns of ``X`` with row weights ``w`` (case counts)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    mean = (w[:, None] * X).sum(0) / w.sum()
    D = X - mean
    cov = (w[:, None] * D).T @ D / w.sum()
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = 0.0
    return np.round(corr, 12)


def independent_columns(X: np.ndarray, w: np.ndarray) -> list[int]:
    """Indices of columns kept, in order, so that ``[1, X_kept]`` has full column rank.

    Works on the small weighted Gram matrix ``[1, X]ᵀ W [1, X]`` (its rank is the design's),
    so the cost does not grow with the number of rows.

    >>> X = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 2]], dtype=float)
    >>> independent_columns(X, np.ones(3))
    [0, 1]
    """
    Xa = np.hstack([np.ones((X.shape[0], 1)), np.asarray(X, dtype=np.float64)])
    G = Xa.T @ (np.asarray(w, dtype=np.float64)[:, None] * Xa)
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    C = G / np.outer(d, d)  # scale-free
    kept: list[int] = []
    rank = 1
    for j in range(X.shape[1]):
        idx = [0, *[k + 1 for k in kept], j + 1]
        r = np.linalg.matrix_rank(C[np.ix_(idx, idx)], tol=1e-9, hermitian=True)
        if r > rank:
            kept.append(j)
            rank = r
    return kept


def fit_grouped_logit(X: np.ndarray, failures: np.ndarray, cases: np.ndarray) -> ModelResult:
    """Logistic regression of failure on the indicator columns of ``X``, on grouped counts.

    ``X`` has one row per distinct combination of indicators, with ``failures`` out of
    ``cases``. Fitted with statsmodels (binomial GLM, Wald p-values); when that fails (perfect
    separation), with a lightly L2-regularised fit whose p-values are NaN.

    >>> X = np.array([[0.0], [1.0]])
    >>> r = fit_grouped_logit(X, np.array([10, 30]), np.array([100, 100]))
    >>> round(float(np.exp(r.coef[0])), 3)  # odds ratio (30/70) / (10/90)
    3.857
    """
    import statsmodels.api as sm

    X = np.asarray(X, dtype=np.float64)
    y = np.column_stack([failures, np.asarray(cases) - np.asarray(failures)]).astype(np.float64)
    design = sm.add_constant(X, has_constant="add")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.GLM(y, design, family=sm.families.Binomial()).fit()
        coef = np.asarray(res.params)[1:]
        pv = np.asarray(res.pvalues)[1:]
        if np.all(np.isfinite(coef)) and np.all(np.abs(coef) < 15):
            return ModelResult(coef=coef, pvalue=pv, method="logistic regression (GLM)")
    except Exception:
        pass
    from sklearn.linear_model import LogisticRegression

    rows = np.vstack([X, X])
    target = np.concatenate([np.ones(len(X)), np.zeros(len(X))])
    weight = np.concatenate([y[:, 0], y[:, 1]])
    keep = weight > 0
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(rows[keep], target[keep], sample_weight=weight[keep])
    return ModelResult(coef=model.coef_[0], pvalue=np.full(X.shape[1], np.nan),
                       method="L2-regularised logistic regression")


def grouped_frame_to_arrays(df: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, ...]:
    """``(X, failures, cases)`` from a grouped frame with 0/1 columns ``names``."""
    X = df[names].fillna(False).astype(np.float64).to_numpy()
    return X, df["_failures"].to_numpy(np.float64), df["_cases"].to_numpy(np.float64)
