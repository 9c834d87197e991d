#!/usr/bin/env python3
"""Outcome-prediction parity with Teinemaa, Dumas, La Rosa & Maggi (ACM TKDD 2019).

Follows the protocol of their benchmark (repository irhete/predictive-monitoring-benchmark):

- the label definitions and case filtering of their preprocessing scripts (see TASKS below);
- a temporal 80/20 split by case start; training events at or after the first test event are
  removed (their ``split_data_strict``);
- prefixes of 1 .. min(40, ceil(90th percentile of the length of positive cases));
- AUC per prefix length on the test prefixes, averaged with weights equal to the number of
  prefixes of each length.

Our side: lastmile's PrefixEncoder (aggregation + last state + case attributes + timing) and
RiskModel (LightGBM, calibrated), with a light search scored on 3 stratified folds of the
training cases, as their parameter search is (``--folds 1``: one temporal validation slice;
never the test cases). The single-model candidates are the feature groups of
ENCODINGS × the LightGBM settings of GRID, optionally (``--offset choose``) each also with a
per-prefix-length offset (OffsetModel); the optional ensemble candidates (``--ensembles``,
ensemble_candidates) average the calibrated log-odds of the best model of each feature group,
or of the TOP best models. Whichever candidate has the best prefix-weighted validation AUC
(the mean over the folds) is refitted on all training prefixes (each member with its own
features and settings) and scored once on the test cases.

Run from the repository root:

    .venv/bin/python bench/outcome/run.py --all
    .venv/bin/python bench/outcome/run.py --task sepsis_2
    .venv/bin/python bench/outcome/run.py --config my_task.yaml
    .venv/bin/python bench/outcome/run.py --log my.csv --name mytask \\
        --label-activity "Contract signed" --cut --require-any "Contract signed,Lost"

A task (built in, or a YAML file with a list of them under ``tasks:``) has the keys:
``name``, ``log``, ``published`` (optional AUC to compare with), ``lifecycle`` (``auto`` or
``all``), ``activity_with_lifecycle`` (attribute whose value is appended to the activity as
``ACTIVITY-VALUE``, upper-cased), ``require_any`` (keep cases that contain one of these
activities), ``label`` (one of ``{kind: activity, activity: X, cut: true}`` — positive when
the case contains X, cut before the first X; ``{kind: last_of, prefix: "O_", target: X,
among: [...]}`` — positive when the last activity starting with ``prefix`` is X, cases whose
last one is not in ``among`` are left out; ``{kind: attribute_never_true, attribute: A}`` —
positive when no event has A true), ``outcome_activities`` (declared to the encoder, which cuts
before them and refuses them as features), ``outcome_attributes`` (attributes that carry the
label, refused as features), ``attributes`` (the attributes used as features,
default all), ``exclude_attributes``, ``fill_forward`` (attributes whose missing values take
the case's last known value, in event order, before anything else: their preprocessing does
this to the resource and every attribute).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ibis
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

import lastmile  # noqa: E402
from lastmile.errors import LastmileError  # noqa: E402
from lastmile.risk import PrefixEncoder, RiskModel, evaluate, temporal_split  # noqa: E402
from lastmile.risk.evaluate import auc_interval  # noqa: E402

DATA = ROOT.parent / "shared" / "data"

SEPSIS_CASE = ["diagnose", "diagnosticartastrup", "diagnosticblood", "diagnosticecg",
               "diagnosticic", "diagnosticlacticacid", "diagnosticliquor", "diagnosticother",
               "diagnosticsputum", "diagnosticurinaryculture", "diagnosticurinarysediment",
               "diagnosticxthorax", "disfuncorg", "hypotensie", "hypoxie",
               "infectionsuspected", "infusion", "oligurie", "sirscritheartrate",
               "sirscritleucos", "sirscrittachypnea", "sirscrittemperature",
               "sirscriteria2ormore", "age", "crp", "lacticacid", "leucocytes"]
HOSPITAL = ["actorange", "actred", "blocked", "casetype", "diagnosis", "flagc", "flagd",
            "msgcode", "msgtype", "state", "version", "speciality", "msgcount"]
BPIC12_OUTCOMES = ["O_CANCELLED-COMPLETE", "O_ACCEPTED-COMPLETE", "O_DECLINED-COMPLETE"]
RELEASES = ["Release A", "Release B", "Release C", "Release D", "Release E"]


def _bpic2012(target: str, published: float) -> dict[str, Any]:
    """A BPIC 2012 task: the last offer outcome (``O_…``) is ``target``."""
    return {
        "log": str(DATA / "bpic2012" / "bpic2012.xes.gz"), "published": published,
        "lifecycle": "all", "activity_with_lifecycle": "lifecycle:transition",
        "label": {"kind": "last_of", "prefix": "O_", "target": target,
                  "among": BPIC12_OUTCOMES},
        # their preprocessing forward-fills the resource (and every attribute) within a case
        "fill_forward": ["resource"],
        "attributes": ["AMOUNT_REQ"]}


#: The seven tasks of issue 6, as defined in the benchmark's preprocessing scripts.
TASKS: dict[str, dict[str, Any]] = {
    "bpic2012_accepted": _bpic2012("O_ACCEPTED-COMPLETE", published=0.678),
    "bpic2012_declined": _bpic2012("O_DECLINED-COMPLETE", published=0.566),
    "bpic2012_cancelled": _bpic2012("O_CANCELLED-COMPLETE", published=0.709),
    "sepsis_2": {
        "log": str(DATA / "sepsis" / "sepsis.csv.gz"), "published": 0.869,
        "require_any": RELEASES,
        "label": {"kind": "activity", "activity": "Admission IC", "cut": True},
        "outcome_activities": ["Admission IC"], "attributes": SEPSIS_CASE,
        "fill_forward": ["resource"]},
    "sepsis_3": {
        "log": str(DATA / "sepsis" / "sepsis.csv.gz"), "published": 0.714,
        "require_any": RELEASES,
        "label": {"kind": "activity", "activity": "Release A", "cut": True},
        "outcome_activities": ["Release A"], "attributes": SEPSIS_CASE,
        "fill_forward": ["resource"]},
    "hospital_billing_2": {
        "log": str(DATA / "hospital_billing" / "hospital_billing.csv.gz"), "published": 0.897,
        "require_any": ["BILLED", "DELETE", "FIN"],
        "label": {"kind": "attribute_never_true", "attribute": "isclosed"},
        "outcome_attributes": ["isclosed"], "attributes": HOSPITAL,
        "fill_forward": ["resource"]},
    "hospital_billing_3": {
        "log": str(DATA / "hospital_billing" / "hospital_billing.csv.gz"), "published": 0.758,
        "require_any": ["BILLED", "DELETE", "FIN"],
        "label": {"kind": "activity", "activity": "REOPEN", "cut": True},
        "outcome_activities": ["REOPEN"], "attributes": HOSPITAL,
        "fill_forward": ["resource"]},
}

#: The small grid searched on the validation folds of the training cases.
GRID = [
    {"num_leaves": 7, "min_child_samples": 50, "feature_fraction": 0.5, "lambda_l2": 5.0,
     "learning_rate": 0.05},
    {"num_leaves": 31, "min_child_samples": 100, "feature_fraction": 0.5, "lambda_l2": 1.0,
     "learning_rate": 0.02},
    {"num_leaves": 15, "min_child_samples": 20, "feature_fraction": 0.8, "lambda_l2": 0.0,
     "learning_rate": 0.05},
    {"num_leaves": 63, "min_child_samples": 200, "feature_fraction": 0.5, "lambda_l2": 1.0,
     "learning_rate": 0.02},
]

#: Feature groups tried in the search, each given by the column-name prefixes it
#: leaves out of the full encoding: ``base`` (counts, last state, numbers so far, timing),
#: ``extended`` (base + who did the last of each frequent activity, ``resource_at_``, and the
#: level counts of categorical event attributes, ``nval_``) and ``positions`` (base + the
#: activities of the first and of the last few events, ``activity_<i>`` and
#: ``activity_back_<j>``: the order of events) and ``index`` (positions + each of the first
#: events in full: its resource, the gap before it and every event attribute, ``pos_``, as in
#: their index encoding).
ENCODINGS: dict[str, tuple[str, ...]] = {
    "base": ("resource_at_", "nval_", "activity_", "pos_"),
    "extended": ("activity_", "pos_"),
    "positions": ("resource_at_", "nval_", "pos_"),
    "index": ("resource_at_", "nval_"),
}
#: The groups tried by default. ``index`` is an option (``--encodings
#: base,extended,positions,index``): its one test run (``bench/RESULTS.md``, seventh session)
#: scored no better anywhere, and on sepsis 2 its validation win (125 cases) was noise.
DEFAULT_ENCODINGS = ("base", "extended", "positions")
#: At most this many positions (first and last events) in the ``positions`` group.
MAX_POSITIONS = 10
#: The ``top<k>`` ensemble candidate averages this many of the best single models.
TOP = 3
#: The test AUC's interval: this level, from this many resamples of the test cases.
INTERVAL = 0.9
BOOTSTRAP = 200
#: ``--offset``: whether the boosters start from the per-prefix-length offset.
OFFSETS = {"off": (False,), "on": (True,), "choose": (False, True)}

#: The order of a case's events.
EVENT_ORDER = ["timestamp", "event_index"]

#: ``--folds``: candidates are scored on this many stratified folds of the training cases,
#: as their parameter search does (``optimize_params.py``: ``StratifiedKFold(n_splits=3,
#: shuffle=True, random_state=22)`` over cases, by label); ``1`` is the temporal validation
#: slice of the earlier sessions (:func:`inner_split`).
FOLDS = 3
FOLD_SEED = 22

_LOGS: dict[tuple[str, str], Any] = {}


def read(path: str, lifecycle: str) -> Any:
    """Read a log once per (path, lifecycle) in this process."""
    key = (path, lifecycle)
    if key not in _LOGS:
        _LOGS[key] = lastmile.read_log(path, lifecycle=lifecycle)
    return _LOGS[key]


def labelled_table(task: dict[str, Any]) -> tuple[Any, ibis.Table, pd.Series]:
    """The task's events (filtered, relabelled, cut) and one 0/1 label per case."""
    log = read(task["log"], task.get("lifecycle", "auto"))
    t = log.table
    life = task.get("activity_with_lifecycle")
    if life:
        t = t.mutate(activity=t.activity.concat("-", t[life].upper()))
    for col in task.get("fill_forward", []):
        if col not in t.columns:
            raise LastmileError(f"fill_forward: the log has no column {col!r} "
                                f"(it has {', '.join(t.columns)})")
        t = fill_forward(t, col)
    if task.get("require_any"):
        ok = (t.filter(t.activity.isin(task["require_any"])).select("case_id").distinct())
        t = t.semi_join(ok, "case_id")
    label = task["label"]
    kind = label["kind"]
    order = EVENT_ORDER
    if kind == "activity":
        hits = t.filter(t.activity == label["activity"])
        pos = hits.select("case_id").distinct().execute()["case_id"]
        cases = t.select("case_id").distinct().execute()["case_id"]
        y = pd.Series(cases.isin(set(pos)).astype(int).to_numpy(), index=cases.to_numpy())
        if label.get("cut", True):
            w = ibis.window(group_by="case_id", order_by=order)
            t2 = t.mutate(_hit=(t.activity == label["activity"]).cast("int32")
                          .cumsum().over(w))
            t = t2.filter(t2._hit == 0).drop("_hit")
    elif kind == "last_of":
        o = t.filter(t.activity.startswith(label["prefix"]))
        w = ibis.window(group_by="case_id", order_by=[ibis.desc(c) for c in order])
        o = o.mutate(_r=ibis.row_number().over(w))
        last = o.filter(o._r == 0).select("case_id", last_o=o.activity).execute()
        last = last[last["last_o"].isin(label["among"])]
        y = pd.Series((last["last_o"] == label["target"]).astype(int).to_numpy(),
                      index=last["case_id"].to_numpy())
        t = t.filter(t.case_id.isin(list(y.index)))
    elif kind == "attribute_never_true":
        a = label["attribute"]
        agg = t.group_by("case_id").agg(_any=t[a].cast("int32").max()).execute()
        y = pd.Series((agg["_any"].fillna(0) < 1).astype(int).to_numpy(),
                      index=agg["case_id"].to_numpy())
    else:
        raise LastmileError(f"unknown label kind {kind!r}")
    y.index = y.index.astype(str)
    # materialise once: every later query would otherwise redo the filtering and the cut
    return log, t.cache(), y.sort_index()


def fill_forward(t: ibis.Table, col: str) -> ibis.Table:
    """``t`` with each missing ``col`` replaced by the case's last known value before it.

    Events are taken in ``(timestamp, event_index)`` order. A run of missing values starts a
    new block only when a value is present, so the block's one non-missing value is its
    first; values missing before a case's first known one stay missing.
    """
    w = ibis.window(group_by="case_id", order_by=EVENT_ORDER)
    t = t.mutate(_ff_block=t[col].notnull().cast("int64").cumsum().over(w))
    filled = t[col].max().over(ibis.window(group_by=["case_id", "_ff_block"]))
    return t.mutate(**{col: filled}).drop("_ff_block")


def max_prefix_length(t: ibis.Table, y: pd.Series, cap: int = 40) -> int:
    """min(cap, ceil(90th percentile of the lengths of positive cases))."""
    lengths = t.group_by("case_id").agg(n=ibis._.count()).execute().set_index("case_id")["n"]
    lengths.index = lengths.index.astype(str)
    pos = lengths[lengths.index.isin(y.index[y == 1])]
    return int(min(cap, math.ceil(pos.quantile(0.9))))


def wrap(log: Any, table: ibis.Table) -> SimpleNamespace:
    """A Log-like object: the derived table with the original attribute kinds."""
    return SimpleNamespace(table=table, attributes=log.attributes)


def inner_split(feats: Any, ratio: float) -> tuple[Any, Any]:
    """Validation slice of the training prefixes, split in time like the outer split.

    Training cases are ordered by start; the first ``ratio`` fit, the rest validate. Fitting
    rows must end before the first validation case starts (the strict rule again). All rows
    come from the training encoding, so nothing from the test period is seen.
    """
    starts = feats.meta["case_start"].groupby(level="case_id").min()
    starts = starts.reset_index().sort_values(["case_start", "case_id"], kind="mergesort")
    n_fit = int(ratio * len(starts))
    fit_ids = set(starts["case_id"].iloc[:n_fit])
    cut = starts["case_start"].iloc[n_fit:].min()
    in_fit = pd.Index(feats.case_ids).isin(fit_ids)
    before = (feats.meta["timestamp"] < cut).to_numpy()
    return feats.subset(in_fit & before), feats.subset(~in_fit)


def case_folds(feats: Any, y: pd.Series, k: int, seed: int = FOLD_SEED) -> np.ndarray:
    """The fold (0 … ``k`` − 1) of every row of ``feats``: stratified folds of its cases.

    The cases are put in case-id order and split by scikit-learn's ``StratifiedKFold``
    (shuffled, ``seed``) on their label ``y`` (indexed by case), so that every fold has about
    the same share of positives, as in their parameter search. A case's prefixes all go to
    one fold.
    """
    from sklearn.model_selection import StratifiedKFold

    rows = pd.Index(feats.case_ids)
    cases = rows.unique().sort_values()
    labels = y.reindex(cases)
    fewest = int(labels.value_counts().reindex([0, 1], fill_value=0).min())
    if fewest < k:
        raise LastmileError(f"{k} folds need at least {k} training cases of each outcome; "
                            f"the rarer outcome has {fewest} (try --folds 1)")
    fold = pd.Series(0, index=cases)
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, held) in enumerate(skf.split(np.zeros(len(cases)), labels)):
        fold.iloc[held] = f
    return fold.reindex(rows).to_numpy()


def validation_slices(feats: Any, y: pd.Series, folds: int) -> list[tuple[Any, Any]]:
    """(fitting rows, validating rows) pairs on which the candidates are scored.

    ``folds`` ≥ 2: each of the :func:`case_folds` validates once and the others fit. ``1``:
    the one temporal slice of :func:`inner_split`.
    """
    if folds < 2:
        return [inner_split(feats, 0.8)]
    fold = case_folds(feats, y, folds)
    return [(feats.subset(fold != f), feats.subset(fold == f)) for f in range(folds)]


def slices_auc(slices: list[tuple[Any, Any]], ys: list[np.ndarray],
               scores: list[np.ndarray]) -> float:
    """The prefix-weighted AUC on each validating slice, averaged over the slices."""
    return float(np.mean([evaluate(yb, s, xb.prefix_lengths).weighted_auc
                          for (_, xb), yb, s in zip(slices, ys, scores, strict=True)]))


def columns(feats: Any, drop: tuple[str, ...]) -> Any:
    """``feats`` without the columns whose names start with ``drop``."""
    if not drop:
        return feats
    keep = [c for c in feats.feature_names if not c.startswith(drop)]
    return type(feats)(X=feats.X[keep], meta=feats.meta,
                       categorical=[c for c in feats.categorical if c in keep],
                       dropped_features=list(feats.dropped_features),
                       descriptions={c: feats.descriptions[c] for c in keep})


class OffsetModel(RiskModel):
    """A :class:`RiskModel` whose booster starts from a per-prefix-length offset.

    The benchmark's metric ranks prefixes within each prefix length, so the differences in
    outcome rate *between* lengths are worth nothing to it; yet a booster spends trees on them.
    Here every row starts (LightGBM ``init_score``) from the log-odds of the positive rate at
    its prefix length among the rows the booster is fitted on (Jeffreys-smoothed: (positives +
    ½) / (rows + 1); lengths not seen there get the overall rate), and the trees fit what is
    left. The same offset is added to the score of every row scored later. Otherwise as
    :class:`RiskModel`: early stopping and sigmoid calibration on the latest 20 % of the
    training cases, then the booster refitted on all rows (and their offsets) with as many
    trees. Needs :class:`PrefixFeatures` (for the prefix lengths). One booster, no bagging,
    no candidates, no feature selection.
    """

    @staticmethod
    def _rates(lengths: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        frame = pd.DataFrame({"k": lengths, "y": y}).groupby("k")["y"].agg(["sum", "count"])
        rate = (frame["sum"] + 0.5) / (frame["count"] + 1.0)
        overall = (y.sum() + 0.5) / (len(y) + 1.0)
        return {"by_length": {int(k): float(v) for k, v in zip(rate.index, logit(rate),
                                                           strict=True)},
                "other": float(logit(overall))}

    @staticmethod
    def _offset(rates: dict[str, Any], lengths: np.ndarray) -> np.ndarray:
        by = rates["by_length"]
        return np.array([by.get(int(k), rates["other"]) for k in lengths], dtype=float)

    def fit(self, X: Any, y: Any, **kwargs: Any) -> OffsetModel:
        import lightgbm as lgb

        if kwargs:
            raise LastmileError(f"OffsetModel.fit takes no {sorted(kwargs)}")
        frame = X.X
        y = np.asarray(y, dtype=float).ravel()
        lengths = np.asarray(X.prefix_lengths)
        self.feature_names_ = list(frame.columns)
        self.categories_ = {c: list(frame[c].cat.categories) for c in frame.columns
                            if isinstance(frame[c].dtype, pd.CategoricalDtype)}
        self.descriptions_ = dict(X.descriptions)
        frame = self._align(frame)
        cal = self._calibration_slice(X.case_ids, X.meta["case_start"].to_numpy())
        if not all((part & (y == c)).any() for part in (cal, ~cal) for c in (0, 1)):
            raise LastmileError("OffsetModel: the calibration slice or the rest has one class "
                                "only", hint="use --offset off")
        self.chosen_, self.tuning_ = {}, []
        params = self._params()
        # early stopping and calibration: fitted before the calibration slice, scored on it
        r = self._rates(lengths[~cal], y[~cal])
        off_fit, off_cal = self._offset(r, lengths[~cal]), self._offset(r, lengths[cal])
        dtrain = lgb.Dataset(frame[~cal], y[~cal], init_score=off_fit, free_raw_data=False)
        dval = lgb.Dataset(frame[cal], y[cal], init_score=off_cal, reference=dtrain,
                           free_raw_data=False)
        b, self.n_trees_ = self._early_stopped(params, dtrain, dval)
        raw_cal = 1.0 / (1.0 + np.exp(-(b.predict(frame[cal], raw_score=True,
                                                  num_iteration=self.n_trees_) + off_cal)))
        self.calibrator_ = self._fit_calibrator(raw_cal, y[cal])
        # the refit on every row, offsets from every row
        self.rates_ = self._rates(lengths, y)
        data = lgb.Dataset(frame, y, init_score=self._offset(self.rates_, lengths),
                           free_raw_data=False)
        self.boosters_ = [lgb.train(params, data, num_boost_round=self.n_trees_)]
        self.classes_ = np.array([0, 1])
        self.n_train_rows_ = len(frame)
        self.positive_rate_ = float(y.mean())
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The uncalibrated probability: offset of the row's prefix length + the trees."""
        self._check_fitted()
        margin = (self.boosters_[0].predict(self._align(X), raw_score=True)
                  + self._offset(self.rates_, np.asarray(X.prefix_lengths)))
        return 1.0 / (1.0 + np.exp(-margin))


def logit(p: Any) -> np.ndarray:
    """Log-odds of probabilities (clipped away from 0 and 1)."""
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def combine(risks: list[np.ndarray]) -> np.ndarray:
    """The ensemble's risk: the mean log-odds of the members' calibrated risks."""
    if len(risks) == 1:
        return np.asarray(risks[0], dtype=float)
    return 1.0 / (1.0 + np.exp(-np.mean([logit(r) for r in risks], axis=0)))


def ensemble_candidates(search_log: list[dict[str, Any]], top: int = TOP) -> list[dict[str, Any]]:
    """The ensembles tried besides the single models: lists of indices into ``search_log``.

    ``best_per_group``: the best setting of each feature group; ``top<k>``: the ``top`` best
    single models overall (ties go to the first). Ensembles with one member, or with the same
    members as an earlier one, are left out.
    """
    order = sorted(range(len(search_log)), key=lambda i: (-search_log[i]["val_auc_exact"], i))
    per_group: dict[str, int] = {}
    for i in order:
        per_group.setdefault(search_log[i]["encoding"], i)
    out: list[dict[str, Any]] = []
    for name, members in (("best_per_group", sorted(per_group.values())),
                          (f"top{top}", sorted(order[:top]))):
        if len(members) > 1 and all(members != e["members"] for e in out):
            out.append({"candidate": name, "members": members})
    return out


def member(s: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """(feature group, LightGBM settings, offset) of one row of the search log."""
    return s["encoding"], {k: s[k] for k in GRID[0]}, bool(s.get("offset", False))


def run_task(name: str, task: dict[str, Any], *, search: bool, n_jobs: int,
             n_estimators: int, bags: int = 1,
             encodings: dict[str, tuple[str, ...]] | None = None,
             validation_only: bool = False, ensembles: bool = False,
             offsets: tuple[bool, ...] = (False,),
             scores_dir: Path | None = None, folds: int = FOLDS) -> dict[str, Any]:
    """Run one task end to end and return its result row.

    ``encodings`` (default: the :data:`DEFAULT_ENCODINGS` of :data:`ENCODINGS`) are the
    feature groups tried in the search;
    without the search the first of them is used. The search fits every feature group ×
    :data:`GRID` setting on the fitting rows of each of :func:`validation_slices` (``folds``
    stratified folds of the training cases, or with ``folds=1`` one temporal slice) and
    scores it by the mean of its validation AUCs; with ``ensembles`` it also scores the ensembles of
    :func:`ensemble_candidates` (mean log-odds of the members' calibrated risks) and keeps
    whichever candidate, single or ensemble, has the best validation AUC (ties go to the
    single model). The final model refits each member on all training prefixes. With
    ``validation_only`` the test cases are never scored: the row has the search's validation
    AUCs only (for developing the method).
    """
    if encodings is None:
        encodings = {e: ENCODINGS[e] for e in DEFAULT_ENCODINGS}
    encodings = dict(encodings)
    t0 = time.time()
    log, table, y = labelled_table(task)
    max_len = max_prefix_length(table, y)
    split = temporal_split(wrap(log, table), 0.8, strict=True)
    split.train, split.test = split.train.cache(), split.test.cache()
    attrs = task.get("attributes")
    if attrs is not None:
        attrs = [a for a in attrs if a in table.columns
                 and a not in task.get("exclude_attributes", [])]
    enc_args = {"outcome_activities": task.get("outcome_activities", []),
                "outcome_attributes": task.get("outcome_attributes", []),
                "attributes": attrs, "max_categories": 40, "min_count": 10,
                # the positions only when a feature group tried keeps them
                "positions": min(max_len, MAX_POSITIONS) if any(
                    "activity_" not in drop for drop in encodings.values()) else 0,
                "position_attributes": any("pos_" not in drop for drop in encodings.values())}
    train_log = wrap(log, split.train)
    encoder = PrefixEncoder(**enc_args).fit(train_log)
    Xtr = encoder.transform(train_log, max_prefix=max_len)
    ytr = y.reindex(Xtr.case_ids).to_numpy()
    Xte = encoder.transform(wrap(log, split.test), max_prefix=max_len)
    yte = y.reindex(Xte.case_ids).to_numpy()

    members = [(next(iter(encodings)), GRID[0], offsets[0])]
    chosen = "single"
    search_log: list[dict[str, Any]] = []
    ensemble_log: list[dict[str, Any]] = []
    if search:
        slices = validation_slices(Xtr, y, folds)
        ys = [y.reindex(xb.case_ids).to_numpy() for _, xb in slices]
        # calibrated validation risks of every single model, one array per slice
        risks: list[list[np.ndarray]] = []
        tried: list[list[str]] = []
        for enc_name, drop in encodings.items():
            names = columns(slices[0][0], drop).feature_names
            if names in tried:
                continue  # the log has none of this group's extra columns: nothing new
            tried.append(names)
            for offset in offsets:
                for params in GRID:
                    # the calibration (sigmoid, as in the final model) does not change the
                    # booster: it is fitted on the held-back slice before the refit
                    scores, calibrated, trees = [], [], []
                    for xa, xb in slices:
                        xa_e, xb_e = columns(xa, drop), columns(xb, drop)
                        m = (OffsetModel if offset else RiskModel)(
                            calibration="sigmoid", n_estimators=n_estimators,
                            n_jobs=n_jobs, **params).fit(
                                xa_e, y.reindex(xa_e.case_ids).to_numpy())
                        scores.append(m.decision_function(xb_e))
                        calibrated.append(m.predict_risk(xb_e))
                        trees.append(m.n_trees_)
                    auc = slices_auc(slices, ys, scores)
                    risks.append(calibrated)
                    search_log.append({"encoding": enc_name, "offset": offset, **params,
                                       "val_auc": round(auc, 4), "val_auc_exact": auc,
                                       "trees": int(np.rint(np.mean(trees)))})
                    print(f"  {name}: {enc_name}{' offset' if offset else ''} {params} "
                          f"validation AUC {auc:.4f}", flush=True)
        best_i = max(range(len(search_log)),
                     key=lambda i: (search_log[i]["val_auc_exact"], -i))
        best_auc = search_log[best_i]["val_auc_exact"]
        members = [member(search_log[best_i])]
        if ensembles:
            for e in ensemble_candidates(search_log):
                auc = slices_auc(slices, ys, [
                    combine([risks[i][j] for i in e["members"]]) for j in range(len(slices))])
                ensemble_log.append({**e, "val_auc": round(auc, 4), "val_auc_exact": auc})
                print(f"  {name}: ensemble {e['candidate']} of {e['members']} validation AUC "
                      f"{auc:.4f}", flush=True)
                if auc > best_auc:
                    best_auc, chosen = auc, e["candidate"]
                    members = [member(search_log[i]) for i in e["members"]]
        for s in search_log + ensemble_log:
            s.pop("val_auc_exact")
        if scores_dir is not None:  # the validation risks, to study other combinations
            np.savez_compressed(
                Path(scores_dir) / f"validation_scores_{name}.npz",
                risks=np.array([np.concatenate(r) for r in risks]), y=np.concatenate(ys),
                prefix_length=np.concatenate([xb.prefix_lengths for _, xb in slices]),
                slice=np.concatenate([np.full(len(yb), j) for j, yb in enumerate(ys)]),
                case_id=np.concatenate([np.asarray(xb.case_ids, dtype=str)
                                        for _, xb in slices]))
    if validation_only:
        return {"task": name, "published": task.get("published"), "candidate": chosen,
                "encoding": members[0][0], "params": members[0][1],
                "members": [{"encoding": e, "params": p, "offset": o} for e, p, o in members],
                "search": search_log, "ensembles": ensemble_log, "max_prefix": max_len,
                "folds": folds, "seconds": round(time.time() - t0, 1)}
    risks_te, fitted = [], []
    for enc_name, params, offset in members:
        Xtr_e, Xte_e = columns(Xtr, encodings[enc_name]), columns(Xte, encodings[enc_name])
        model = (OffsetModel if offset else RiskModel)(
            definition={"name": name, "label": task["label"]}, encoder=encoder,
            calibration="sigmoid", n_estimators=n_estimators, n_jobs=n_jobs, n_bags=bags,
            **params)
        model.fit(Xtr_e, ytr)
        risks_te.append(model.predict_risk(Xte_e))
        fitted.append({"encoding": enc_name, "offset": offset, "params": params,
                       "trees": model.n_trees_,
                       "features": len(Xtr_e.feature_names),
                       "calibration": model.calibrator_})
    p = combine(risks_te)
    ev = evaluate(yte, p, Xte.prefix_lengths)
    # how much the figure could move with other test cases: a bootstrap over whole cases
    lo, hi = auc_interval(yte, p, np.asarray(Xte.case_ids, dtype=str), level=INTERVAL,
                          n_boot=BOOTSTRAP, prefix_lengths=Xte.prefix_lengths)
    if scores_dir is not None:
        np.savez_compressed(Path(scores_dir) / f"test_scores_{name}.npz", risk=p, y=yte,
                            prefix_length=Xte.prefix_lengths,
                            case_id=np.asarray(Xte.case_ids, dtype=str))
    return {
        "task": name, "published": task.get("published"), "auc": round(ev.weighted_auc, 4),
        "auc_interval": [round(lo, 4), round(hi, 4)], "interval_level": INTERVAL,
        "auc_pooled": round(ev.auc, 4), "brier": round(ev.brier, 4),
        "max_prefix": max_len, "test_prefixes": ev.n, "train_prefixes": len(Xtr),
        "cases": len(y), "positive_rate": round(float(y.mean()), 3),
        "train_cases": len(split.train_cases), "test_cases": len(split.test_cases),
        "train_events_removed": split.train_events_removed,
        "split_time": str(split.split_time), "candidate": chosen, "members": fitted,
        "features": fitted[0]["features"], "encoding": fitted[0]["encoding"],
        "dropped_features": encoder.dropped_features_, "params": fitted[0]["params"],
        "trees": fitted[0]["trees"], "bags": bags,
        "calibration": fitted[0]["calibration"]["method"],
        "search": search_log, "ensembles": ensemble_log, "folds": folds,
        "by_prefix": ev.by_prefix.round(4).to_dict(orient="records"),
        "seconds": round(time.time() - t0, 1),
    }


def task_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """A task from command-line flags (for any log)."""
    if args.label_activity:
        label: dict[str, Any] = {"kind": "activity", "activity": args.label_activity,
                                 "cut": args.cut}
    elif args.label_attribute_never_true:
        label = {"kind": "attribute_never_true", "attribute": args.label_attribute_never_true}
    elif args.label_last_of:
        label = {"kind": "last_of", "prefix": args.label_last_of, "target": args.target,
                 "among": args.among.split(",")}
    else:
        raise SystemExit("give --label-activity, --label-last-of or --label-attribute-never-true")
    task: dict[str, Any] = {"log": args.log, "label": label, "lifecycle": args.lifecycle,
                            "published": args.published}
    if args.require_any:
        task["require_any"] = args.require_any.split(",")
    if args.label_activity and args.cut:
        task["outcome_activities"] = [args.label_activity]
    if args.attributes:
        task["attributes"] = args.attributes.split(",")
    if args.exclude_attributes:
        task["exclude_attributes"] = args.exclude_attributes.split(",")
    return task


def settings(m: dict[str, Any], bags: int = 1) -> str:
    """One member's settings, in words."""
    p = m["params"]
    return (f"{m['encoding']}{' + offset' if m.get('offset') else ''}: "
            f"leaves {p['num_leaves']}, min leaf {p['min_child_samples']}, "
            f"ff {p['feature_fraction']}, l2 {p['lambda_l2']}, lr {p['learning_rate']}, "
            f"{m['trees']} trees{' × ' + str(bags) + ' bags' if bags > 1 else ''}, "
            f"{m['features']} features")


def markdown(rows: list[dict[str, Any]], command: str) -> str:
    """The results table in Markdown."""
    level = f"{INTERVAL:.0%}"
    lines = [f"| task | published AUC | our AUC | {level} interval (case bootstrap) | Δ | "
             "candidate chosen on validation | "
             "max prefix | test prefixes | train / test cases | settings | time |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pub = r["published"]
        delta = f"{r['auc'] - pub:+.3f}" if pub is not None else ""
        members = " + ".join(settings(m, r.get("bags", 1)) for m in r["members"])
        lo, hi = r["auc_interval"]
        lines.append(f"| {r['task']} | {pub if pub is not None else '–'} | {r['auc']:.3f} | "
                     f"{lo:.3f}–{hi:.3f} | "
                     f"{delta} | {r['candidate']} | {r['max_prefix']} | {r['test_prefixes']} | "
                     f"{r['train_cases']} / {r['test_cases']} | {members} | "
                     f"{r['seconds']:.0f} s |")
    met = sum(1 for r in rows if r["published"] is not None and r["auc"] >= r["published"])
    lines.append("")
    lines.append(f"At or above the published figure: {met} of "
                 f"{sum(1 for r in rows if r['published'] is not None)}.")
    lines.append("")
    lines.append(f"Command: `{command}`")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the tasks, print and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="run the seven built-in tasks")
    ap.add_argument("--task", action="append", default=[], choices=sorted(TASKS),
                    help="run one built-in task (repeatable)")
    ap.add_argument("--config", help="YAML file with `tasks:` (a mapping name -> task)")
    ap.add_argument("--log", help="any log, with the --label-* flags")
    ap.add_argument("--name", default="custom")
    ap.add_argument("--lifecycle", default="auto")
    ap.add_argument("--label-activity")
    ap.add_argument("--cut", action="store_true", help="cut before the label activity")
    ap.add_argument("--label-last-of")
    ap.add_argument("--target")
    ap.add_argument("--among", default="")
    ap.add_argument("--label-attribute-never-true")
    ap.add_argument("--require-any")
    ap.add_argument("--attributes")
    ap.add_argument("--exclude-attributes")
    ap.add_argument("--published", type=float)
    ap.add_argument("--no-search", action="store_true", help="skip the hyper-parameter search")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--n-estimators", type=int, default=1000)
    ap.add_argument("--bags", type=int, default=1,
                    help="average this many boosters (80%% row samples) in the final model")
    ap.add_argument("--encodings", default=",".join(DEFAULT_ENCODINGS),
                    help="feature groups to try in the search (of: "
                         f"{', '.join(ENCODINGS)}; default: %(default)s)")
    ap.add_argument("--offset", choices=sorted(OFFSETS), default="off",
                    help="per-prefix-length offset (OffsetModel): off (default), on, or "
                         "choose (both tried in the search)")
    ap.add_argument("--ensembles", action="store_true",
                    help="also try the ensemble candidates in the search (off by "
                         "default: on validation they gained at most 0.0015 AUC)")
    ap.add_argument("--folds", type=int, default=FOLDS,
                    help="score the candidates on this many stratified folds of the training "
                         "cases, as their parameter search does (default: %(default)s); 1: "
                         "one temporal validation slice (the earlier sessions' rule)")
    ap.add_argument("--validation-only", action="store_true",
                    help="run the search on the training cases only and print its validation "
                         "AUCs; the test cases are never scored")
    ap.add_argument("--save-scores", action="store_true",
                    help="also save every candidate's validation risks "
                         "(validation_scores_<task>.npz), to study other combinations, and "
                         "unless --validation-only the test risks (test_scores_<task>.npz)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "outcome" / "out"))
    args = ap.parse_args(argv)
    if args.folds < 1:
        ap.error(f"--folds: at least 1 (1: one temporal validation slice), got {args.folds}")
    groups = [e.strip() for e in args.encodings.split(",") if e.strip()]
    unknown = [e for e in groups if e not in ENCODINGS]
    if unknown or not groups:
        ap.error(f"--encodings: unknown feature groups {unknown}; "
                 f"choose from {', '.join(ENCODINGS)}")

    tasks: dict[str, dict[str, Any]] = {}
    if args.all:
        tasks.update(TASKS)
    for name in args.task:
        tasks[name] = TASKS[name]
    if args.config:
        import yaml

        tasks.update(yaml.safe_load(Path(args.config).read_text())["tasks"])
    if args.log:
        tasks[args.name] = task_from_args(args)
    if not tasks:
        ap.error("nothing to run: give --all, --task, --config or --log")
    missing = [n for n, t in tasks.items() if not Path(t["log"]).exists()]
    if missing:
        print(f"skipping (log not found): {missing}", file=sys.stderr)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python bench/outcome/run.py " + " ".join(argv if argv is not None
                                                         else sys.argv[1:])
    rows = []
    for name, task in tasks.items():
        if name in missing:
            continue
        try:
            r = run_task(name, task, search=not args.no_search, n_jobs=args.n_jobs,
                         n_estimators=args.n_estimators, bags=args.bags,
                         encodings={e: ENCODINGS[e] for e in groups},
                         validation_only=args.validation_only, ensembles=args.ensembles,
                         offsets=OFFSETS[args.offset],
                         scores_dir=out if args.save_scores else None, folds=args.folds)
        except LastmileError as e:  # a task that cannot run: one line, not a traceback
            print(f"{name}: error: {e}", file=sys.stderr)
            return 2
        rows.append(r)
        if args.validation_only:
            best = max(r["search"], key=lambda s: s["val_auc"]) if r["search"] else {}
            ens = max(r["ensembles"], key=lambda s: s["val_auc"]) if r["ensembles"] else {}
            print(f"{name:22s} best single {best.get('val_auc')}, best ensemble "
                  f"{ens.get('val_auc')} ({ens.get('candidate')}); chosen {r['candidate']}: "
                  f"{r['members']} ({r['seconds']}s)", flush=True)
            (out / "validation.json").write_text(json.dumps({"command": command,
                                                             "results": rows}, indent=1))
            continue
        pub = f"{r['published']:.3f}" if r["published"] is not None else "  –  "
        lo, hi = r["auc_interval"]
        print(f"{name:22s} published {pub}  ours {r['auc']:.3f} ({r['interval_level']:.0%} "
              f"interval {lo:.3f}–{hi:.3f})  (pooled {r['auc_pooled']:.3f},"
              f" Brier {r['brier']:.3f}, max prefix {r['max_prefix']}, "
              f"{r['train_cases']}/{r['test_cases']} cases, chosen {r['candidate']}, "
              f"{r['seconds']}s)", flush=True)
        # after every task, so that an interrupted run keeps what it finished
        (out / "results.json").write_text(json.dumps({"command": command, "results": rows},
                                                     indent=1, default=str))
    if args.validation_only:
        return 0
    md = markdown(rows, command)
    (out / "results.md").write_text(md + "\n")
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
