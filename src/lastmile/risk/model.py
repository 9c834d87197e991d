"""The :class:`RiskModel`: calibrated gradient boosting on prefix features, with reasons.

Training holds back the latest ``calibration_fraction`` of cases (by case start) as a temporal
slice: the booster is fitted on the earlier cases with early stopping on that slice, the
probability calibration (isotonic or sigmoid) is learned on the slice, and the booster is then
refitted on all cases with the chosen number of trees. ``reasons`` gives, per row, the
features that push the risk up most (LightGBM's SHAP contributions, ``pred_contrib=True``).

``save`` writes a zip holding ``header.json`` (format version, lastmile version, the journey or
label ``definition``, free ``metadata`` such as the training moment, a fingerprint of the
training data, the feature names, the calibration and, optionally, the prefix encoder) and
``booster.txt`` (LightGBM's text model; ``booster_1.txt`` … for a bagged model). Nothing is
pickled. ``load(path, definition=...)`` refuses an artefact trained for another definition
(the metadata is never compared), and one written in an older format.

``fit`` takes ``sample_weight``: several rows of one case can share its weight.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
>>> y = (X["a"] + 0.3 * rng.normal(size=400) > 0).astype(int).to_numpy()
>>> m = RiskModel(n_estimators=50, definition={"label": "a > 0"}).fit(X, y)
>>> p = m.predict_proba(X)[:, 1]
>>> bool(p[y == 1].mean() > p[y == 0].mean())
True
>>> m.reasons(X.iloc[:1], top=1)[0][0]["feature"]
'a'
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# LightGBM's OpenMP threads spin while they wait; on a shared machine that wastes the cores
# other work needs (and slows training tenfold). Passive waiting, unless the user chose.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

import lastmile
from lastmile.errors import LastmileError
from lastmile.risk.encoding import OTHER, PrefixEncoder, PrefixFeatures, feature_slug
from lastmile.risk.evaluate import auc_interval, roc_auc

__all__ = ["FORMAT", "RiskModel", "fingerprint"]

#: Name and version of the artefact format written by :meth:`RiskModel.save`. Version 2: the
#: ``metadata`` field, the :data:`~lastmile.risk.encoding.OTHER` bucket, and the encoder's
#: per-activity resources and level counts.
FORMAT = "lastmile.risk-model/2"
_FORMAT_NAME = FORMAT.rsplit("/", 1)[0]


def fingerprint(case_ids: Sequence[Any]) -> str:
    """A short hash of the training data: the sorted case ids and their row counts.

    >>> fingerprint(["a", "a", "b"]) == fingerprint(["b", "a", "a"])
    True
    >>> fingerprint(["a", "b"]) == fingerprint(["a", "a", "b"])
    False
    """
    counts = pd.Series(np.asarray(case_ids, dtype=str)).value_counts().sort_index()
    text = "\n".join(f"{c}\t{n}" for c, n in counts.items())
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _canonical(definition: Any) -> Any:
    if definition is None:
        return None
    if hasattr(definition, "to_dict"):
        definition = definition.to_dict()
    return json.loads(json.dumps(definition, sort_keys=True, default=str))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class RiskModel:
    """Probability that a case ends badly, from its prefix features.

    Parameters
    ----------
    definition
        The journey (anything with ``to_dict()``) or a plain dict describing the label; stored
        in the artefact and checked on load: what the model *is for*.
    metadata
        Anything else worth keeping with the model (the training moment, counts, settings): a
        JSON-able dict stored in the artefact as it is, never compared on load.
    encoder
        The fitted :class:`~lastmile.risk.encoding.PrefixEncoder`, stored so that the
        artefact can score new logs (:meth:`predict_log`).
    calibration
        ``"isotonic"``, ``"sigmoid"``, ``"auto"`` (isotonic with at least 1,000 rows and 50 of
        each class in the calibration slice, else sigmoid) or ``None``.
    calibration_fraction
        Share of the latest training cases held back for early stopping and calibration.
    n_estimators, learning_rate, num_leaves, min_child_samples, feature_fraction,
    lambda_l2, max_cat_to_onehot
        LightGBM settings (``n_estimators`` is the most trees; early stopping picks fewer).
    refit
        Refit the booster on all training rows after calibration (default ``True``).
    candidates
        Alternative settings (dicts of the LightGBM settings above) to try: each is fitted
        with early stopping on the held-back slice and the one with the best weighted AUC
        there is kept (``chosen_``, with every score in ``tuning_``). Only the training rows
        are used. Default: the settings given.
    n_bags
        With more than one, the refit trains this many boosters on 80 % row samples with
        different seeds and averages their log-odds (less variance, ``n_bags`` times slower).
    select_features
        After the settings are chosen, drop the features that do not help on the held-back
        slice: each feature's values there are shuffled (twice, a fixed seed) and the
        weighted log-loss of the chosen booster compared with the unshuffled one; features
        whose shuffling does not raise it by more than one standard error (over the held-back
        cases) are dropped (``dropped_features_``, with every
        score in ``feature_importance_``) and the booster is fitted again on the rest. Useful
        on small, noisy training sets, where trees otherwise split on attributes that carry
        nothing. Default ``False``.
    random_state, n_jobs
        Seed and threads.
    """

    def __init__(
        self,
        *,
        definition: Any = None,
        metadata: dict[str, Any] | None = None,
        encoder: PrefixEncoder | None = None,
        calibration: str | None = "auto",
        calibration_fraction: float = 0.2,
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        feature_fraction: float = 0.8,
        lambda_l2: float = 0.0,
        max_cat_to_onehot: int = 4,
        refit: bool = True,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        n_bags: int = 1,
        select_features: bool = False,
        random_state: int = 22,
        n_jobs: int = 2,
    ) -> None:
        self.definition = definition
        self.metadata = metadata
        self.encoder = encoder
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.lambda_l2 = lambda_l2
        self.max_cat_to_onehot = max_cat_to_onehot
        self.refit = refit
        self.candidates = candidates
        self.n_bags = n_bags
        self.select_features = select_features
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ---------------------------------------------------------------- helpers
    _TUNABLE = ("learning_rate", "num_leaves", "min_child_samples", "feature_fraction",
                "lambda_l2", "max_cat_to_onehot")

    def _params(self) -> dict[str, Any]:
        params = {"objective": "binary", "learning_rate": self.learning_rate,
                  "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                  "feature_fraction": self.feature_fraction, "lambda_l2": self.lambda_l2,
                  "max_cat_to_onehot": self.max_cat_to_onehot, "seed": self.random_state,
                  "num_threads": self.n_jobs, "verbosity": -1, "deterministic": True,
                  "force_col_wise": True}
        params.update(getattr(self, "chosen_", None) or {})
        return params

    @staticmethod
    def _frame(X: PrefixFeatures | pd.DataFrame) -> pd.DataFrame:
        return X.X if isinstance(X, PrefixFeatures) else X

    def _align(self, X: PrefixFeatures | pd.DataFrame) -> pd.DataFrame:
        frame = self._frame(X)
        missing = [c for c in self.feature_names_ if c not in frame.columns]
        if missing:
            raise LastmileError(f"the features {missing[:5]} are missing",
                                hint="encode the log with the encoder the model was trained "
                                     "with")
        frame = frame[self.feature_names_]
        if self.categories_:
            frame = frame.copy()
            for col, cats in self.categories_.items():
                vals = frame[col].astype("object")
                vals = vals.where(vals.isna() | vals.isin(cats), OTHER if OTHER in cats
                                  else np.nan)
                frame[col] = pd.Categorical(vals, categories=cats)
        return frame

    # -------------------------------------------------------------------- fit
    def fit(self, X: PrefixFeatures | pd.DataFrame, y: Any, *,
            sample_weight: Any = None,
            groups: Sequence[Any] | None = None, order: Sequence[Any] | None = None
            ) -> RiskModel:
        """Fit on feature rows ``X`` with 0/1 labels ``y`` (1 = the bad outcome).

        With :class:`PrefixFeatures`, rows are grouped by case and the calibration slice is
        the latest-starting cases; with a DataFrame, pass ``groups`` (case ids) and ``order``
        (e.g. case start times), or the last rows are used. ``sample_weight`` (one
        non-negative number per row; default all 1) weighs the rows in the booster, its early
        stopping and the calibration.

        >>> import numpy as np, pandas as pd
        >>> X = pd.DataFrame({"a": np.tile([0.0, 1.0], 100)})
        >>> y = np.tile([0, 1], 100)
        >>> w = np.where(X["a"] == 1.0, 1.0, 0.0) + 1e-3  # the rows with a = 0 barely count
        >>> m = RiskModel(n_estimators=20, calibration=None).fit(X, y, sample_weight=w)
        >>> float(m.predict_risk(X.iloc[:2])[1]) > 0.9
        True
        """
        frame = self._frame(X)
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(frame):
            raise LastmileError(f"{len(frame)} rows but {len(y)} labels")
        if sample_weight is None:
            w = np.ones(len(y))
        else:
            w = np.asarray(sample_weight, dtype=float).ravel()
            if len(w) != len(y) or not np.all(np.isfinite(w)) or (w < 0).any() \
                    or w.sum() <= 0:
                raise LastmileError(
                    f"sample_weight must be {len(y)} finite non-negative numbers, not all 0")
        if len(np.unique(y)) < 2:
            raise LastmileError("the training labels have one class only",
                                hint="a risk model needs both finished and failed cases")
        self.descriptions_: dict[str, str] = {}
        if isinstance(X, PrefixFeatures):
            groups = X.case_ids
            order = X.meta["case_start"].to_numpy()
            self.descriptions_ = dict(X.descriptions)
        if groups is None:
            groups = np.arange(len(frame))
        if order is None:
            order = np.arange(len(frame))
        self.feature_names_ = list(frame.columns)
        self.categories_ = {c: list(frame[c].cat.categories) for c in frame.columns
                            if isinstance(frame[c].dtype, pd.CategoricalDtype)}
        frame = self._align(frame)
        cal = self._calibration_slice(groups, order)
        # each side needs both classes with some weight
        usable = all(w[part & (y == c)].sum() > 0 for part in (cal, ~cal) for c in (0, 1))
        self.chosen_: dict[str, Any] = {}
        self.tuning_: list[dict[str, Any]] = []
        self.feature_importance_: dict[str, float] = {}
        self.dropped_features_: list[str] = []
        if usable:
            dtrain = lgb.Dataset(frame[~cal], y[~cal], weight=w[~cal], free_raw_data=False)
            dval = lgb.Dataset(frame[cal], y[cal], weight=w[cal], reference=dtrain,
                               free_raw_data=False)
            tried = []
            for cand in (self.candidates or [{}]):
                unknown = [k for k in cand if k not in self._TUNABLE]
                if unknown:
                    raise LastmileError(f"candidates: unknown settings {unknown}",
                                        hint=f"use {', '.join(self._TUNABLE)}")
                b, trees = self._early_stopped({**self._params(), **cand}, dtrain, dval)
                score = roc_auc(y[cal], b.predict(frame[cal], num_iteration=trees), w[cal])
                self.tuning_.append({**cand, "trees": trees, "val_auc": round(score, 4)})
                tried.append((score, dict(cand), b, trees))
            best = max(range(len(tried)), key=lambda i: (tried[i][0], -i))
            _, self.chosen_, booster, self.n_trees_ = tried[best]
            params = self._params()
            if self.select_features:
                keep = self._select(booster, frame[cal], y[cal], w[cal],
                                    np.asarray(groups, dtype=str)[cal])
                if len(keep) < len(self.feature_names_):
                    self.feature_names_ = keep
                    self.categories_ = {c: v for c, v in self.categories_.items()
                                        if c in keep}
                    frame = frame[keep]
                    dtrain = lgb.Dataset(frame[~cal], y[~cal], weight=w[~cal],
                                         free_raw_data=False)
                    dval = lgb.Dataset(frame[cal], y[cal], weight=w[cal], reference=dtrain,
                                       free_raw_data=False)
                    booster, self.n_trees_ = self._early_stopped(params, dtrain, dval)
            raw_cal = booster.predict(frame[cal], num_iteration=self.n_trees_)
            self.calibrator_ = self._fit_calibrator(raw_cal, y[cal], w[cal])
            self.heldback_ = self._heldback(y[cal], raw_cal, w[cal], np.asarray(groups)[cal])
        else:
            self.heldback_ = self._heldback(y[cal], None, w[cal], np.asarray(groups)[cal])
            self.n_trees_ = self.n_estimators
            self.calibrator_ = {"method": None}
            booster = None
            params = self._params()
        if booster is None or self.refit:
            data = lgb.Dataset(frame, y, weight=w, free_raw_data=False)
            if self.n_bags > 1:
                boosters = [
                    lgb.train({**params, "seed": self.random_state + i,
                               "bagging_fraction": 0.8, "bagging_freq": 1},
                              data, num_boost_round=self.n_trees_)
                    for i in range(self.n_bags)]
            else:
                boosters = [lgb.train(params, data, num_boost_round=self.n_trees_)]
        else:
            boosters = [booster]
        self.boosters_ = boosters
        self.classes_ = np.array([0, 1])
        self.fingerprint_ = fingerprint(groups)
        self.n_train_rows_ = len(frame)
        self.n_train_cases_ = int(pd.Series(np.asarray(groups, dtype=str)).nunique())
        self.positive_rate_ = float(np.average(y, weights=w))
        return self

    def _heldback(self, y: np.ndarray, score: np.ndarray | None, w: np.ndarray,
                  groups: np.ndarray) -> dict[str, Any]:
        """How well the model ranks its held-back cases: AUC and a 90 % case-bootstrap interval.

        The slice also chose the settings and the number of trees, so the AUC leans
        optimistic; an interval that still reaches 0.5 means the model has not shown that it
        ranks better than chance. ``score`` is ``None`` when the slice could not be used.

        >>> m = RiskModel()
        >>> h = m._heldback(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]),
        ...                 np.ones(4), np.array(list("abcd")))
        >>> h["cases"], h["failed_cases"], h["auc"], h["better_than_chance"]
        (4, 2, 1.0, True)
        """
        g = pd.Series(y, index=np.asarray(groups, dtype=str)).groupby(level=0).max()
        out: dict[str, Any] = {"cases": len(g), "failed_cases": int(g.sum()),
                               "auc": float("nan"), "auc_low": float("nan"),
                               "auc_high": float("nan"), "better_than_chance": False}
        if score is not None and len(g):
            out["auc"] = roc_auc(y, score, w)
            out["auc_low"], out["auc_high"] = auc_interval(y, score, groups, w,
                                                           seed=self.random_state)
            out["better_than_chance"] = bool(out["auc_low"] > 0.5)
        return out

    def _calibration_slice(self, groups: Any, order: Any) -> np.ndarray:
        """Rows of the latest-starting cases by ``order`` (``calibration_fraction`` of them).

        >>> RiskModel(calibration_fraction=0.5)._calibration_slice(
        ...     ["a", "a", "b", "c"], [1, 1, 3, 2]).tolist()
        [False, False, True, True]
        """
        g = pd.DataFrame({"g": np.asarray(groups, dtype=str), "o": np.asarray(order)})
        first = g.groupby("g")["o"].min().sort_values(kind="mergesort")
        n_cal = round(len(first) * self.calibration_fraction)
        cal_groups = set(first.index[len(first) - n_cal:]) if n_cal > 0 else set()
        return g["g"].isin(cal_groups).to_numpy()

    def _early_stopped(self, params: dict[str, Any], dtrain: Any, dval: Any) -> tuple[Any, int]:
        """A booster stopped early on ``dval``, and its number of trees (at least 10)."""
        b = lgb.train(params, dtrain, num_boost_round=self.n_estimators, valid_sets=[dval],
                      callbacks=[lgb.early_stopping(50, verbose=False)])
        return b, max(int(b.best_iteration or self.n_estimators), 10)

    def _select(self, booster: Any, frame: pd.DataFrame, y: np.ndarray, w: np.ndarray,
                groups: np.ndarray, rounds: int = 2, z: float = 1.0) -> list[str]:
        """The features whose shuffling on the held-back rows clearly raises the log-loss.

        The rise of the weighted log-loss is measured row by row and summed per case (the
        rows of a case are not independent); a feature is kept when the mean rise exceeds
        ``z`` standard errors over the cases. Fills ``feature_importance_`` (the mean rise)
        and ``dropped_features_``. At least one feature is kept.
        """
        def row_loss(data: pd.DataFrame) -> np.ndarray:
            p = np.clip(booster.predict(data, num_iteration=self.n_trees_), 1e-9, 1 - 1e-9)
            return -(y * np.log(p) + (1 - y) * np.log(1 - p))

        base = row_loss(frame)
        codes, _ = pd.factorize(np.asarray(groups, dtype=str))
        n_groups = int(codes.max()) + 1 if len(codes) else 0
        total = float(w.sum())
        rng = np.random.default_rng(self.random_state)
        rise: dict[str, float] = {}
        keep = []
        shuffled = frame.copy()  # one column at a time is shuffled, then put back
        for col in frame.columns:
            diff = np.zeros(len(frame))
            for _ in range(rounds):
                vals = frame[col].to_numpy()[rng.permutation(len(frame))]
                shuffled[col] = (pd.Categorical(vals, categories=frame[col].cat.categories)
                                 if isinstance(frame[col].dtype, pd.CategoricalDtype)
                                 else vals)
                diff += (row_loss(shuffled) - base) / rounds
            shuffled[col] = frame[col]
            # per case: its share of the weighted mean rise
            per_case = np.bincount(codes, weights=w * diff, minlength=n_groups) / total
            mean = float(per_case.sum())
            se = float(np.sqrt(n_groups * per_case.var())) if n_groups > 1 else 0.0
            rise[col] = mean
            if mean > z * se and mean > 0:
                keep.append(col)
        self.feature_importance_ = dict(sorted(rise.items(), key=lambda kv: -kv[1]))
        if not keep:
            keep = [max(rise, key=lambda c: rise[c])]
        self.dropped_features_ = [c for c in frame.columns if c not in keep]
        return keep

    def _fit_calibrator(self, raw: np.ndarray, y: np.ndarray,
                        w: np.ndarray | None = None) -> dict[str, Any]:
        method = self.calibration
        if method == "auto":
            enough = len(y) >= 1000 and min(y.sum(), len(y) - y.sum()) >= 50
            method = "isotonic" if enough else "sigmoid"
        if method is None:
            return {"method": None}
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
                raw, y, sample_weight=w)
            return {"method": "isotonic", "x": iso.X_thresholds_.tolist(),
                    "y": iso.y_thresholds_.tolist()}
        if method == "sigmoid":
            lr = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y, sample_weight=w)
            return {"method": "sigmoid", "a": float(lr.coef_[0, 0]),
                    "b": float(lr.intercept_[0])}
        raise LastmileError(f"unknown calibration {method!r}",
                            hint="use 'isotonic', 'sigmoid', 'auto' or None")

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        cal = self.calibrator_
        if cal["method"] == "isotonic":
            return np.interp(raw, np.asarray(cal["x"]), np.asarray(cal["y"]))
        if cal["method"] == "sigmoid":
            return 1.0 / (1.0 + np.exp(-(cal["a"] * _logit(raw) + cal["b"])))
        return raw

    # ---------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "boosters_"):
            raise LastmileError("the risk model is not fitted", hint="call .fit(X, y) first")

    def decision_function(self, X: PrefixFeatures | pd.DataFrame) -> np.ndarray:
        """The uncalibrated booster probability (the ranking score)."""
        self._check_fitted()
        frame = self._align(X)
        margin = np.mean([b.predict(frame, raw_score=True) for b in self.boosters_], axis=0)
        return 1.0 / (1.0 + np.exp(-np.asarray(margin)))

    def predict_proba(self, X: PrefixFeatures | pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, 2)``: column 1 is the risk of failure."""
        p = self._calibrate(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict_risk(self, X: PrefixFeatures | pd.DataFrame) -> np.ndarray:
        """The calibrated risk, shape ``(n,)``."""
        return self.predict_proba(X)[:, 1]

    def predict_log(self, log: Any, *, as_of: Any = None, cases: Any = None) -> pd.DataFrame:
        """Encode ``log`` with the stored encoder (as of ``as_of``) and score each case.

        Returns a frame indexed like the features with the column ``risk``.
        """
        if self.encoder is None:
            raise LastmileError("this model has no encoder", hint="pass encoder= to RiskModel")
        feats = self.encoder.transform(log, as_of=as_of, cases=cases)
        return pd.DataFrame({"risk": self.predict_risk(feats)}, index=feats.X.index)

    def reasons(self, X: PrefixFeatures | pd.DataFrame, top: int = 3) -> list[list[dict]]:
        """Per row, the ``top`` features that push the risk up most, with their values.

        Each reason is ``{"feature", "description", "value", "contribution"}`` where the
        contribution is in log-odds (SHAP, from LightGBM's ``pred_contrib``); only positive
        contributions are reasons.
        """
        self._check_fitted()
        frame = self._align(X)
        contrib = np.mean([np.asarray(b.predict(frame, pred_contrib=True))[:, :-1]
                           for b in self.boosters_], axis=0)
        desc = X.descriptions if isinstance(X, PrefixFeatures) else self.descriptions_
        # yes/no attributes are encoded as 0/1: their reasons say True or False
        kinds = getattr(self.encoder, "attr_kinds_", None) or {}
        flags = {f"last_{feature_slug(a)}" for a, (_, dt) in kinds.items() if dt == "bool"}
        out: list[list[dict]] = []
        for i in range(len(frame)):
            order = np.argsort(-contrib[i])[:top]
            row = []
            for j in order:
                if contrib[i, j] <= 0:
                    break
                name = self.feature_names_[j]
                value = frame.iat[i, j]
                if isinstance(value, np.generic):
                    value = value.item()
                if isinstance(value, float) and np.isnan(value):
                    value = None
                if value == OTHER:
                    value = "another (rare or new) value"
                if name in flags and value is not None:
                    value = bool(value)
                row.append({"feature": name, "description": desc.get(name, name),
                            "value": value, "contribution": float(contrib[i, j])})
            out.append(row)
        return out

    # -------------------------------------------------------------- artefact
    def header(self) -> dict[str, Any]:
        """What ``save`` writes to ``header.json``."""
        self._check_fitted()
        return {
            "format": FORMAT, "lastmile_version": lastmile.__version__,
            "definition": _canonical(self.definition),
            "metadata": _canonical(self.metadata), "fingerprint": self.fingerprint_,
            "n_train_rows": self.n_train_rows_, "n_train_cases": self.n_train_cases_,
            "positive_rate": self.positive_rate_, "feature_names": self.feature_names_,
            "categories": self.categories_, "descriptions": self.descriptions_,
            "calibration": self.calibrator_,
            "n_trees": self.n_trees_, "n_bags": len(self.boosters_), "params": self._params(),
            "tuning": getattr(self, "tuning_", []),
            "heldback": getattr(self, "heldback_", None),
            "encoder": self.encoder.to_dict() if self.encoder is not None else None,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model to ``path`` (a zip: ``header.json`` and ``booster.txt``)."""
        path = Path(path)
        header = self.header()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("header.json", json.dumps(header, indent=1, default=str))
            for i, b in enumerate(self.boosters_):
                zf.writestr("booster.txt" if i == 0 else f"booster_{i}.txt",
                            b.model_to_string())
        return path

    @classmethod
    def load(cls, path: str | Path, *, definition: Any = None) -> RiskModel:
        """Read a model written by :meth:`save`.

        With ``definition`` (a journey or label dict), refuse an artefact that was trained
        for a different one.
        """
        path = Path(path)
        try:
            with zipfile.ZipFile(path) as zf:
                header = json.loads(zf.read("header.json"))
                texts = [zf.read("booster.txt").decode()]
                texts += [zf.read(f"booster_{i}.txt").decode()
                          for i in range(1, int(header.get("n_bags", 1)))]
        except FileNotFoundError:
            raise LastmileError(f"no such model file: {path}") from None
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
            raise LastmileError(f"{path} is not a lastmile risk model ({exc})",
                                hint="train one with `lastmile train`") from None
        found = header.get("format")
        if found != FORMAT:
            if isinstance(found, str) and found.startswith(_FORMAT_NAME + "/"):
                raise LastmileError(
                    f"{path} was written by another version of lastmile (format {found!r}; "
                    f"this lastmile {lastmile.__version__} reads {FORMAT!r} only)",
                    hint="retrain the model with this lastmile (`lastmile train`)")
            raise LastmileError(f"{path} has format {found!r}, this lastmile "
                                f"reads {FORMAT!r}", hint="retrain the model")
        wanted = _canonical(definition)
        if wanted is not None and wanted != header.get("definition"):
            have = header.get("definition") or {}
            raise LastmileError(
                f"{path} was trained for another journey or label "
                f"({_name(have)!r}, not {_name(wanted)!r})",
                hint="train a model for this journey, or load the matching one")
        model = cls(definition=header.get("definition"), metadata=header.get("metadata"))
        params = header.get("params", {})
        for key in cls._TUNABLE:
            if key in params:
                setattr(model, key, params[key])
        model.boosters_ = [lgb.Booster(model_str=t) for t in texts]
        model.n_bags = len(texts)
        model.feature_names_ = header["feature_names"]
        model.categories_ = header["categories"]
        model.descriptions_ = header.get("descriptions", {})
        model.calibrator_ = header["calibration"]
        model.n_trees_ = header["n_trees"]
        model.fingerprint_ = header["fingerprint"]
        model.n_train_rows_ = header["n_train_rows"]
        model.n_train_cases_ = header["n_train_cases"]
        model.positive_rate_ = header["positive_rate"]
        model.heldback_ = header.get("heldback")  # None: written before it was recorded
        model.classes_ = np.array([0, 1])
        if header.get("encoder"):
            model.encoder = PrefixEncoder.from_dict(header["encoder"])
        model.header_ = header
        return model

    def __repr__(self) -> str:
        state = (f"fitted on {self.n_train_cases_} cases, {self.n_trees_} trees"
                 if hasattr(self, "boosters_") else "not fitted")
        return f"RiskModel({state})"


def _name(definition: Any) -> str:
    """A short readable form of a journey or label definition, for error messages."""
    if isinstance(definition, Mapping):
        parts = [str(definition[k]) for k in ("name", "label", "finish") if definition.get(k)]
        if parts:
            return " / ".join(p if len(p) <= 60 else p[:57] + "..." for p in parts)
    return json.dumps(definition, sort_keys=True)[:60]
