"""Prefix encodings: what was known about a case at each point of its history.

A *prefix* of a case is its first ``k`` events (ordered by ``timestamp, event_index``). The
:class:`PrefixEncoder` turns every prefix (or, with ``as_of``, every case as it stood at one
moment) into one row of features, computed in the engine with window functions:

- **aggregation**: how often each activity (and each frequent resource) has occurred so far;
- **last state**: the last activity, the last resource and the last known value of every
  attribute (case attributes included, taken as known once they appear);
- **numbers so far**: mean, minimum and maximum of numeric event attributes;
- **timing**: elapsed time since the first event, time since the previous event, hour,
  weekday, month and minute of day of the last event, and the pace (events per day, last gap
  against the mean gap).

**No leakage.** Features only use events up to and including the k-th. When
``outcome_activities`` are declared (the events that decide the label), each case is cut just
before the first of them, and no feature is built from them: they are listed in
``dropped_features_``. Asking explicitly for such a feature raises
:class:`~lastmile.errors.LastmileError`.

>>> import pandas as pd, lastmile
>>> df = pd.DataFrame({
...     "case": ["a", "a", "a", "b", "b"],
...     "activity": ["offer", "call", "signed", "offer", "call"],
...     "timestamp": ["2024-01-01 09:00", "2024-01-02 09:00", "2024-01-04 09:00",
...                   "2024-01-01 10:00", "2024-01-01 12:00"]})
>>> log = lastmile.read_log(df)
>>> enc = PrefixEncoder(outcome_activities=["signed"]).fit(log)
>>> feats = enc.transform(log)
>>> feats.X[["prefix_length", "n_offer", "n_call", "elapsed_days"]].round(3)
... # doctest: +NORMALIZE_WHITESPACE
                       prefix_length  n_offer  n_call  elapsed_days
case_id prefix_length
a       1                          1        1       0         0.000
        2                          2        1       1         1.000
b       1                          1        1       0         0.000
        2                          2        1       1         0.083
>>> feats.dropped_features
['n_signed']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from lastmile.errors import LastmileError

__all__ = ["PrefixEncoder", "PrefixFeatures", "feature_slug"]

#: Columns of the event table that are never features on their own.
CORE = ("case_id", "activity", "timestamp", "resource", "event_index")
#: Attribute names that are bookkeeping of a source file, never features by default.
BOOKKEEPING = {".order", "activity_instance_id", "lifecycle", "lifecycle:transition",
               "event_index", "concept:instance"}

_SECONDS_PER_DAY = 86400.0


def feature_slug(text: str) -> str:
    """A feature-name-safe form of ``text`` (letters, digits and underscores).

    >>> feature_slug("ER Registration")
    'ER_Registration'
    >>> feature_slug("O_SENT-COMPLETE")
    'O_SENT_COMPLETE'
    """
    slug = re.sub(r"[^0-9A-Za-z_]+", "_", str(text)).strip("_")
    return slug or "x"


@dataclass
class PrefixFeatures:
    """The encoded prefixes: a feature matrix and, row by row, what each row is.

    ``X`` is indexed by ``(case_id, prefix_length)``; ``meta`` has the same index and the
    columns ``timestamp`` (time of the last event in the prefix), ``case_start`` and, in as-of
    mode, ``idle_hours`` (time from the last event to the as-of moment).
    """

    X: pd.DataFrame
    meta: pd.DataFrame
    categorical: list[str]
    dropped_features: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """The feature columns, in order."""
        return list(self.X.columns)

    @property
    def case_ids(self) -> np.ndarray:
        """The case id of every row."""
        return self.X.index.get_level_values("case_id").to_numpy()

    @property
    def prefix_lengths(self) -> np.ndarray:
        """The number of events of every row's prefix."""
        return self.X.index.get_level_values("prefix_length").to_numpy()

    def __len__(self) -> int:
        return len(self.X)

    def subset(self, rows: Any) -> PrefixFeatures:
        """The rows selected by a boolean mask (or positions), with the same columns.

        >>> import pandas as pd
        >>> idx = pd.MultiIndex.from_tuples([("a", 1), ("a", 2)],
        ...                                 names=["case_id", "prefix_length"])
        >>> f = PrefixFeatures(X=pd.DataFrame({"x": [1, 2]}, index=idx),
        ...                    meta=pd.DataFrame({"timestamp": [0, 1]}, index=idx),
        ...                    categorical=[])
        >>> f.subset([False, True]).X["x"].tolist()
        [2]
        """
        rows = np.asarray(rows)
        if rows.dtype != bool:
            mask = np.zeros(len(self.X), dtype=bool)
            mask[rows] = True
            rows = mask
        return PrefixFeatures(X=self.X[rows], meta=self.meta[rows],
                              categorical=list(self.categorical),
                              dropped_features=list(self.dropped_features),
                              descriptions=dict(self.descriptions))


def _table_of(log: Any) -> ir.Table:
    table = getattr(log, "table", log)
    if not isinstance(table, ir.Table):
        raise LastmileError("expected a lastmile Log or an Ibis event table",
                            hint="read the log with lastmile.read_log(path)")
    missing = [c for c in ("case_id", "activity", "timestamp", "event_index")
               if c not in table.columns]
    if missing:
        raise LastmileError(f"the event table lacks the columns {missing}",
                            hint="see docs/contracts.md for the event table")
    return table


def _attribute_kinds(log: Any, table: ir.Table) -> dict[str, tuple[str, str]]:
    """name -> (kind 'case'|'event', dtype 'number'|'category'|'bool'|'time')."""
    known = getattr(log, "attributes", None) or {}
    kinds: dict[str, tuple[str, str]] = {}
    schema = table.schema()
    for name in table.columns:
        if name in CORE:
            continue
        if name in known:
            attr = known[name]
            kinds[name] = (attr.kind, attr.dtype)
            continue
        dt = schema[name]
        if dt.is_boolean():
            dtype = "bool"
        elif dt.is_numeric():
            dtype = "number"
        elif dt.is_temporal():
            dtype = "time"
        else:
            dtype = "category"
        kinds[name] = ("event", dtype)
    return kinds


class PrefixEncoder:
    """Encode prefixes of cases as feature rows, without looking past the prediction point.

    Parameters
    ----------
    outcome_activities
        Activities that decide the outcome. Cases are cut before the first of them and no
        feature mentions them (see ``dropped_features_``).
    outcome_attributes
        Attributes that carry the outcome (e.g. an ``isClosed`` flag); never used as features.
    attributes
        Attributes to encode; default: every attribute of the log except bookkeeping columns
        (``.order``, ``activity_instance_id``, lifecycle) and timestamps.
    features
        An explicit list of feature names to keep (after fitting). A name that refers to an
        outcome activity or attribute raises :class:`~lastmile.errors.LastmileError`.
    max_categories
        At most this many levels per categorical column (the most frequent); the rest are
        ``"other"``.
    min_count
        Levels seen fewer times than this in the fitting data become ``"other"``.
    resource_counts
        Also count the frequent resources seen so far.
    cut_at_outcome
        Cut each case before its first outcome activity (``True``, the default). With
        ``False`` the events stay in the prefixes but the outcome features are still refused.
    month
        Also encode the month of the last event. Off by default: under a temporal split the
        test months are seldom seen in training, and the trees then learn the calendar
        instead of the case.

    Examples
    --------
    >>> import pandas as pd, lastmile
    >>> df = pd.DataFrame({"case": ["a", "a", "b"], "activity": ["x", "won", "x"],
    ...                    "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"]})
    >>> enc = PrefixEncoder(outcome_activities=["won"]).fit(lastmile.read_log(df))
    >>> enc.activities_
    ['x']
    >>> enc.dropped_features_
    ['n_won']
    """

    def __init__(
        self,
        *,
        outcome_activities: Sequence[str] = (),
        outcome_attributes: Sequence[str] = (),
        attributes: Sequence[str] | None = None,
        features: Sequence[str] | None = None,
        max_categories: int = 30,
        min_count: int = 10,
        resource_counts: bool = True,
        cut_at_outcome: bool = True,
        month: bool = False,
    ) -> None:
        self.outcome_activities = outcome_activities
        self.outcome_attributes = outcome_attributes
        self.attributes = attributes
        self.features = features
        self.max_categories = max_categories
        self.min_count = min_count
        self.resource_counts = resource_counts
        self.cut_at_outcome = cut_at_outcome
        self.month = month

    # ------------------------------------------------------------------ fitting
    def fit(self, log: Any) -> PrefixEncoder:
        """Learn the vocabularies (activities, resources, attribute levels) from ``log``.

        ``log`` is a :class:`lastmile.Log` or an Ibis event table. Returns ``self``.
        """
        table = _table_of(log)
        outcome = [str(a) for a in self.outcome_activities]
        out_attrs = [str(a) for a in self.outcome_attributes]
        kinds = _attribute_kinds(log, table)
        if self.attributes is None:
            chosen = [n for n, (_, dt) in kinds.items()
                      if n not in BOOKKEEPING and not n.startswith(".") and dt != "time"]
        else:
            unknown = [a for a in self.attributes if a not in kinds]
            if unknown:
                raise LastmileError(f"unknown attributes {unknown}",
                                    hint=f"the log has {sorted(kinds)}")
            leaked = [a for a in self.attributes if a in out_attrs]
            if leaked:
                raise LastmileError(
                    f"the attributes {leaked} carry the outcome and cannot be features",
                    hint="remove them from attributes=")
            chosen = [a for a in self.attributes if kinds[a][1] != "time"]
        self.dropped_features_: list[str] = []
        for a in out_attrs:
            if a in chosen:
                chosen.remove(a)
            self.dropped_features_.append(f"last_{feature_slug(a)}")
        self.attr_kinds_ = {a: kinds[a] for a in chosen}

        # the events a feature can see: cut at the outcome, as transform() will
        base = self._cut(table, outcome)
        acts = base.group_by("activity").agg(n=ibis._.count()).execute()
        acts = acts.sort_values(["n", "activity"], ascending=[False, True])
        keep = acts[acts["n"] >= 1]["activity"].astype(str).tolist()
        for a in dict.fromkeys(outcome):  # declared outcomes are reported even if absent
            self.dropped_features_.append(f"n_{feature_slug(a)}")
        self.activities_ = [a for a in keep if a not in outcome]
        self.levels_: dict[str, list[str]] = {}
        self.levels_["last_activity"] = self._levels(acts.rename(columns={"activity": "v"}))
        self.levels_["last_activity"] = [a for a in self.levels_["last_activity"]
                                         if a not in outcome]
        if "resource" in table.columns:
            res = base.group_by("resource").agg(n=ibis._.count()).execute()
            res = res.dropna().rename(columns={"resource": "v"})
            self.levels_["last_resource"] = self._levels(res)
        for a, (_, dt) in self.attr_kinds_.items():
            if dt == "category":
                vals = base.group_by(a).agg(n=ibis._.count()).execute().dropna()
                self.levels_[f"last_{feature_slug(a)}"] = self._levels(
                    vals.rename(columns={a: "v"}))
        self.resources_ = (self.levels_.get("last_resource", []) if self.resource_counts
                           else [])
        self._names = self._all_feature_names()
        if self.features is not None:
            bad = [f for f in self.features if f in self.dropped_features_]
            if bad:
                raise LastmileError(
                    f"the features {bad} are built from the outcome "
                    f"({', '.join(outcome + out_attrs)}) and would leak it",
                    hint="remove them from features=")
            unknown = [f for f in self.features if f not in self._names]
            if unknown:
                raise LastmileError(f"unknown features {unknown}",
                                    hint="see encoder.feature_names_ for the available ones")
            self.feature_names_ = list(self.features)
        else:
            self.feature_names_ = list(self._names)
        return self

    _PARAMS = ("outcome_activities", "outcome_attributes", "attributes", "features",
               "max_categories", "min_count", "resource_counts", "cut_at_outcome", "month")
    _STATE = ("dropped_features_", "activities_", "levels_", "resources_", "feature_names_",
              "_names")

    def to_dict(self) -> dict[str, Any]:
        """The settings and what was learned, as plain data (stored in model artefacts).

        >>> import pandas as pd, lastmile
        >>> df = pd.DataFrame({"case": ["a", "a"], "activity": ["x", "y"],
        ...                    "timestamp": ["2024-01-01", "2024-01-02"]})
        >>> enc = PrefixEncoder(min_count=1).fit(lastmile.read_log(df))
        >>> PrefixEncoder.from_dict(enc.to_dict()).feature_names_ == enc.feature_names_
        True
        """
        if not hasattr(self, "feature_names_"):
            raise LastmileError("the encoder is not fitted", hint="call .fit(log) first")
        out: dict[str, Any] = {k: (list(v) if isinstance(v, tuple) else v)
                               for k, v in ((p, getattr(self, p)) for p in self._PARAMS)}
        out["state"] = {k: getattr(self, k) for k in self._STATE}
        out["state"]["attr_kinds_"] = {a: list(v) for a, v in self.attr_kinds_.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrefixEncoder:
        """Rebuild a fitted encoder from :meth:`to_dict`."""
        enc = cls(**{k: data[k] for k in cls._PARAMS if k in data})
        state = data["state"]
        for k in cls._STATE:
            setattr(enc, k, state[k])
        enc.attr_kinds_ = {a: (v[0], v[1]) for a, v in state["attr_kinds_"].items()}
        return enc

    def _levels(self, counts: pd.DataFrame) -> list[str]:
        counts = counts[counts["n"] >= self.min_count]
        counts = counts.assign(v=counts["v"].astype(str))
        counts = counts.sort_values(["n", "v"], ascending=[False, True])
        return counts["v"].head(self.max_categories).tolist()

    def _cut(self, table: ir.Table, outcome: list[str]) -> ir.Table:
        """The events strictly before each case's first outcome activity."""
        if not outcome or not self.cut_at_outcome:
            return table
        first = (table.filter(table.activity.isin(outcome))
                 .group_by("case_id")
                 .agg(_cut_ts=ibis._.timestamp.min()))
        # the first outcome event in (timestamp, event_index) order
        hits = table.filter(table.activity.isin(outcome)).join(first, "case_id")
        hits = hits.filter(hits.timestamp == hits._cut_ts)
        cut = hits.group_by("case_id").agg(_cut_ts=ibis._._cut_ts.min(),
                                           _cut_ix=ibis._.event_index.min())
        joined = table.left_join(cut, "case_id")
        keep = (joined._cut_ts.isnull()
                | (joined.timestamp < joined._cut_ts)
                | ((joined.timestamp == joined._cut_ts)
                   & (joined.event_index < joined._cut_ix)))
        return joined.filter(keep).select(table.columns)

    def _all_feature_names(self) -> list[str]:
        names = ["prefix_length", "elapsed_days", "since_prev_hours", "max_gap_hours",
                 "events_per_day", "gap_ratio", "hour", "weekday", "minute_of_day"]
        if self.month:
            names.append("month")
        names += [f"n_{feature_slug(a)}" for a in self.activities_]
        names += [f"nres_{feature_slug(r)}" for r in self.resources_]
        names.append("last_activity")
        if "last_resource" in self.levels_:
            names.append("last_resource")
        for a, (kind, dt) in self.attr_kinds_.items():
            s = feature_slug(a)
            names.append(f"last_{s}")
            if dt == "number" and kind == "event":
                names += [f"mean_{s}", f"min_{s}", f"max_{s}"]
        # make unique (two activities could share a slug)
        seen: dict[str, int] = {}
        out = []
        for n in names:
            if n in seen:
                seen[n] += 1
                n = f"{n}_{seen[n]}"
            else:
                seen[n] = 0
            out.append(n)
        return out

    # --------------------------------------------------------------- transform
    def transform(
        self,
        log: Any,
        *,
        max_prefix: int | None = None,
        min_prefix: int = 1,
        as_of: datetime | str | None = None,
        cases: Iterable[str] | None = None,
    ) -> PrefixFeatures:
        """Encode the prefixes of ``log``.

        Parameters
        ----------
        log
            A :class:`lastmile.Log` or an Ibis event table.
        max_prefix, min_prefix
            Keep prefixes of ``min_prefix`` to ``max_prefix`` events (all when ``None``).
        as_of
            Encode each case once, as it stood at this moment: only events at or before
            ``as_of`` are used, and ``meta["idle_hours"]`` is the time since its last event.
        cases
            Only these case ids.

        Returns
        -------
        PrefixFeatures
        """
        if not hasattr(self, "feature_names_"):
            raise LastmileError("the encoder is not fitted", hint="call .fit(log) first")
        table = _table_of(log)
        if cases is not None:
            ids = [str(c) for c in cases]
            table = table.filter(table.case_id.isin(ids))
        as_of_ts = None
        if as_of is not None:
            as_of_ts = pd.Timestamp(as_of)
            if as_of_ts.tzinfo is not None:
                as_of_ts = as_of_ts.tz_convert("UTC").tz_localize(None)
            table = table.filter(table.timestamp <= as_of_ts.to_pydatetime())
        # a log without some of the fitted columns: they are unknown (null) everywhere
        types = {"number": "float64", "bool": "boolean", "category": "string"}
        absent = {a: ibis.null().cast(types.get(dt, "string"))
                  for a, (_, dt) in self.attr_kinds_.items() if a not in table.columns}
        if "last_resource" in self.levels_ and "resource" not in table.columns:
            absent["resource"] = ibis.null().cast("string")
        if absent:
            table = table.mutate(**absent)
        outcome = [str(a) for a in self.outcome_activities]
        table = self._cut(table, outcome)
        expr = self._expression(table, max_prefix=max_prefix, min_prefix=min_prefix,
                                last_only=as_of_ts is not None)
        df = expr.execute()
        return self._materialise(df, as_of_ts)

    def fit_transform(self, log: Any, **kwargs: Any) -> PrefixFeatures:
        """``fit(log)`` then ``transform(log, **kwargs)``."""
        return self.fit(log).transform(log, **kwargs)

    def _expression(self, t: ir.Table, *, max_prefix: int | None, min_prefix: int,
                    last_only: bool) -> ir.Table:
        order = ["timestamp", "event_index"]
        w = ibis.cumulative_window(group_by="case_id", order_by=order)
        wl = ibis.window(group_by="case_id", order_by=order)
        t = t.mutate(prefix_length=ibis.row_number().over(w) + 1,
                     _es=t.timestamp.epoch_seconds().cast("float64"))
        if max_prefix is not None and not last_only:
            t = t.filter(t.prefix_length <= int(max_prefix))
        cols: dict[str, ir.Value] = {
            "_start": t._es.min().over(w),
            "_prev": t._es.lag().over(wl),
            "hour": t.timestamp.hour(),
            "weekday": t.timestamp.day_of_week.index(),
            "month": t.timestamp.month(),
            "minute_of_day": t.timestamp.hour() * 60 + t.timestamp.minute(),
            "last_activity": t.activity,
        }
        if "resource" in t.columns:
            cols["last_resource"] = t.resource
        for a, name in zip(self.activities_,
                           [n for n in self._names if n.startswith("n_")], strict=False):
            cols[name] = (t.activity == a).cast("int32").sum().over(w)
        for r, name in zip(self.resources_,
                           [n for n in self._names if n.startswith("nres_")], strict=False):
            cols[name] = (t.resource == r).fill_null(False).cast("int32").sum().over(w)
        groups: dict[str, ir.Value] = {}
        for i, (a, (kind, dt)) in enumerate(self.attr_kinds_.items()):
            s = feature_slug(a)
            col = t[a]
            if dt == "bool":
                col = col.cast("float64")
            elif dt == "category":
                col = col.cast("string")
            cols[f"_v{i}"] = col
            groups[f"_g{i}"] = t[a].notnull().cast("int32").sum().over(w)
            if dt == "number" and kind == "event":
                num = t[a].cast("float64")
                cols[f"mean_{s}"] = num.mean().over(w)
                cols[f"min_{s}"] = num.min().over(w)
                cols[f"max_{s}"] = num.max().over(w)
        t = t.mutate(**cols, **groups)
        t = t.mutate(_maxgap=(t._es - t._prev).max().over(w))
        # last known value: within a run that starts at a non-null, the run's only value
        ffill = {}
        for i, a in enumerate(self.attr_kinds_):
            wg = ibis.window(group_by=["case_id", f"_g{i}"])
            ffill[f"last_{feature_slug(a)}"] = t[f"_v{i}"].max().over(wg)
        if ffill:
            t = t.mutate(**ffill)
        if last_only:
            t = t.mutate(_n=t.prefix_length.max().over(ibis.window(group_by="case_id")))
            t = t.filter(t.prefix_length == t._n)
        elif min_prefix > 1:
            t = t.filter(t.prefix_length >= int(min_prefix))
        keep = ["case_id", "prefix_length", "timestamp", "_es", "_start", "_prev", "_maxgap"]
        keep += [c for c in cols if not c.startswith("_")]
        keep += list(ffill)
        return t.select(*dict.fromkeys(keep))

    def _materialise(self, df: pd.DataFrame, as_of: pd.Timestamp | None) -> PrefixFeatures:
        df = df.sort_values(["case_id", "prefix_length"], kind="mergesort")
        k = df["prefix_length"].astype("int64")
        elapsed = (df["_es"] - df["_start"]) / _SECONDS_PER_DAY
        since_prev = ((df["_es"] - df["_prev"]) / 3600.0).fillna(0.0)
        out = pd.DataFrame(index=df.index)
        out["prefix_length"] = k
        out["elapsed_days"] = elapsed
        out["since_prev_hours"] = since_prev
        out["max_gap_hours"] = (df["_maxgap"] / 3600.0).fillna(0.0).astype("float64")
        out["events_per_day"] = k / np.maximum(elapsed, 1.0 / 24.0)
        mean_gap_h = (elapsed * 24.0) / (k - 1).where(k > 1)
        out["gap_ratio"] = (since_prev / mean_gap_h.where(mean_gap_h > 0)).astype("float64")
        for c in ("hour", "weekday", "minute_of_day", *(["month"] if self.month else [])):
            out[c] = df[c].astype("int64")
        descriptions: dict[str, str] = {
            "prefix_length": "events so far", "elapsed_days": "days since the first event",
            "since_prev_hours": "hours since the previous event",
            "max_gap_hours": "longest gap between events so far (hours)",
            "events_per_day": "events per day so far",
            "gap_ratio": "last gap against the mean gap", "hour": "hour of the last event",
            "weekday": "weekday of the last event (Monday 0)",
            "month": "month of the last event", "minute_of_day": "minute of day of last event",
            "last_activity": "last activity", "last_resource": "resource of the last event"}
        for a, name in zip(self.activities_,
                           [n for n in self._names if n.startswith("n_")], strict=False):
            out[name] = df[name].astype("int32")
            descriptions[name] = f"times '{a}' so far"
        for r, name in zip(self.resources_,
                           [n for n in self._names if n.startswith("nres_")], strict=False):
            out[name] = df[name].astype("int32")
            descriptions[name] = f"events by '{r}' so far"
        categorical = []
        for name in ("last_activity", "last_resource"):
            if name in self.levels_:
                out[name] = self._categorical(df[name], self.levels_[name])
                categorical.append(name)
        for a, (kind, dt) in self.attr_kinds_.items():
            s = feature_slug(a)
            name = f"last_{s}"
            descriptions[name] = f"{a} (last known)"
            if dt == "category":
                out[name] = self._categorical(df[name], self.levels_.get(name, []))
                categorical.append(name)
            else:
                out[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
            if dt == "number" and kind == "event":
                for stat in ("mean", "min", "max"):
                    out[f"{stat}_{s}"] = df[f"{stat}_{s}"].astype("float64")
                    descriptions[f"{stat}_{s}"] = f"{stat} of {a} so far"
        index = pd.MultiIndex.from_arrays([df["case_id"].astype(str).to_numpy(),
                                           k.to_numpy()], names=["case_id", "prefix_length"])
        out.index = index
        X = out[self.feature_names_]
        meta = pd.DataFrame({
            "timestamp": pd.to_datetime(df["timestamp"]).to_numpy(),
            "case_start": pd.to_datetime(df["_start"], unit="s").to_numpy(),
        }, index=index)
        if as_of is not None:
            meta["idle_hours"] = (as_of - meta["timestamp"]).dt.total_seconds() / 3600.0
        return PrefixFeatures(X=X, meta=meta,
                              categorical=[c for c in categorical if c in X.columns],
                              dropped_features=list(self.dropped_features_),
                              descriptions={n: descriptions.get(n, n) for n in X.columns})

    @staticmethod
    def _categorical(values: pd.Series, levels: list[str]) -> pd.Categorical:
        known = values.notna()
        text = values.astype("object").where(~known, values.astype(str))
        text = text.where(~known | text.isin(levels), "other")
        return pd.Categorical(text, categories=[*levels, "other"])
