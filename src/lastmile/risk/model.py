"""The :class:`RiskModel`: calibrated gradient boosting on prefix features, with reasons.

Training holds back the latest ``calibration_fraction`` of cases (by case start) as a temporal
slice: the booster is fitted on the earlier cases with early stopping on that slice, the
probability calibration (isotonic or sigmoid) is learned on the slice, and the booster is then
refitted on all cases with the chosen number of trees. ``reasons`` gives, per row, the
features that push the risk up most (LightGBM's SHAP contributions, ``pred_contrib=True``).

``save`` writes a zip holding ``header.json`` (format version, lastmile version, the journey or
label definition, a fingerprint of the training data, the feature names, the calibration and,
optionally, the prefix encoder) and ``booster.txt`` (LightGBM's text model; ``booster_1.txt``
… for a bagged model). Nothing is
pickled. ``load(path, definition=...)`` refuses an artefact trained for another definition.

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
from lastmile.risk.encoding import PrefixEncoder, PrefixFeatures

__all__ = ["FORMAT", "RiskModel", "fingerprint"]

#: Name and version of the artefact format written by :meth:`RiskModel.save`.
FORMAT = "lastmile.risk-model/1"


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
        in the artefact and checked on load.
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
    n_bags
        With more than one, the refit trains this many boosters on 80 % row samples with
        different seeds and averages their log-odds (less variance, ``n_bags`` times slower).
    random_state, n_jobs
        Seed and threads.
    """

    def __init__(
        self,
        *,
        definition: Any = None,
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
        n_bags: int = 1,
        random_state: int = 22,
        n_jobs: int = 2,
    ) -> None:
        self.definition = definition
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
        self.n_bags = n_bags
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ---------------------------------------------------------------- helpers
    def _params(self) -> dict[str, Any]:
        return {"objective": "binary", "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
                "feature_fraction": self.feature_fraction, "lambda_l2": self.lambda_l2,
                "max_cat_to_onehot": self.max_cat_to_onehot, "seed": self.random_state,
                "num_threads": self.n_jobs, "verbosity": -1, "deterministic": True}

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
                vals = vals.where(vals.isna() | vals.isin(cats), "other" if "other" in cats
                                  else np.nan)
                frame[col] = pd.Categorical(vals, categories=cats)
        return frame

    # -------------------------------------------------------------------- fit
    def fit(self, X: PrefixFeatures | pd.DataFrame, y: Any, *,
            groups: Sequence[Any] | None = None, order: Sequence[Any] | None = None
            ) -> RiskModel:
        """Fit on feature rows ``X`` with 0/1 labels ``y`` (1 = the bad outcome).

        With :class:`PrefixFeatures`, rows are grouped by case and the calibration slice is
        the latest-starting cases; with a DataFrame, pass ``groups`` (case ids) and ``order``
        (e.g. case start times), or the last rows are used.
        """
        frame = self._frame(X)
        y = np.asarray(y, dtype=float).ravel()
        if len(y) != len(frame):
            raise LastmileError(f"{len(frame)} rows but {len(y)} labels")
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
        # the temporal calibration slice: the latest-starting cases
        g = pd.DataFrame({"g": np.asarray(groups, dtype=str), "o": np.asarray(order)})
        first = g.groupby("g")["o"].min().sort_values(kind="mergesort")
        n_cal = round(len(first) * self.calibration_fraction)
        cal_groups = set(first.index[len(first) - n_cal:]) if n_cal > 0 else set()
        cal = g["g"].isin(cal_groups).to_numpy()
        usable = (cal.any() and (~cal).any() and len(np.unique(y[cal])) == 2
                  and len(np.unique(y[~cal])) == 2)
        params = self._params()
        if usable:
            dtrain = lgb.Dataset(frame[~cal], y[~cal], free_raw_data=False)
            dval = lgb.Dataset(frame[cal], y[cal], reference=dtrain, free_raw_data=False)
            booster = lgb.train(params, dtrain, num_boost_round=self.n_estimators,
                                valid_sets=[dval],
                                callbacks=[lgb.early_stopping(50, verbose=False)])
            self.n_trees_ = max(int(booster.best_iteration or self.n_estimators), 10)
            raw_cal = booster.predict(frame[cal], num_iteration=self.n_trees_)
            self.calibrator_ = self._fit_calibrator(raw_cal, y[cal])
        else:
            self.n_trees_ = self.n_estimators
            self.calibrator_ = {"method": None}
            booster = None
        if booster is None or self.refit:
            data = lgb.Dataset(frame, y, free_raw_data=False)
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
        self.positive_rate_ = float(y.mean())
        return self

    def _fit_calibrator(self, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        method = self.calibration
        if method == "auto":
            enough = len(y) >= 1000 and min(y.sum(), len(y) - y.sum()) >= 50
            method = "isotonic" if enough else "sigmoid"
        if method is None:
            return {"method": None}
        if method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
            return {"method": "isotonic", "x": iso.X_thresholds_.tolist(),
                    "y": iso.y_thresholds_.tolist()}
        if method == "sigmoid":
            lr = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)
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
            "definition": _canonical(self.definition), "fingerprint": self.fingerprint_,
            "n_train_rows": self.n_train_rows_, "n_train_cases": self.n_train_cases_,
            "positive_rate": self.positive_rate_, "feature_names": self.feature_names_,
            "categories": self.categories_, "descriptions": self.descriptions_,
            "calibration": self.calibrator_,
            "n_trees": self.n_trees_, "n_bags": len(self.boosters_), "params": self._params(),
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
        if header.get("format") != FORMAT:
            raise LastmileError(f"{path} has format {header.get('format')!r}, this lastmile "
                                f"reads {FORMAT!r}", hint="retrain the model")
        wanted = _canonical(definition)
        if wanted is not None and wanted != header.get("definition"):
            have = header.get("definition") or {}
            raise LastmileError(
                f"{path} was trained for another journey or label "
                f"({_name(have)!r}, not {_name(wanted)!r})",
                hint="train a model for this journey, or load the matching one")
        model = cls(definition=header.get("definition"))
        params = header.get("params", {})
        for key in ("learning_rate", "num_leaves", "min_child_samples", "feature_fraction",
                    "lambda_l2", "max_cat_to_onehot"):
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
