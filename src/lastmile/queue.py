"""The follow-through queue: which live cases in the last mile need a call today, and by when.

For a moment ``as_of`` (default: the last event of the log) the queue lists the cases that are
**open in the last mile** — they reached the last-mile stage, have not finished, failed or been
abandoned — and are **not stale**: a case silent for longer than the timeout, or for more than
``stale_factor`` times the going-cold point, is abandoned rather than queued (it would make any
ranking look good and nobody can save it with a call).

Each queued case gets

- a **risk**: the calibrated probability that it fails in the last mile (fails, is abandoned, or
  finishes and is reversed), from a :class:`~lastmile.risk.RiskModel` learned on the cases that
  had closed by ``as_of``, using only events up to ``as_of``;
- its **top reasons**: the features that push its risk up most, in plain words;
- a **follow-up deadline**: entry into the last mile plus the going-cold point of
  :func:`lastmile.timing.timing` (or the moment the timeout would abandon it, if sooner);
  a deadline already past is **overdue**;
- a **priority**: the expected loss ``risk × value`` (``risk`` alone without a value column),
  weighted by urgency — a case that has just entered counts half, one at its follow-up deadline
  counts fully: ``priority = risk × value × (0.5 + 0.5 · min(1, hours in last mile / hours from
  entry to the deadline))``; the deadline is the going-cold point unless the timeout comes
  sooner.

How the risk model learns (:func:`train_risk_model`): every closed case is looked at as it stood
at several **prediction points** in its last mile — when it entered, and on a regular grid of
moments until its outcome — exactly as the queue looks at a live case on a morning. The features
at a point ``t`` are those of :class:`~lastmile.risk.PrefixEncoder` for the events up to ``t``
(the outcome activities are cut off and never features), plus ``idle_hours`` (silence since the
last event), ``hours_in_last_mile``, ``stages_to_finish`` and ``hours_to_<time attribute>``.
Points where the case was already stale are left out, as in the queue. A case that lingers has
many grid points; beyond :data:`PER_CASE` of them they share the weight of ``PER_CASE`` points
(``sample_weight``), so that it neither fills the training set nor loses what its points say.

>>> from lastmile.demo import generate
>>> from lastmile.journey import Journey
>>> s = generate("carsales", cases=600, seed=3)
>>> q = follow_through_queue(s.events, Journey.from_dict(s.journey_dict),
...                          as_of="2024-06-01", capacity=5)
>>> len(q.to_frame()) <= 5, q.to_dict()["schema"]
(True, 'lastmile.queue/1')
>>> bool((q.ranked_["priority"].diff().dropna() <= 1e-12).all())
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from lastmile.errors import LastmileError
from lastmile.journey import Journey
from lastmile.measures._expr import as_timestamp, literal_time
from lastmile.measures.cases import case_table, reached_column

__all__ = [
    "SCHEMA",
    "ModelEvaluation",
    "Queue",
    "TrainingSet",
    "cutoff_attributes",
    "evaluate_model",
    "follow_through_queue",
    "journey_key",
    "load_model",
    "outcome_activities",
    "plain_reason",
    "prediction_features",
    "screened_attributes",
    "train_risk_model",
    "training_set",
    "weak_model_reason",
]

SCHEMA = "lastmile.queue/1"
#: What a model artefact written by :func:`train_risk_model` calls itself in its definition
#: (version 2: the training moment and counts moved to the model's ``metadata``).
MODEL_KIND = "lastmile.last-mile-risk/2"
#: Calendar features of the last event: left out of the model (poor reasons, and under a
#: temporal split they mostly learn the calendar rather than the case).
CALENDAR = ("hour", "weekday", "minute_of_day", "month")
#: A case's grid points weigh at most this many points in all (plus its entry).
PER_CASE = 10
#: The false-discovery rate at which the drivers analysis screens the risk model's case
#: attributes (:func:`screened_attributes`; ``lastmile why``'s default).
SCREEN_FDR = 0.05
#: Whether :func:`train_risk_model` screens the case attributes by default.
SCREEN = True
#: The smallest number of cases a leaf of the risk model may hold, tried on the model's held-back
#: slice of the training cases (the best by AUC there is kept): small logs with few failures
#: need large leaves, or the trees learn the noise of a few cases.
CASES_PER_LEAF = (15, 50, 150)
#: The share of the features each tree of the risk model may split on (LightGBM's
#: ``feature_fraction``; 0.5 since the tenth session, 0.8 before: ``bench/RESULTS.md``).
FEATURE_FRACTION = 0.5
#: A case silent for longer than this many going-cold points is stale (abandoned, not queued).
STALE_FACTOR = 2.0
_H = 3600.0

# ---------------------------------------------------------------------------------- helpers


def _as_log(events: Any) -> Any:
    """A Log-like object (``.table``, ``.attributes``) from a Log, an Ibis table or a frame."""
    import ibis.expr.types as ir

    if isinstance(events, pd.DataFrame):
        from lastmile.io import read_log

        return read_log(events)
    if isinstance(events, ir.Table):
        return SimpleNamespace(table=events, attributes={})
    if hasattr(events, "table"):
        return events
    raise LastmileError("expected a lastmile Log, an Ibis event table or a pandas DataFrame",
                        hint="read the log with lastmile.read_log(path)")


def _end_of(table: Any, as_of: Any) -> datetime:
    cut = as_timestamp(as_of)
    if cut is not None:
        return cut
    last = table.timestamp.max().to_pandas()
    if last is None or pd.isna(last):
        raise LastmileError("the log has no events")
    return pd.Timestamp(last).to_pydatetime()


def _metadata(model: Any) -> dict[str, Any]:
    """What a risk model records beside its definition (``{}`` if nothing)."""
    meta = getattr(model, "metadata", None)
    return meta if isinstance(meta, dict) else {}


def _upto(log: Any, end: datetime) -> Any:
    """The log as it was at ``end``: a Log-like object with only the events up to then.

    The attribute kinds a :class:`~lastmile.Log` carries were judged on the whole log, later
    events included; they are left out: the encoder judges them on the events up to ``end``.
    """
    t = log.table
    return SimpleNamespace(table=t.filter(t.timestamp <= literal_time(end)), attributes={})


def outcome_activities(journey: Journey) -> list[str]:
    """The activities that decide a last-mile outcome: never features.

    The finish stage and every later stage, the failure activities and the reversal.

    >>> j = Journey.from_flags("sent,signed,delivered", finish="signed", fail="lost")
    >>> outcome_activities(j)
    ['signed', 'delivered', 'lost']
    """
    acts = [a for s in journey.stages[journey.finish_index:] for a in s.activities]
    acts += list(journey.failure)
    if journey.reversal is not None:
        acts += list(journey.reversal.activities)
    return list(dict.fromkeys(acts))


def journey_key(journey: Journey) -> dict[str, Any]:
    """The parts of a journey that define the label (stages, finish, last mile, failure,
    reversal, timeout) — what a model must match. Name, value and cost may differ.

    >>> journey_key(Journey.from_flags("a,b", value="v", timeout="3d"))
    {'stages': [{'name': 'a', 'activities': ['a']}, {'name': 'b', 'activities': ['b']}], \
'finish': 'b', 'last_mile': 'a', 'timeout': '3d'}
    """
    d = journey.to_dict()
    for k in ("name", "value", "cost"):
        d.pop(k, None)
    return json.loads(json.dumps(d, sort_keys=False, default=str))


def _cases(table: Any, journey: Journey, end: datetime) -> pd.DataFrame:
    """The case table at ``end`` for the cases that entered the last mile (pandas)."""
    ct = case_table(table, journey, as_of=end)
    df = ct.filter(ct.entered_last_mile).to_pandas()
    df["case_id"] = df["case_id"].astype(str)
    for c in df.columns:
        if c.endswith("_at"):
            df[c] = pd.to_datetime(df[c])
    # the engine returns rows in any order; the training grid (its spacing is a float sum)
    # and the model's rows follow this order, so fix it: same log, same queue
    return df.sort_values("case_id", kind="mergesort").reset_index(drop=True)


def _closed(ct: pd.DataFrame, journey: Journey, end: datetime) -> pd.DataFrame:
    """Cases whose last-mile outcome is known at ``end``, with ``label`` and ``decided_at``.

    A finished case is closed once its reversal window has passed (or without a reversal).
    ``decided_at`` is the finish, the failure activity, or the last event plus the timeout.
    """
    status = ct["status"]
    fin = status == "finished"
    if journey.reversal is not None and journey.reversal.window is not None:
        fin &= ct["finished_at"] + journey.reversal.window <= pd.Timestamp(end)
    keep = fin | status.isin(["failed", "reversed"])
    out = ct[keep].copy()
    timeout = journey.timeout or pd.Timedelta(0)
    decided = out["finished_at"].where(out["status"].isin(["finished", "reversed"]))
    decided = decided.fillna(out["explicit_failure_at"].where(
        out["failure_kind"] == "explicit"))
    decided = decided.fillna(out["last_event_at"] + timeout)
    out["decided_at"] = decided
    out["label"] = out["status"].isin(["failed", "reversed"]).astype(int)
    out = out[out["decided_at"] > out["entered_last_mile_at"]]
    return out.reset_index(drop=True)


#: The follow-up rule of :func:`_settled` applies only if this many cases remain.
MIN_SETTLED = 30


def _settled(closed: pd.DataFrame, end: datetime, hours: float | None) -> pd.DataFrame | None:
    """The closed cases that entered the last mile at least ``hours`` before ``end``.

    A case that entered shortly before ``end`` and has already closed is a quick one: keeping
    those, but not the slow ones still open, would teach the model that recent entrants
    rarely fail (or rarely finish). Cases given the full follow-up time (the stale limit:
    by then a case has finished, failed or gone silent) are free of that bias. ``None`` when
    too few of them (fewer than :data:`MIN_SETTLED`, or a single outcome) remain.
    """
    if hours is None:
        return None
    cut = pd.Timestamp(end) - pd.Timedelta(hours=float(hours))
    kept = closed[closed["entered_last_mile_at"] <= cut]
    if len(kept) < MIN_SETTLED or kept["label"].nunique() < 2:
        return None
    return kept.reset_index(drop=True)


def _cold_hours(tm: Any) -> float | None:
    """The going-cold point (hours); without one, when 90 % of the eventual finishers had."""
    if tm.going_cold_ is not None:
        return float(tm.going_cold_)
    curve = tm.curve_
    if tm.ever_finish_ and len(curve):
        hit = curve[curve["finished"] >= 0.9 * tm.ever_finish_]
        if len(hit):
            return max(float(hit["time"].iloc[0]), 1e-6)
    return None


def _stale_hours(journey: Journey, cold: float | None, factor: float) -> float | None:
    limits = []
    if journey.timeout is not None:
        limits.append(journey.timeout.total_seconds() / _H)
    if cold is not None and factor is not None:
        limits.append(factor * cold)
    return min(limits) if limits else None


def _time_attributes(log: Any) -> list[str]:
    """Time-valued attributes (deadlines such as ``polls_close``): ``hours_to_`` features."""
    from lastmile.risk.encoding import CORE

    schema = log.table.schema()
    return [c for c in log.table.columns
            if c not in CORE and not c.startswith(".") and schema[c].is_timestamp()]


def _first_known(log: Any, attrs: list[str], cases: Any) -> pd.DataFrame:
    """Per case and time attribute: its first value and when it became known."""
    if not attrs:
        return pd.DataFrame(index=pd.Index([], name="case_id"))
    t = log.table.semi_join(cases, "case_id")
    parts = []
    for a in attrs:
        w = t.filter(t[a].notnull())
        first = w.group_by("case_id").agg(_known=w.timestamp.min())
        vals = w.join(first, "case_id")
        vals = vals.filter(vals.timestamp == vals._known)
        agg = vals.group_by("case_id").agg(**{f"{a}__v": vals[a].min(),
                                              f"{a}__k": vals._known.min()})
        parts.append(agg.execute().assign(case_id=lambda d: d["case_id"].astype(str))
                     .set_index("case_id"))
    return pd.concat(parts, axis=1)


#: A time attribute is a hard cut-off when at least this share of the finished cases that
#: carry it had finished by it, and at least :data:`MIN_CUTOFF_CASES` of them carry it.
CUTOFF_SHARE = 0.99
MIN_CUTOFF_CASES = 30


def _naive_utc(values: pd.Series) -> pd.Series:
    """Times as naive UTC (the case table's convention), whatever zone they came in.

    >>> _naive_utc(pd.Series(["2024-11-05T20:00:00-05:00"])).iloc[0]
    Timestamp('2024-11-06 01:00:00')
    """
    t = pd.to_datetime(values, utc=True)
    return t.dt.tz_localize(None)


def _known_times(log: Any, end: datetime, attrs: Sequence[str],
                 case_ids: Sequence[str]) -> pd.DataFrame:
    """Each case's first known value of each time attribute (naive UTC), from events up to
    ``end``; indexed by case id, one column per attribute."""
    import ibis

    known = _first_known(_upto(log, end), list(attrs),
                         ibis.memtable({"case_id": [str(c) for c in case_ids]}))
    return pd.DataFrame({a: (_naive_utc(known[f"{a}__v"]) if f"{a}__v" in known.columns
                             else pd.Series(pd.NaT, index=known.index, dtype="datetime64[ns]"))
                         for a in attrs}, index=known.index)


def cutoff_attributes(log: Any, ct: pd.DataFrame, time_attrs: Sequence[str],
                      end: datetime, *, known: pd.DataFrame | None = None) -> list[str]:
    """The time attributes that are a hard cut-off for finishing (``polls_close``).

    An attribute is one when the cases that finished by ``end`` had, nearly all of them
    (:data:`CUTOFF_SHARE`), finished at or before its value: nobody finishes after it, so a
    follow-up after it comes too late. Read from the events up to ``end`` only. ``known``:
    the values already read (:func:`_known_times`), at least for the finished cases.
    """
    done = ct[ct["status"].isin(["finished", "reversed"]) & ct["finished_at"].notna()]
    if done.empty or not time_attrs:
        return []
    if known is None:
        known = _known_times(log, end, time_attrs, done["case_id"].tolist())
    fin = done.set_index("case_id")["finished_at"]
    out = []
    for a in time_attrs:
        val = known[a].dropna()
        both = fin.reindex(val.index).dropna()
        if len(both) < MIN_CUTOFF_CASES:
            continue
        if float((both <= val.reindex(both.index)).mean()) >= CUTOFF_SHARE:
            out.append(a)
    return out


def _take_sooner(deadline: pd.Series, kind: pd.Series, other: pd.Series,
                 label: Any) -> tuple[pd.Series, pd.Series]:
    """``deadline`` replaced by ``other`` where that is sooner (or the only one), and the
    ``kind`` of each by ``label`` (a name, or one per row) there."""
    sooner = other.notna() & (deadline.isna() | (other < deadline))
    return deadline.where(~sooner, other), kind.where(~sooner, label)


def _cutoff_times(log: Any, ct: pd.DataFrame, end: datetime) -> tuple[list[str], pd.DataFrame]:
    """The cut-off attributes at ``end`` and each case's earliest cut-off.

    One read of the time attributes serves both. The frame is indexed by case id, with
    ``cutoff_at`` (``NaT`` without one) and ``cutoff`` (the attribute).
    """
    ids = pd.Index(ct["case_id"].astype(str), name="case_id")
    at = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns]")
    kind = pd.Series(None, index=ids, dtype=object)
    attrs = _time_attributes(log)
    names: list[str] = []
    if attrs and len(ids):
        known = _known_times(log, end, attrs, list(ids)).reindex(ids)
        names = cutoff_attributes(log, ct, attrs, end, known=known)
        for a in names:
            at, kind = _take_sooner(at, kind, known[a], a)
    return names, pd.DataFrame({"cutoff_at": at, "cutoff": kind})


def _slug(a: str) -> str:
    from lastmile.risk.encoding import feature_slug

    return feature_slug(a)


EXTRA_DESCRIPTIONS = {
    "idle_hours": "hours since its last event",
    "hours_in_last_mile": "hours since entering the last mile",
    "stages_to_finish": "stages still to go before the finish",
}


def _extras(points: pd.DataFrame, ct: pd.DataFrame, journey: Journey,
            known: pd.DataFrame, time_attrs: Sequence[str]) -> pd.DataFrame:
    """The features of a prediction point that the prefix alone does not have.

    ``points`` has ``case_id``, ``t`` (the prediction point) and ``last_at`` (its last event).
    """
    t = points["t"]
    info = ct.set_index("case_id").loc[points["case_id"]]
    out = pd.DataFrame(index=points.index)
    out["idle_hours"] = (t - points["last_at"]).dt.total_seconds().to_numpy() / _H
    entered = info["entered_last_mile_at"].to_numpy()
    out["hours_in_last_mile"] = (t.to_numpy() - entered) / np.timedelta64(1, "h")
    stage = np.full(len(points), -1, dtype=int)
    for k in range(len(journey.stages)):
        reached = info[reached_column(k)].to_numpy()
        hit = ~pd.isna(reached) & (reached <= t.to_numpy())
        stage = np.where(hit, k, stage)
    out["stages_to_finish"] = journey.finish_index - stage
    for a in time_attrs:
        name = f"hours_to_{_slug(a)}"
        if f"{a}__v" not in known.columns:
            out[name] = np.nan
            continue
        row = known.reindex(points["case_id"].to_numpy())
        val = pd.to_datetime(row[f"{a}__v"]).to_numpy()
        when = pd.to_datetime(row[f"{a}__k"]).to_numpy()
        hours = (val - t.to_numpy()) / np.timedelta64(1, "h")
        out[name] = np.where(~pd.isna(when) & (when <= t.to_numpy()), hours, np.nan)
    return out


def _descriptions(time_attrs: Sequence[str]) -> dict[str, str]:
    d = dict(EXTRA_DESCRIPTIONS)
    for a in time_attrs:
        d[f"hours_to_{_slug(a)}"] = f"hours until {a}"
    return d


# ------------------------------------------------------------------------- training set


@dataclass
class TrainingSet:
    """Prediction points of closed cases: features ``X``, labels ``y`` and what each row is.

    ``rows`` has ``case_id``, ``t`` (the prediction point), ``entered_at``, ``prefix_length``
    and ``stages_to_finish``; ``y`` is 1 for a last-mile failure; ``weight`` the weight of each
    row (a case's grid points beyond ``per_case`` share the weight of ``per_case`` points);
    ``still_open`` the cases in the last mile still open at the end, which are not in it.
    """

    X: pd.DataFrame
    y: np.ndarray
    rows: pd.DataFrame
    weight: np.ndarray
    categorical: list[str]
    descriptions: dict[str, str]
    spacing_hours: float
    stale_hours: float | None
    settled: bool = True
    still_open: int = 0

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_cases(self) -> int:
        """Distinct cases."""
        return int(self.rows["case_id"].nunique())

    def features(self) -> Any:
        """As :class:`~lastmile.risk.PrefixFeatures` (grouped by case, ordered by entry)."""
        from lastmile.risk import PrefixFeatures

        idx = pd.MultiIndex.from_arrays([self.rows["case_id"].to_numpy(),
                                         self.rows["prefix_length"].to_numpy()],
                                        names=["case_id", "prefix_length"])
        X = self.X.set_axis(idx)
        # the model's early-stopping and calibration slice is the cases latest in this order:
        # a pseudo-random one (a hash of the case id), because the latest-entered closed
        # cases are the quick ones, not a fair sample
        ids = self.rows["case_id"].astype(str)
        order = pd.util.hash_pandas_object(ids, index=False).to_numpy()
        start = pd.Timestamp("2000-01-01") + pd.to_timedelta(order % 10**9, unit="s")
        meta = pd.DataFrame({"timestamp": self.rows["t"].to_numpy(),
                             "case_start": start.to_numpy()}, index=idx)
        return PrefixFeatures(X=X, meta=meta, categorical=list(self.categorical),
                              descriptions=dict(self.descriptions))


def _grid(closed: pd.DataFrame, start: datetime | None, end: datetime,
          stale: float | None, max_rows: int,
          ) -> tuple[pd.DataFrame, float]:
    """Prediction points: each case at entry, and on a grid ``end - k·Δ`` until its outcome.

    ``grid`` tells the grid points from the entries.
    """
    entered = closed["entered_last_mile_at"]
    upper = closed["decided_at"].where(closed["decided_at"] <= pd.Timestamp(end),
                                       pd.Timestamp(end))
    if stale is not None:
        upper = upper.where(upper <= closed["last_event_at"] + pd.Timedelta(hours=stale),
                            closed["last_event_at"] + pd.Timedelta(hours=stale))
    lower = entered if start is None else entered.where(entered > pd.Timestamp(start),
                                                        pd.Timestamp(start))
    span = ((upper - lower).dt.total_seconds() / _H).clip(lower=0.0)
    total = float(span.sum())
    n_grid = max(min(max_rows - len(closed), 20 * len(closed)), len(closed), 1)
    spacing = max(total / n_grid, 1.0 / 60.0) if total > 0 else 1.0
    e = pd.Timestamp(end)
    # offsets o = end - t in [end - upper, end - lower): k = ceil((end-upper)/Δ) ... floor
    hi_off = (e - lower).dt.total_seconds().to_numpy() / _H
    lo_off = (e - upper).dt.total_seconds().to_numpy() / _H
    k_lo = np.ceil(lo_off / spacing - 1e-9).astype(int)
    k_hi = np.floor(hi_off / spacing - 1e-9).astype(int)  # strictly after `lower`
    n = np.clip(k_hi - k_lo + 1, 0, None)
    rep = np.repeat(np.arange(len(closed)), n)
    ks = np.concatenate([np.arange(a, a + m) for a, m in zip(k_lo, n, strict=True)]) \
        if n.sum() else np.array([], dtype=int)
    grid = pd.DataFrame({"case_id": closed["case_id"].to_numpy()[rep],
                         "t": e - pd.to_timedelta(ks * spacing, unit="h")})
    at_entry = entered > (pd.Timestamp(start) if start is not None else pd.Timestamp.min)
    first = pd.DataFrame({"case_id": closed["case_id"][at_entry].to_numpy(),
                          "t": entered[at_entry].to_numpy()})
    grid["grid"] = True
    first["grid"] = False
    points = pd.concat([first, grid], ignore_index=True)
    points["t"] = pd.to_datetime(points["t"])
    points = points[points["t"] <= e]
    return points.reset_index(drop=True), spacing


def _weights(grid: np.ndarray, case_ids: pd.Series, per_case: int | None) -> np.ndarray:
    """Row weights: a case's grid points weigh ``per_case`` points at most; entries weigh 1.

    A case that lingers (often a silent failure) would otherwise fill the training set.

    >>> _weights(np.array([False, True, True, True, True]), pd.Series(list("aaaab")), 2)
    array([1.        , 0.66666667, 0.66666667, 0.66666667, 1.        ])
    """
    w = np.ones(len(grid))
    if per_case is None or not len(grid):
        return w
    size = pd.Series(grid.astype(int)).groupby(np.asarray(case_ids)).transform("sum")
    size = size.to_numpy(dtype=float)
    return np.where(grid, np.minimum(1.0, per_case / np.maximum(size, 1.0)), 1.0)


def _point_features(encoder: Any, log: Any, end: datetime, points: pd.DataFrame,
                    case_filter: Any) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Prefix features of each point (the last prefix at or before ``t``); rows may drop."""
    view = _upto(log, end)
    view.table = view.table.semi_join(case_filter, "case_id")
    feats = encoder.transform(view)
    X = feats.X
    meta = pd.DataFrame({"case_id": feats.case_ids.astype(str),
                         "prefix_length": feats.prefix_lengths,
                         "last_at": pd.to_datetime(feats.meta["timestamp"]).to_numpy()
                         .astype("datetime64[ns]"),
                         "_row": np.arange(len(X))})
    meta = meta.sort_values(["last_at", "prefix_length"], kind="mergesort")
    pts = points.assign(_pt=np.arange(len(points)),
                        t=points["t"].to_numpy().astype("datetime64[ns]"))
    pts = pts.sort_values("t", kind="mergesort")
    merged = pd.merge_asof(pts, meta, left_on="t", right_on="last_at", by="case_id",
                           direction="backward", allow_exact_matches=True)
    merged = merged.dropna(subset=["_row"]).sort_values("_pt", kind="mergesort")
    rows = X.iloc[merged["_row"].astype(int).to_numpy()].reset_index(drop=True)
    info = merged[["case_id", "t", "last_at", "prefix_length", "grid"]].reset_index(drop=True)
    info["prefix_length"] = info["prefix_length"].astype(int)
    return rows, info, dict(feats.descriptions)


def _encoder_for(log: Any, journey: Journey, end: datetime,
                 attributes: list[str] | None = None) -> Any:
    from lastmile.risk import PrefixEncoder

    kw = {} if attributes is None else {"attributes": attributes}
    return PrefixEncoder(outcome_activities=outcome_activities(journey), **kw).fit(
        _upto(log, end))


def screened_attributes(log: Any, journey: Journey, as_of: Any = None,
                        fdr: float = SCREEN_FDR) -> tuple[list[str] | None, list[str]]:
    """The attributes a risk model learned as of ``as_of`` should see, by the drivers analysis.

    :func:`lastmile.why.why`, run on the log as it was at ``as_of`` (its false-discovery rate
    ``fdr``), tests every case attribute for a link with last-mile failure. When it finds at
    least one, the case attributes it finds nothing for are left out; time-valued case
    attributes (deadlines, which it does not test) and event attributes (which change along the
    case) are always kept. When it finds none, nothing is left out: no evidence either way.
    A model with a few hundred failures spends its splits on noise attributes otherwise.
    Only events up to ``as_of`` are read, for the test and for telling case attributes from
    event attributes.

    Returns ``(attributes, left_out)``: the list for the encoder (``None``: all) and the case
    attributes left out.
    """
    from lastmile.risk.encoding import _attribute_kinds
    from lastmile.why import why

    log = _as_log(log)
    end = _end_of(log.table, as_of)
    # the log as it was at `end`: the attribute kinds too are judged on those events only
    # (a Log's own kinds were judged on the whole log, later events included)
    known = _upto(log, end).table
    attrs = _attribute_kinds(known)
    tested = [a for a, (kind, dtype) in attrs.items() if kind == "case" and dtype != "time"]
    if not tested:
        return None, []
    try:
        drivers = why(known, journey, as_of=end, fdr=fdr).drivers
    except LastmileError:  # too few closed cases to test anything
        return None, []
    found = {d["feature"] for d in drivers if d["significant"]}
    kept = [a for a in tested if a in found]
    if not kept:
        return None, []
    left_out = [a for a in tested if a not in kept]
    return [a for a in attrs if a not in left_out], left_out


def training_set(
    events: Any,
    journey: Journey,
    as_of: Any = None,
    *,
    start: Any = None,
    encoder: Any = None,
    stale_hours: float | None = None,
    max_rows: int = 40_000,
    per_case: int | None = PER_CASE,
) -> tuple[TrainingSet, Any]:
    """Prediction points of the cases closed by ``as_of``, seen with events up to ``as_of``.

    Parameters
    ----------
    events
        A :class:`lastmile.Log`, an Ibis event table or a pandas DataFrame of events.
    journey
        The journey: its last mile, finish, failure, reversal and timeout define the label.
    as_of
        Only events up to this moment are used, and only cases closed by then (default: the
        last event of the log).
    start
        Only prediction points after this moment (used for test sets).
    encoder
        A fitted :class:`~lastmile.risk.PrefixEncoder`; default: one fitted on the events up
        to ``as_of`` with the journey's outcome activities cut off.
    stale_hours
        Leave out points where the case had been silent this long; default: the timeout or
        twice the going-cold point, whichever is shorter.
    max_rows
        About this many rows at most (the grid spacing is chosen for it).
    per_case
        A case's grid points (besides its entry) weigh this many points at most: with more,
        each weighs ``per_case / n`` (``None``: every point weighs 1).

    Returns
    -------
    (TrainingSet, encoder)
    """
    log = _as_log(events)
    end = _end_of(log.table, as_of)
    if stale_hours is None:
        from lastmile.timing import timing

        tm = timing(log.table, journey, as_of=end, validate=False)
        stale_hours = _stale_hours(journey, _cold_hours(tm), STALE_FACTOR)
    ct = _cases(log.table, journey, end)
    closed = _closed(ct, journey, end)
    settled = _settled(closed, end, stale_hours)
    if settled is not None:
        closed = settled
    begin = as_timestamp(start)
    if begin is not None:
        closed = closed[closed["decided_at"] > pd.Timestamp(begin)].reset_index(drop=True)
    if encoder is None:
        encoder = _encoder_for(log, journey, end)
    if closed.empty:
        raise LastmileError(f"no case in the last mile had closed by {end:%Y-%m-%d %H:%M}",
                            hint="use a later --as-of, or a longer log")
    points, spacing = _grid(closed, begin, end, stale_hours, max_rows)
    import ibis

    case_filter = ibis.memtable({"case_id": closed["case_id"].tolist()})
    X, info, enc_desc = _point_features(encoder, log, end, points, case_filter)
    time_attrs = _time_attributes(log)
    known = _first_known(log, time_attrs, case_filter) if time_attrs else pd.DataFrame()
    extra = _extras(info, closed, journey, known, time_attrs)
    keep = np.ones(len(info), dtype=bool)
    if stale_hours is not None:
        keep &= extra["idle_hours"].to_numpy() <= stale_hours
    X = pd.concat([X.drop(columns=[c for c in CALENDAR if c in X.columns]), extra],
                  axis=1)[keep].reset_index(drop=True)
    info = info[keep].reset_index(drop=True)
    weight = _weights(info.pop("grid").to_numpy(dtype=bool), info["case_id"], per_case)
    lab = closed.set_index("case_id")
    info["entered_at"] = lab.loc[info["case_id"], "entered_last_mile_at"].to_numpy()
    info["stages_to_finish"] = extra["stages_to_finish"].to_numpy()[keep]
    y = lab.loc[info["case_id"], "label"].to_numpy().astype(int)
    desc = {n: n for n in X.columns}
    desc.update(enc_desc)
    desc.update(_descriptions(time_attrs))
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    ts = TrainingSet(X=X, y=y, rows=info, weight=weight, categorical=categorical,
                     descriptions=desc,
                     spacing_hours=spacing, stale_hours=stale_hours,
                     settled=settled is not None or stale_hours is None,
                     still_open=int((ct["status"] == "open").sum()))
    return ts, encoder


# ------------------------------------------------------------------------------- model


def train_risk_model(
    events: Any,
    journey: Journey,
    as_of: Any = None,
    *,
    max_rows: int = 40_000,
    stale_hours: float | None = None,
    screen: bool | None = None,
    **model_params: Any,
) -> Any:
    """A :class:`~lastmile.risk.RiskModel` of last-mile failure, learned as of ``as_of``.

    Trained on the cases that had closed by ``as_of`` (default: the end of the log), using only
    events up to then; see the module docstring for the prediction points. ``model_params`` go
    to :class:`~lastmile.risk.RiskModel`. The model's ``definition`` is what it is for: the kind
    of model, the label and the journey's key (what :func:`load_model` checks); its
    ``metadata`` records the rest: the journey's name, the training moment, the settings and
    counts. With ``screen`` (default :data:`SCREEN`) the case attributes that the drivers
    analysis finds no link for are left out (:func:`screened_attributes`; ``metadata``
    ``screened_out``).

    >>> from lastmile.demo import generate
    >>> s = generate("carsales", cases=400, seed=1)
    >>> j = Journey.from_dict(s.journey_dict)
    >>> m = train_risk_model(s.events, j, as_of="2024-06-01")
    >>> m.definition["kind"], m.metadata["as_of"]
    ('lastmile.last-mile-risk/2', '2024-06-01T00:00:00')
    >>> sorted(m.definition)
    ['journey', 'kind', 'label']
    >>> "idle_hours" in m.feature_names_ and "n_Contract_signed" not in m.feature_names_
    True
    """
    from lastmile.risk import RiskModel

    log = _as_log(events)
    end = _end_of(log.table, as_of)
    screened_out: list[str] = []
    encoder = None
    if screen is None:
        screen = SCREEN
    if screen:
        keep, screened_out = screened_attributes(log, journey, end)
        if keep is not None:
            encoder = _encoder_for(log, journey, end, attributes=keep)
    ts, encoder = training_set(log, journey, end, max_rows=max_rows, stale_hours=stale_hours,
                               encoder=encoder)
    if len(np.unique(ts.y)) < 2:
        raise LastmileError(
            f"the {ts.n_cases} cases closed by {end:%Y-%m-%d %H:%M} all ended the same way",
            hint="a risk model needs both finished and failed cases; use a later --as-of")
    # features whose values at `end` the training cases never had (cohort labels)
    ct = _cases(log.table, journey, end)
    live = ct[(ct["status"] == "open") & (
        (pd.Timestamp(end) - ct["last_event_at"]).dt.total_seconds() / _H
        <= (ts.stale_hours if ts.stale_hours is not None else np.inf))]
    time_attrs = _time_attributes(log)
    now = _encode_now(encoder, time_attrs, log, journey, end, ct, live["case_id"].tolist())
    novel = [c for c in _cohort_features(encoder, _upto(log, end)) if c in ts.X.columns]
    novel += [c for c in _novel_categories(ts.X, now) if c not in novel]
    if novel:
        ts.X = ts.X.drop(columns=novel)
        ts.categorical = [c for c in ts.categorical if c not in novel]
    definition = {
        "kind": MODEL_KIND,
        "label": "last-mile failure (failed, abandoned, or finished and reversed)",
        "journey": journey_key(journey),
    }
    metadata = {
        "journey_name": journey.name,
        "as_of": end.isoformat(),
        "spacing_hours": ts.spacing_hours,
        "stale_hours": ts.stale_hours,
        "time_attributes": time_attrs,
        "left_out": novel,
        "screened_out": screened_out,
        "n_cases": ts.n_cases,
        "settled": ts.settled,
        "n_failed": int(pd.Series(ts.y).groupby(ts.rows["case_id"].to_numpy()).max().sum()),
        "n_points": len(ts),
    }
    # several rows per case: a leaf needs the rows of enough different cases; how many is
    # chosen on the model's held-back slice of the training cases (CASES_PER_LEAF)
    per_case = len(ts) / max(ts.n_cases, 1)
    leaf = [int(max(40, round(k * per_case))) for k in CASES_PER_LEAF]
    # each tree may use half of the features (FEATURE_FRACTION): a deadline feature cannot
    # take nearly every split, and weak case-level effects get learned too
    params: dict[str, Any] = {"num_leaves": 7, "min_child_samples": leaf[0],
                              "max_cat_to_onehot": 64, "n_estimators": 400,
                              "feature_fraction": FEATURE_FRACTION}
    if "min_child_samples" not in model_params:
        params["candidates"] = [{"min_child_samples": n} for n in dict.fromkeys(leaf)]
    params.update(model_params)
    model = RiskModel(definition=definition, metadata=metadata, encoder=encoder, **params)
    model.fit(ts.features(), ts.y, sample_weight=ts.weight)
    if params.get("select_features"):
        metadata["not_helping"] = list(model.dropped_features_)
    return model


def load_model(path: str | Path, journey: Journey | None = None) -> Any:
    """Read a model written by ``lastmile train``; refuse one trained for another journey.

    The journeys must agree on what defines the label: stages, finish, last mile, failure,
    reversal and timeout (name, value and cost may differ).
    """
    from lastmile.risk import RiskModel

    model = RiskModel.load(path)
    definition = model.definition or {}
    if not isinstance(definition, dict) or definition.get("kind") != MODEL_KIND:
        raise LastmileError(f"{path} is a risk model, but not one of the last mile",
                            hint="train one with `lastmile train LOG -o model.lm`")
    if journey is not None and definition.get("journey") != journey_key(journey):
        have = (_metadata(model).get("journey_name")
                or _journey_words(definition.get("journey")))
        want = journey.name or _journey_words(journey_key(journey))
        raise LastmileError(f"{path} was trained for another journey ({have!r}, not {want!r})",
                            hint="train a model for this journey with `lastmile train`")
    return model


def _journey_words(key: Any) -> str:
    if not isinstance(key, dict):
        return "?"
    return f"{key.get('last_mile')} → {key.get('finish')}"


def prediction_features(model: Any, events: Any, journey: Journey, as_of: Any = None,
                        cases: Sequence[str] | None = None) -> pd.DataFrame:
    """The features of the open last-mile cases as they stood at ``as_of``, for ``model``.

    Only events up to ``as_of`` are read. Indexed by case id; columns as the model wants them.
    """
    log = _as_log(events)
    end = _end_of(log.table, as_of)
    ct = _cases(log.table, journey, end)
    if cases is None:
        cases = ct.loc[ct["status"] == "open", "case_id"].tolist()
    return _features_at(model, log, journey, end, ct, list(cases))


def _features_at(model: Any, log: Any, journey: Journey, end: datetime, ct: pd.DataFrame,
                 ids: list[str]) -> pd.DataFrame:
    names = list(model.feature_names_)
    if model.encoder is None:
        raise LastmileError("the risk model has no prefix encoder",
                            hint="train it with `lastmile train`")
    time_attrs = list(_metadata(model).get("time_attributes", []))
    X = _encode_now(model.encoder, time_attrs, log, journey, end, ct, ids)
    for n in names:
        if n not in X.columns:
            X[n] = np.nan
    return X[names]


def _encode_now(encoder: Any, time_attrs: Sequence[str], log: Any, journey: Journey,
                end: datetime, ct: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Every feature of the cases ``ids`` as they stood at ``end`` (indexed by case id)."""
    import ibis

    if not ids:
        return pd.DataFrame(index=pd.Index([], name="case_id"))
    view = _upto(log, end)
    feats = encoder.transform(view, as_of=end, cases=ids)
    X = feats.X.reset_index(drop=True)
    info = pd.DataFrame({"case_id": feats.case_ids.astype(str),
                         "t": pd.Timestamp(end),
                         "last_at": pd.to_datetime(feats.meta["timestamp"]).to_numpy()})
    time_attrs = [a for a in time_attrs if a in log.table.columns]
    filt = ibis.memtable({"case_id": ids})
    known = _first_known(view, time_attrs, filt) if time_attrs else pd.DataFrame()
    extra = _extras(info, ct, journey, known, time_attrs)
    X = pd.concat([X, extra], axis=1)
    X.index = pd.Index(info["case_id"].to_numpy(), name="case_id")
    return X


def _cohort_features(encoder: Any, view: Any) -> list[str]:
    """Features of cohort labels: categorical attributes whose every value occurs in a short
    stretch of time only (the election, the race edition, the school year).

    A cohort label says *when* a case ran, not what it is: the model would learn the history
    of past cohorts (like a calendar month) and meet a new value for every live case. An
    attribute is a cohort label when the interquartile range of the first-event times of a
    value's cases is, for the typical value, under a quarter of the range spanned by 90 % of
    all cases (5th to 95th percentile) — and it has at least two values. (A value spread
    evenly over the time has an interquartile range of about half of that.)
    """
    out = []
    t = view.table
    for a, (_, dtype) in getattr(encoder, "attr_kinds_", {}).items():
        if dtype != "category" or a not in t.columns:
            continue
        w = t.filter(t[a].notnull())
        firsts = w.group_by(["case_id", a]).agg(_t=w.timestamp.min()).execute()
        if firsts[a].nunique() < 2 or len(firsts) < 20:
            continue
        secs = pd.to_datetime(firsts["_t"]).astype("int64") / 1e9
        whole = float(np.subtract(*np.percentile(secs, [95, 5])))
        if whole <= 0:
            continue
        groups = secs.groupby(firsts[a].astype(str).to_numpy())
        spread = groups.quantile(0.75) - groups.quantile(0.25)
        typical = float(np.average(spread, weights=groups.size()))
        if typical < 0.25 * whole:
            out.append(f"last_{_slug(a)}")
    return out


def _novel_categories(train: pd.DataFrame, now: pd.DataFrame) -> list[str]:
    """Categorical features whose value, for most live cases, no training case ever had.

    Cohort labels (the election, the race edition, the school year) are like that: a new
    cohort's value was never seen by the model, which can only guess from it.
    """
    out = []
    for c in train.columns:
        if not isinstance(train[c].dtype, pd.CategoricalDtype) or c not in now.columns:
            continue
        seen = set(train[c].dropna().astype(str).unique())
        vals = now[c].dropna().astype(str)
        if len(vals) and (~vals.isin(seen)).mean() > 0.5:
            out.append(c)
    return out


# ------------------------------------------------------------------------------- reasons


def _dur(hours: float) -> str:
    """A readable duration.

    >>> _dur(0.25), _dur(30), _dur(100)
    ('15 min', '30 h', '4.2 d')
    """
    h = abs(float(hours))
    if h < 1:
        return f"{h * 60:.0f} min"
    if h < 48:
        return f"{h:.0f} h"
    return f"{h / 24:.1f} d"


def _num(v: Any) -> str:
    """A value in a reason or a summary.

    >>> _num(True), _num(12345), _num(0.1234), _num(250.4)
    ('yes', '12,345', '0.123', '250')
    """
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return str(v)
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def plain_reason(reason: dict[str, Any]) -> str:
    """A reason of :meth:`RiskModel.reasons` in plain words.

    >>> plain_reason({"feature": "idle_hours", "value": 80.0, "description": ""})
    'silent for 3.3 d'
    >>> plain_reason({"feature": "n_Coursework_missed", "value": 1,
    ...               "description": "times 'Coursework missed' so far"})
    "'Coursework missed' happened 1 time so far"
    >>> plain_reason({"feature": "resource_at_Door_knock", "value": "Canvasser 07",
    ...               "description": "who did the last 'Door knock'"})
    "'Door knock' by Canvasser 07"
    >>> plain_reason({"feature": "last_plan", "value": "app only",
    ...               "description": "plan (last known)"})
    'plan: app only'
    """
    f, v = reason["feature"], reason.get("value")
    desc = reason.get("description") or f
    if v is None:
        return f"{desc}: unknown"
    if f == "idle_hours":
        return f"silent for {_dur(v)}"
    if f == "hours_in_last_mile":
        return f"in the last mile for {_dur(v)}"
    if f == "stages_to_finish":
        return f"{int(v)} stage{'s' if int(v) != 1 else ''} still to go"
    if f.startswith("hours_to_"):
        what = desc.removeprefix("hours until ")
        return f"{_dur(v)} until {what}" if v >= 0 else f"{what} passed {_dur(v)} ago"
    if f.startswith("n_") and desc.startswith("times '"):
        act = desc[len("times "):].removesuffix(" so far")
        if int(v) == 0:
            return f"no {act} so far"
        return f"{act} happened {int(v)} time{'s' if int(v) != 1 else ''} so far"
    if f.startswith("nres_") and desc.startswith("events by "):
        who = desc[len("events by "):].removesuffix(" so far")
        if int(v) == 0:
            return f"nothing done by {who} so far"
        return f"{int(v)} event{'s' if int(v) != 1 else ''} by {who} so far"
    if f == "last_activity":
        return f"last activity: {v}"
    if f == "last_resource":
        return f"last done by {v}"
    if f.startswith("resource_at_") and desc.startswith("who did the last '"):
        return f"{desc[len('who did the last '):]} by {v}"
    if f.startswith("nval_") and desc.startswith("events with "):
        what = desc[len("events with "):].removesuffix(" so far")
        return f"{int(v)} event{'s' if int(v) != 1 else ''} with {what} so far"
    if f == "elapsed_days":
        return f"{_dur(float(v) * 24)} since its first event"
    if f == "since_prev_hours":
        return f"{_dur(v)} between its last two events"
    if f == "max_gap_hours":
        return f"longest wait so far {_dur(v)}"
    if f == "events_per_day":
        return f"{float(v):.2g} events per day"
    if f == "gap_ratio":
        return f"last gap {float(v):.1f}× its usual gap"
    if desc.endswith(" (last known)"):
        return f"{desc.removesuffix(' (last known)')}: {_num(v)}"
    return f"{desc}: {_num(v)}"


# --------------------------------------------------------------------------------- queue


@dataclass(repr=False)
class Queue:
    """The follow-through queue at one moment; build it with :func:`follow_through_queue`.

    Attributes
    ----------
    ranked_
        Every queued case, highest priority first: ``rank``, ``case``, ``stage``, ``risk``,
        ``value``, ``expected_loss``, ``priority``, ``entered_at``, ``last_event_at``,
        ``hours_in_last_mile``, ``idle_hours``, ``deadline``, ``deadline_kind`` (``going
        cold``, ``timeout`` or the name of a cut-off attribute), ``hours_to_deadline``,
        ``overdue``, ``reasons`` (list of text) and ``reason_details`` (the features behind
        them).
    cutoffs
        Time attributes found to be hard cut-offs (:func:`cutoff_attributes`): a case's
        follow-up deadline is never after its own value of them.
    past_cutoff_
        Open last-mile cases left out because their cut-off has passed (they can no longer
        finish): ``case``, ``stage``, ``cutoff`` (the attribute), ``cutoff_at``,
        ``last_event_at``.
    stale_
        Open last-mile cases left out as stale (silent longer than ``stale_hours``).
    """

    journey: Journey
    as_of: datetime
    capacity: int | None
    going_cold_hours: float | None
    going_cold_estimated: bool
    stale_hours: float | None
    ranked_: pd.DataFrame
    stale_: pd.DataFrame
    model_: Any
    model_source: str
    open_cases: int
    has_value: bool
    weak_reason: str | None = None
    cutoffs: list[str] = field(default_factory=list)
    past_cutoff_: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["case", "stage", "cutoff", "cutoff_at", "last_event_at"]))
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model_ranks(self) -> bool:
        """Whether the risk model orders the queue (see :func:`weak_model_reason`)."""
        return self.weak_reason is None

    @property
    def queue_(self) -> pd.DataFrame:
        """The cases within ``capacity`` (all without it)."""
        return self.ranked_ if self.capacity is None else self.ranked_.head(self.capacity)

    def to_frame(self) -> pd.DataFrame:
        """The queue within capacity, reasons joined by ``"; "`` (for CSV)."""
        df = self.queue_.drop(columns=["reason_details"]).copy()
        df["reasons"] = df["reasons"].map("; ".join)
        return df.reset_index(drop=True)

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for row in self.queue_.to_dict(orient="records"):
            rec: dict[str, Any] = {}
            for k, v in row.items():
                if isinstance(v, pd.Timestamp):
                    v = v.isoformat()
                elif isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, float) and not math.isfinite(v):
                    v = None
                rec[k] = v
            out.append(rec)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, schema ``lastmile.queue/1`` (see ``docs/queue.md``)."""
        m = self.model_
        return {
            "schema": SCHEMA,
            "as_of": self.as_of.isoformat(),
            "journey": {"name": self.journey.name, "last_mile": self.journey.last_mile,
                        "finish": self.journey.finish, "value": self.journey.value},
            "going_cold_hours": self.going_cold_hours,
            "going_cold_estimated": self.going_cold_estimated,
            "stale_after_hours": self.stale_hours,
            "cutoffs": list(self.cutoffs),
            "capacity": self.capacity,
            "model": {"source": self.model_source,
                      "trained_as_of": _metadata(m).get("as_of"),
                      "training_cases": int(getattr(m, "n_train_cases_", 0)),
                      "fingerprint": getattr(m, "fingerprint_", None),
                      "ranks": self.model_ranks, "not_ranking_because": self.weak_reason,
                      "heldback": _clean_evidence(getattr(m, "heldback_", None))},
            "counts": self.counts,
            "expected_loss": {"queued": _fin(self.ranked_["expected_loss"].sum()),
                              "shown": _fin(self.queue_["expected_loss"].sum())},
            "queue": self._records(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False,
                          default=str)

    @property
    def counts(self) -> dict[str, int]:
        """Open last-mile cases, stale ones and those past a cut-off left out, queued,
        shown, overdue."""
        return {"open_in_last_mile": self.open_cases, "stale": len(self.stale_),
                "past_cutoff": len(self.past_cutoff_),
                "queued": len(self.ranked_), "shown": len(self.queue_),
                "overdue": int(self.ranked_["overdue"].sum())}

    @property
    def summary(self) -> str:
        """A few readable lines for a terminal."""
        c = self.counts
        lines = [f"follow-through queue as of {self.as_of:%Y-%m-%d %H:%M}: {c['queued']:,} "
                 f"live cases in the last mile ('{self.journey.last_mile}' → "
                 f"'{self.journey.finish}')"]
        if c["stale"]:
            lines.append(f"{c['stale']:,} more went silent over {_dur(self.stale_hours or 0)}"
                         " ago: abandoned, not queued")
        if c["past_cutoff"]:
            names = ", ".join(sorted(set(self.past_cutoff_["cutoff"].astype(str))))
            lines.append(f"{c['past_cutoff']:,} more are past their {names}: too late to "
                         "finish, not queued")
        if self.going_cold_hours is not None:
            how = "estimated: no going-cold point in the data; 90 % of finishers by then" \
                if self.going_cold_estimated else "going-cold point"
            cut = "".join(f", or {a} if sooner" for a in self.cutoffs)
            lines.append(f"follow-up deadline: {_dur(self.going_cold_hours)} after entering "
                         f"({how}){cut}; {c['overdue']:,} overdue")
        if len(self.ranked_):
            if self.model_ranks:
                order = f"{'risk × value' if self.has_value else 'risk'}, weighted by urgency"
            else:
                order = "value, weighted by urgency" if self.has_value else "urgency"
            lines.append(f"ranked by {order}; expected loss "
                         f"{_num(float(self.ranked_['expected_loss'].sum()))} in all")
        if self.capacity is not None and c["queued"] > c["shown"]:
            share = self.queue_["expected_loss"].sum() / max(
                self.ranked_["expected_loss"].sum(), 1e-12)
            lines.append(f"capacity {self.capacity}: the top {c['shown']} carry "
                         f"{share:.0%} of the expected loss")
        lines.append(f"risk model: {self.model_source}")
        if not self.model_ranks:
            lines.append(
                f"warning: the risk model does not rank the queue: {self.weak_reason}; every "
                f"case gets the average risk ({_average_risk(self.model_):.1%}) and the queue "
                "is ordered by "
                f"{'value and ' if self.has_value else ''}urgency (--use-weak-model to rank "
                "by it anyway)")
        if not _metadata(self.model_).get("settled", True):
            lines.append("warning: fewer than 30 cases had the full follow-up time to close "
                         "before then; the model learned from the quick ones and its risks "
                         "are biased")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Queue(as_of={self.as_of:%Y-%m-%d %H:%M}, queued={len(self.ranked_)})"


#: A model learned from fewer failed (or finished) cases than this does not rank the queue.
MIN_OUTCOME_CASES = 30


def weak_model_reason(model: Any) -> str | None:
    """Why ``model`` should not rank a queue, or ``None`` if it may.

    It should not if it learned from fewer than :data:`MIN_OUTCOME_CASES` failed (or
    finished) cases, or if on its held-back cases it has not shown that it ranks better than
    chance (the lower end of the 90 % interval of its AUC there is not above 0.5; see
    :class:`~lastmile.risk.RiskModel`). A model without these records (trained elsewhere, or
    by an older lastmile) is trusted.

    >>> weak_model_reason(SimpleNamespace(metadata={"n_cases": 404, "n_failed": 18}))
    'it learned from only 18 failed cases (fewer than 30)'
    >>> print(weak_model_reason(SimpleNamespace(metadata={"n_cases": 400, "n_failed": 90},
    ...     heldback_={"cases": 80, "failed_cases": 20, "auc": 0.55, "auc_low": 0.41,
    ...                "auc_high": 0.69, "better_than_chance": False})))  # doctest: +ELLIPSIS
    it has not shown that it ranks better than chance (AUC 0.55 on 80 held-back cases ...)
    >>> weak_model_reason(SimpleNamespace(metadata={"n_cases": 400, "n_failed": 90})) is None
    True
    """
    meta = _metadata(model)
    n_cases, n_failed = meta.get("n_cases"), meta.get("n_failed")
    if n_cases is not None and n_failed is not None:
        for n, what in ((int(n_failed), "failed"), (int(n_cases) - int(n_failed), "finished")):
            if n < MIN_OUTCOME_CASES:
                return f"it learned from only {n:,} {what} cases (fewer than {MIN_OUTCOME_CASES})"
    h = getattr(model, "heldback_", None)
    if h is not None and not h.get("better_than_chance", True):
        return f"it has not shown that it ranks better than chance ({_heldback_text(h)})"
    return None


def _clean_evidence(h: dict[str, Any] | None) -> dict[str, Any] | None:
    """The held-back evidence for JSON (NaN as null)."""
    return None if h is None else {k: _nan_none(v) for k, v in h.items()}


def _average_risk(model: Any) -> float:
    """The share of the model's training cases that failed (of its rows, if not recorded)."""
    meta = _metadata(model)
    if meta.get("n_cases"):
        return float(meta.get("n_failed", 0)) / float(meta["n_cases"])
    return float(model.positive_rate_)


def _heldback_text(h: dict[str, Any]) -> str:
    """The held-back evidence in words, e.g. for the queue's summary."""
    if h.get("auc") is None or not math.isfinite(float(h["auc"])):
        return (f"its held-back slice ({h.get('cases', 0):,} cases, "
                f"{h.get('failed_cases', 0):,} failed) could not test it")
    return (f"AUC {h['auc']:.2f} on {h['cases']:,} held-back cases ({h['failed_cases']:,} "
            f"failed), 90 % interval {h['auc_low']:.2f}–{h['auc_high']:.2f}")


def _fin(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def follow_through_queue(
    events: Any,
    journey: Journey,
    as_of: Any = None,
    model: Any = None,
    capacity: int | None = None,
    *,
    stale_factor: float = STALE_FACTOR,
    reasons: int = 3,
    use_weak_model: bool = False,
) -> Queue:
    """The open cases in the last mile at ``as_of``, ranked, with reasons and deadlines.

    Parameters
    ----------
    events
        A :class:`lastmile.Log`, an Ibis event table or a pandas DataFrame of events.
    journey
        The journey (last mile, finish, failure, reversal, timeout, value).
    as_of
        The morning the queue is for (default: the last event of the log). Only events up to
        then are read.
    model
        A :class:`~lastmile.risk.RiskModel` from :func:`train_risk_model` (or a path to one);
        default: trained on the spot on the cases closed by ``as_of``.
    capacity
        How many cases the team can follow up; the queue shows the top ``capacity``.
    stale_factor
        A case silent for more than this many going-cold points (or past the timeout) is stale.
    reasons
        How many reasons per case.
    use_weak_model
        Rank by the model's risk even when it has not shown, on its held-back cases, that it
        ranks better than chance (see below). By default such a model does not rank: every
        case gets the average risk of the training cases and no reasons, so the queue is
        ordered by value and urgency — a model learned from a handful of failures would
        otherwise put noise on top with an air of precision.

    Returns
    -------
    Queue
    """
    from lastmile.timing import timing

    if capacity is not None and int(capacity) < 1:
        raise LastmileError(f"the capacity must be at least 1, not {capacity}")
    log = _as_log(events)
    end = _end_of(log.table, as_of)
    tm = timing(log.table, journey, as_of=end, validate=False)
    cold = _cold_hours(tm)
    stale_h = _stale_hours(journey, cold, stale_factor)
    source = "trained on the spot"
    if isinstance(model, (str, Path)):
        source = f"loaded from {model}"
        model = load_model(model, journey)
    elif model is not None:
        source = "given"
    else:
        model = train_risk_model(log, journey, end, stale_hours=stale_h)
    trained = _metadata(model)
    if source != "trained on the spot" and trained.get("as_of"):
        source += f", trained as of {trained['as_of'][:16].replace('T', ' ')}"
    if source == "trained on the spot":
        source += (f" on {model.n_train_cases_:,} cases closed by "
                   f"{end:%Y-%m-%d %H:%M} ({trained.get('n_failed', '?')} failed)")
    ct = _cases(log.table, journey, end)
    live = ct[ct["status"] == "open"].copy()
    live["idle_hours"] = (pd.Timestamp(end) - live["last_event_at"]).dt.total_seconds() / _H
    stale_mask = (live["idle_hours"] > stale_h) if stale_h is not None else \
        pd.Series(False, index=live.index)
    stale = live[stale_mask]
    live = live[~stale_mask]
    # cut-offs: each live case's own earliest one; a case past it can no longer finish
    cutoffs, cut = _cutoff_times(log, ct, end)
    at_live = cut.reindex(live["case_id"])
    past = (at_live["cutoff_at"] < pd.Timestamp(end)).to_numpy()
    past_out = pd.DataFrame({"case": live.loc[past, "case_id"].astype(str).to_numpy(),
                             "stage": live.loc[past, "stage"].to_numpy(),
                             "cutoff": at_live["cutoff"].to_numpy()[past],
                             "cutoff_at": at_live["cutoff_at"].to_numpy()[past],
                             "last_event_at": live.loc[past, "last_event_at"].to_numpy()})
    live = live[~past]
    X = _features_at(model, log, journey, end, ct, live["case_id"].tolist())
    live = live.set_index("case_id").loc[X.index].reset_index()
    weak = None if use_weak_model else weak_model_reason(model)
    if weak is None:
        risk = model.predict_risk(X) if len(X) else np.array([])
        details = model.reasons(X, top=reasons) if len(X) else []
    else:
        risk = np.full(len(X), _average_risk(model))
        details = [[] for _ in range(len(X))]
    hours_in = (pd.Timestamp(end) - live["entered_last_mile_at"]).dt.total_seconds() / _H
    has_value = bool(journey.value) and live["value"].notna().any()
    value = live["value"].astype(float)
    value = value.fillna(value.median()) if has_value else pd.Series(1.0, index=live.index)
    if cold is not None:
        dl_cold = (live["entered_last_mile_at"] + pd.to_timedelta(cold, unit="h")).dt.round("s")
    else:
        dl_cold = pd.Series(pd.NaT, index=live.index, dtype="datetime64[ns]")
    kind = pd.Series("going cold", index=live.index)
    deadline = dl_cold
    if journey.timeout is not None:
        deadline, kind = _take_sooner(deadline, kind, live["last_event_at"] + journey.timeout,
                                      "timeout")
    mine = cut.reindex(live["case_id"]).set_axis(live.index)
    deadline, kind = _take_sooner(deadline, kind, mine["cutoff_at"], mine["cutoff"])
    kind = kind.where(deadline.notna(), None)
    # urgency grows from 0.5 at entry to 1 at the case's own deadline (1 without a deadline)
    window = (deadline - live["entered_last_mile_at"]).dt.total_seconds() / _H
    urgency = (0.5 + 0.5 * np.minimum(1.0, hours_in / window.where(window > 0))).fillna(1.0)
    to_deadline = (deadline - pd.Timestamp(end)).dt.total_seconds() / _H
    frame = pd.DataFrame({
        "case": live["case_id"].astype(str),
        "stage": live["stage"],
        "risk": np.asarray(risk, dtype=float),
        "value": value.to_numpy() if has_value else np.nan,
        "expected_loss": np.asarray(risk, dtype=float) * value.to_numpy(),
        "urgency": np.asarray(urgency, dtype=float),
        "entered_at": live["entered_last_mile_at"],
        "last_event_at": live["last_event_at"],
        "hours_in_last_mile": hours_in.to_numpy(),
        "idle_hours": live["idle_hours"].to_numpy(),
        "deadline": deadline,
        "deadline_kind": kind,
        "hours_to_deadline": to_deadline.to_numpy(),
        "overdue": (to_deadline < 0).fillna(False).to_numpy(dtype=bool),
    })
    frame["priority"] = frame["expected_loss"] * frame["urgency"]
    frame["reasons"] = [[plain_reason(r) for r in rs] for rs in details]
    frame["reason_details"] = details
    frame = frame.sort_values(["priority", "hours_to_deadline", "case"],
                              ascending=[False, True, True], kind="mergesort")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    cols = ["rank", "case", "stage", "risk", "value", "expected_loss", "urgency", "priority",
            "entered_at", "last_event_at", "hours_in_last_mile", "idle_hours", "deadline",
            "deadline_kind", "hours_to_deadline", "overdue", "reasons", "reason_details"]
    frame = frame[cols].reset_index(drop=True)
    stale_out = pd.DataFrame({"case": stale["case_id"].astype(str),
                              "stage": stale["stage"],
                              "last_event_at": stale["last_event_at"],
                              "idle_hours": stale["idle_hours"]}).reset_index(drop=True)
    return Queue(journey=journey, as_of=end, capacity=None if capacity is None else int(capacity),
                 going_cold_hours=cold, going_cold_estimated=tm.going_cold_ is None and
                 cold is not None, stale_hours=stale_h, ranked_=frame, stale_=stale_out,
                 model_=model, model_source=source,
                 open_cases=int(len(live) + len(stale) + len(past_out)),
                 has_value=has_value, weak_reason=weak, cutoffs=cutoffs,
                 past_cutoff_=past_out)


# ----------------------------------------------------------------------------- evaluation


#: ``evaluate_model``'s intervals: this level, from this many draws of the test cases.
EVALUATION_LEVEL = 0.9
EVALUATION_RESAMPLES = 200


@dataclass(repr=False)
class ModelEvaluation:
    """A last-mile risk model judged on later cases than it learned from.

    ``evaluation`` is :class:`lastmile.risk.Evaluation` over the test prediction points (AUC,
    AUC by prefix length, Brier score, calibration table); ``by_stages`` is the AUC by stages
    remaining to the finish; ``case_auc`` the AUC with one point per case (at entry);
    ``still_open`` the cases in the last mile still open at the end of the test window, left
    out because their outcome is not known yet (when many are, the closed ones lean to the
    quick outcomes). ``auc_interval`` and ``case_auc_interval`` are 90 % bootstrap intervals
    of the two AUCs that draw whole test cases (:func:`lastmile.risk.evaluate.auc_interval`):
    how far the figure could move with other cases.
    """

    evaluation: Any
    by_stages: pd.DataFrame
    trained_as_of: str | None
    test_from: str
    test_to: str
    test_cases: int
    in_sample: bool
    case_auc: float | None = None
    still_open: int = 0
    auc_interval: tuple[float, float] = (float("nan"), float("nan"))
    case_auc_interval: tuple[float, float] = (float("nan"), float("nan"))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` (schema ``lastmile.queue-evaluation/1``)."""
        ev = self.evaluation.to_dict()
        return {"schema": "lastmile.queue-evaluation/1", "trained_as_of": self.trained_as_of,
                "test_from": self.test_from, "test_to": self.test_to,
                "test_cases": self.test_cases, "still_open": self.still_open,
                "in_sample": self.in_sample,
                "auc": _nan_none(ev["auc"]), "auc_at_entry": _nan_none(self.case_auc),
                "interval_level": EVALUATION_LEVEL,
                "auc_interval": _interval(self.auc_interval),
                "auc_at_entry_interval": _interval(self.case_auc_interval),
                "weighted_auc_by_prefix": _nan_none(ev["weighted_auc"]),
                "brier": _nan_none(ev["brier"]), "n": ev["n"], "positives": ev["positives"],
                "by_prefix": _clean(ev["by_prefix"]),
                "by_stages_to_finish": _clean(self.by_stages.to_dict(orient="records")),
                "calibration": _clean(ev["calibration"])}

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_frame(self) -> pd.DataFrame:
        """The AUC by stages remaining to the finish."""
        return self.by_stages.copy()

    @property
    def summary(self) -> str:
        """Readable lines."""
        ev = self.evaluation
        head = (f"trained as of {self.trained_as_of}; tested on {self.test_cases:,} cases "
                f"closed from {self.test_from} to {self.test_to}, seen at "
                f"{ev.n:,} prediction points ({ev.positives:,} of a case that failed)")
        lines = [head]
        if self.in_sample:
            lines.append("warning: no case closed after the training moment; these are the "
                         "training cases (in-sample, optimistic)")
        if self.still_open:
            share = self.still_open / (self.still_open + self.test_cases)
            lines.append(f"left out: {self.still_open:,} cases still open in the last mile at "
                         f"the end ({share:.0%}), their outcome unknown"
                         + ("; the closed ones lean to quick outcomes (quick failures, quick "
                            "finishes): read the calibration with care" if share >= 0.25
                            else ""))
        entry = ""
        if self.case_auc is not None and not math.isnan(self.case_auc):
            entry = (f"; at entry into the last mile {self.case_auc:.3f}"
                     f"{_interval_text(self.case_auc_interval)}")
        lines.append(f"AUC {ev.auc:.3f}{_interval_text(self.auc_interval)}{entry}; "
                     f"Brier {ev.brier:.4f}")
        if _interval(self.auc_interval) is not None:
            lines.append(f"(intervals: {EVALUATION_LEVEL:.0%}, from {EVALUATION_RESAMPLES} "
                         "draws of the test cases with replacement)")
        return "\n".join(lines)


def _interval(bounds: tuple[float, float]) -> list[float] | None:
    lo, hi = bounds
    return None if math.isnan(lo) or math.isnan(hi) else [round(lo, 4), round(hi, 4)]


def _interval_text(bounds: tuple[float, float]) -> str:
    got = _interval(bounds)
    return "" if got is None else f" ({got[0]:.3f}–{got[1]:.3f})"


def _nan_none(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _clean(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _nan_none(v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in records]


def entry_points(ts: TrainingSet) -> np.ndarray:
    """Which rows of ``ts`` are a case's point at its entry into the last mile (one per case)."""
    first = ~ts.rows["case_id"].duplicated().to_numpy()
    return first & (ts.rows["t"].to_numpy() == ts.rows["entered_at"].to_numpy())


def evaluate_model(
    events: Any,
    journey: Journey,
    model: Any = None,
    as_of: Any = None,
    *,
    train_ratio: float = 0.8,
    bins: int = 10,
) -> ModelEvaluation:
    """AUC overall, by prefix length and by stages to the finish, Brier score, calibration.

    With ``model`` (a :class:`~lastmile.risk.RiskModel` or a path), the test cases are those
    that closed after the moment it was trained as of, up to ``as_of`` (default: the end of
    the log), seen at prediction points after that moment. Without, a temporal split: cases
    ordered by their first event, the moment the first of the last ``1 - train_ratio`` started
    is the training moment (:func:`lastmile.risk.temporal_split`), a model is trained as of it
    and tested on what came after.
    """
    from lastmile.risk import evaluate as risk_evaluate
    from lastmile.risk import temporal_split

    log = _as_log(events)
    end = _end_of(log.table, as_of)
    if isinstance(model, (str, Path)):
        model = load_model(model, journey)
    if model is None:
        split = temporal_split(_upto(log, end).table, train_ratio)
        start = pd.Timestamp(split.split_time).to_pydatetime()
        model = train_risk_model(log, journey, start)
    else:
        start = as_timestamp(_metadata(model).get("as_of"))
    in_sample = False
    test = None
    if start is not None and start < end:
        try:
            test, _ = training_set(log, journey, end, start=start, encoder=model.encoder)
        except LastmileError:
            test = None
    if test is None or len(test) == 0 or len(np.unique(test.y)) < 2:
        in_sample = True
        start = None
        test, _ = training_set(log, journey, end, encoder=model.encoder)
    X = test.X.reindex(columns=model.feature_names_)
    p = model.predict_risk(X)
    # each case's points weigh as in training (a lingering case's grid points share the weight
    # of ``per_case`` points), so that long silences do not fill the measures
    ev = risk_evaluate(test.y, p, test.rows["prefix_length"].to_numpy(), bins=bins,
                       sample_weight=test.weight)
    by = risk_evaluate(test.y, p, test.rows["stages_to_finish"].to_numpy(), bins=bins,
                       sample_weight=test.weight).by_prefix
    by = by.rename(columns={"prefix_length": "stages_to_finish"})
    sel = entry_points(test)
    from lastmile.risk.evaluate import auc_interval, roc_auc

    case_auc = roc_auc(test.y[sel], p[sel]) if sel.sum() > 1 else float("nan")
    # how far the figures could move with other cases: whole cases drawn with replacement
    cases = test.rows["case_id"].to_numpy()
    interval = auc_interval(test.y, p, cases, sample_weight=test.weight,
                            level=EVALUATION_LEVEL, n_boot=EVALUATION_RESAMPLES)
    entry_interval = (auc_interval(test.y[sel], p[sel], cases[sel], level=EVALUATION_LEVEL,
                                   n_boot=EVALUATION_RESAMPLES)
                      if sel.sum() > 1 else (float("nan"), float("nan")))
    return ModelEvaluation(
        evaluation=ev, by_stages=by,
        trained_as_of=_metadata(model).get("as_of"),
        test_from=(start.isoformat() if start is not None else "the start of the log"),
        test_to=end.isoformat(), test_cases=test.n_cases, in_sample=in_sample,
        case_auc=case_auc, still_open=0 if in_sample else test.still_open,
        auc_interval=interval, case_auc_interval=entry_interval)
