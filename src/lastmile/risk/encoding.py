"""Prefix encodings: what was known about a case at each point of its history.

A *prefix* of a case is its first ``k`` events (ordered by ``timestamp, event_index``). The
:class:`PrefixEncoder` turns every prefix (or, with ``as_of``, every case as it stood at one
moment) into one row of features, computed in the engine with window functions:

- **aggregation**: how often each activity, each frequent resource and each frequent level of
  a categorical event attribute has occurred so far;
- **who did what**: for each frequent activity, the resource of its last occurrence so far
  (``resource_at_<activity>``: who knocked on the door, who approved the loan);
- **last state**: the last activity, the last resource and the last known value of every
  attribute (case attributes included, taken as known once they appear);
- **positions** (``positions=K``, off by default): the activity of each of the first ``K``
  events (``activity_1`` …, as in the index encoding of outcome-prediction benchmarks) and of
  each of the ``K`` events before the last (``activity_back_1`` …): the order of events, which
  the counts do not keep;
- **numbers so far**: mean, minimum and maximum of numeric event attributes;
- **timing**: elapsed time since the first event, time since the previous event, hour,
  weekday, month and minute of day of the last event, and the pace (events per day, last gap
  against the mean gap).

**No leakage.** Features only use events up to and including the k-th. When
``outcome_activities`` are declared (the events that decide the label), each case is cut just
before the first of them, and no feature is built from them: they are listed in
``dropped_features_``. Asking explicitly for such a feature raises
:class:`~lastmile.errors.LastmileError`. What kind each attribute is (a case attribute, constant
within every case, or an event attribute; a number or a category) is judged on the events the
encoder is fitted on, never on a larger log.

Categorical levels seen too rarely, or never, are pooled into one bucket, :data:`OTHER`: a
sentinel that no value read from a log can equal (a value equal to it is pooled as well).

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

__all__ = ["OTHER", "PrefixEncoder", "PrefixFeatures", "feature_slug"]

#: Columns of the event table that are never features on their own.
CORE = ("case_id", "activity", "timestamp", "resource", "event_index")
#: Attribute names that are bookkeeping of a source file, never features by default.
BOOKKEEPING = {".order", "activity_instance_id", "lifecycle", "lifecycle:transition",
               "event_index", "concept:instance"}

_SECONDS_PER_DAY = 86400.0
#: The bucket of rare and unseen categorical levels. It starts with a NUL character, which no
#: value read from an event log carries, so it cannot collide with a level named "other".
OTHER = "\x00other"


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


def _attribute_kinds(table: ir.Table) -> dict[str, tuple[str, str]]:
    """name -> (kind 'case'|'event', dtype 'number'|'category'|'bool'|'time'), judged on ``table``.

    A column is a *case* attribute when no case has two different values of it in ``table``;
    a text column whose every value in ``table`` reads as a number is a number. Only the
    events of ``table`` count: fitted on the events known at a moment, nothing later shapes
    the features.
    """
    schema = table.schema()
    names = [n for n in table.columns if n not in CORE]
    if not names:
        return {}
    per_case = table.group_by("case_id").agg(
        **{f"_d{i}": table[n].nunique() for i, n in enumerate(names)})
    aggs: dict[str, ir.Value] = {f"_d{i}": per_case[f"_d{i}"].max()
                                 for i in range(len(names))}
    for i, n in enumerate(names):
        if schema[n].is_string():
            aggs[f"_n{i}"] = table[n].count()
            aggs[f"_x{i}"] = table[n].try_cast("float64").count()
    stats = per_case.aggregate(**{k: v for k, v in aggs.items() if k.startswith("_d")})
    row = stats.execute().iloc[0].to_dict()
    text = {k: v for k, v in aggs.items() if not k.startswith("_d")}
    if text:
        row.update(table.aggregate(**text).execute().iloc[0].to_dict())
    kinds: dict[str, tuple[str, str]] = {}
    for i, name in enumerate(names):
        dt = schema[name]
        if dt.is_boolean():
            dtype = "bool"
        elif dt.is_numeric():
            dtype = "number"
        elif dt.is_temporal():
            dtype = "time"
        elif dt.is_string() and row.get(f"_n{i}") and row[f"_n{i}"] == row[f"_x{i}"]:
            dtype = "number"
        else:
            dtype = "category"
        distinct = row.get(f"_d{i}")
        kind = "case" if distinct is None or pd.isna(distinct) or distinct <= 1 else "event"
        kinds[name] = (kind, dtype)
    return kinds


def _value(t: ir.Table, name: str, dtype: str) -> ir.Value:
    """Column ``name`` of ``t`` as the type the encoder judged it to be."""
    col = t[name]
    if dtype == "number":
        return col.cast("float64") if col.type().is_numeric() else col.try_cast("float64")
    if dtype == "bool":
        return col.cast("float64")
    if dtype == "category":
        return col.cast("string")
    return col


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
        pooled into :data:`OTHER`.
    min_count
        Levels seen fewer times than this in the fitting data are pooled into :data:`OTHER`.
    resource_counts
        Also count the frequent resources seen so far (``nres_<resource>``).
    activity_resources
        For each of the ``max_activities`` most frequent activities done by at least two
        frequent resources, the resource of its last occurrence so far
        (``resource_at_<activity>``, categorical, levels capped as above).
    max_activities
        At most this many ``resource_at_`` features.
    level_counts
        For each categorical *event* attribute, count its ``max_count_levels`` most frequent
        levels so far (``nval_<attribute>_<level>``; Teinemaa et al.'s aggregation encoding).
    max_count_levels
        At most this many counted levels per attribute.
    cut_at_outcome
        Cut each case before its first outcome activity (``True``, the default). With
        ``False`` the events stay in the prefixes but the outcome features are still refused.
    month
        Also encode the month of the last event. Off by default: under a temporal split the
        test months are seldom seen in training, and the trees then learn the calendar
        instead of the case.
    positions
        Also encode the activities of the first ``positions`` events (``activity_1`` …; null
        while the prefix is shorter) and of the ``positions`` events before the last
        (``activity_back_1`` is the one before the last activity). Categorical, with the
        levels of ``last_activity``. Default 0 (none).
    position_attributes
        With ``positions``, also encode each of the first ``positions`` events in full, as
        the index encoding of outcome-prediction benchmarks does: its resource
        (``pos_resource_<i>``), the hours since the event before it (``pos_gap_hours_<i>``)
        and the value of every event attribute (``pos_<attribute>_<i>``). Null while the
        prefix is shorter. Default ``False``.

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

    Who did an earlier activity stays visible after later events:

    >>> df = pd.DataFrame({"case": ["a", "a", "b", "b"],
    ...                    "activity": ["knock", "text", "knock", "text"],
    ...                    "resource": ["Ann", "SMS", "Bob", "SMS"],
    ...                    "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01",
    ...                                  "2024-01-03"]})
    >>> enc = PrefixEncoder(min_count=1).fit(lastmile.read_log(df))
    >>> X = enc.transform(lastmile.read_log(df)).X
    >>> X["resource_at_knock"].astype(str).tolist()
    ['Ann', 'Ann', 'Bob', 'Bob']

    The order of events (``positions``): the first activities, and those before the last:

    >>> enc = PrefixEncoder(min_count=1, positions=2).fit(lastmile.read_log(df))
    >>> X = enc.transform(lastmile.read_log(df)).X.loc["a"]
    >>> [[None if pd.isna(v) else v for v in row]
    ...  for row in X[["activity_1", "activity_2", "activity_back_1"]].values.tolist()]
    [['knock', None, None], ['knock', 'text', 'knock']]

    Each of the first events in full (``position_attributes``): who did it, and how long after
    the one before:

    >>> enc = PrefixEncoder(min_count=1, positions=2, position_attributes=True)
    >>> X = enc.fit(lastmile.read_log(df)).transform(lastmile.read_log(df)).X.loc["b"]
    >>> [None if pd.isna(v) else v for v in X["pos_resource_2"]], X["pos_gap_hours_2"].tolist()
    ([None, 'SMS'], [nan, 48.0])
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
        activity_resources: bool = True,
        max_activities: int = 20,
        level_counts: bool = True,
        max_count_levels: int = 10,
        cut_at_outcome: bool = True,
        month: bool = False,
        positions: int = 0,
        position_attributes: bool = False,
    ) -> None:
        self.outcome_activities = outcome_activities
        self.outcome_attributes = outcome_attributes
        self.attributes = attributes
        self.features = features
        self.max_categories = max_categories
        self.min_count = min_count
        self.resource_counts = resource_counts
        self.activity_resources = activity_resources
        self.max_activities = max_activities
        self.level_counts = level_counts
        self.max_count_levels = max_count_levels
        self.cut_at_outcome = cut_at_outcome
        self.month = month
        if int(positions) < 0:
            raise LastmileError(f"positions must be 0 or more, not {positions}")
        self.positions = int(positions)
        self.position_attributes = bool(position_attributes)

    # ------------------------------------------------------------------ fitting
    def fit(self, log: Any) -> PrefixEncoder:
        """Learn the vocabularies (activities, resources, attribute levels) from ``log``.

        ``log`` is a :class:`lastmile.Log` or an Ibis event table. The kind of each attribute
        (case or event, number or category) is judged on these events. Returns ``self``.
        """
        table = _table_of(log)
        outcome = [str(a) for a in self.outcome_activities]
        out_attrs = [str(a) for a in self.outcome_attributes]
        # the events a feature can see: cut at the outcome, as transform() will
        base = self._cut(table, outcome)
        if self.attributes is None:
            names = [n for n in table.columns if n not in CORE]
            candidates = [n for n in names if n not in BOOKKEEPING and not n.startswith(".")]
        else:
            unknown = [a for a in self.attributes if a not in table.columns or a in CORE]
            if unknown:
                raise LastmileError(f"unknown attributes {unknown}",
                                    hint=f"the log has {sorted(set(table.columns) - set(CORE))}")
            leaked = [a for a in self.attributes if a in out_attrs]
            if leaked:
                raise LastmileError(
                    f"the attributes {leaked} carry the outcome and cannot be features",
                    hint="remove them from attributes=")
            candidates = list(self.attributes)
        kinds = _attribute_kinds(base.select("case_id", *candidates))
        chosen = [a for a in candidates if kinds[a][1] != "time"]
        self.dropped_features_: list[str] = []
        for a in out_attrs:
            if a in chosen:
                chosen.remove(a)
            self.dropped_features_.append(f"last_{feature_slug(a)}")
        self.attr_kinds_ = {a: kinds[a] for a in chosen}

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
        self.resource_at_: list[list[Any]] = []
        if "resource" in table.columns:
            res = base.group_by("resource").agg(n=ibis._.count()).execute()
            res = res.dropna().rename(columns={"resource": "v"})
            self.levels_["last_resource"] = self._levels(res)
            if self.activity_resources:
                self.resource_at_ = self._activity_resources(base, outcome)
        self.count_levels_: list[list[str]] = []
        for a, (kind, dt) in self.attr_kinds_.items():
            if dt == "category":
                vals = base.group_by(a).agg(n=ibis._.count()).execute().dropna()
                levels = self._levels(vals.rename(columns={a: "v"}))
                self.levels_[f"last_{feature_slug(a)}"] = levels
                if self.level_counts and kind == "event":
                    self.count_levels_ += [[a, v] for v in levels[:self.max_count_levels]]
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

    def _activity_resources(self, base: ir.Table, outcome: list[str]) -> list[list[Any]]:
        """``[activity, levels]`` for the activities whose resource is worth a feature."""
        pairs = (base.filter(base.resource.notnull())
                 .group_by(["activity", "resource"]).agg(n=ibis._.count()).execute())
        pairs = pairs[~pairs["activity"].astype(str).isin(outcome)]
        totals = pairs.groupby("activity")["n"].sum().sort_values(ascending=False,
                                                                  kind="mergesort")
        out: list[list[Any]] = []
        for act in totals.index:
            sub = pairs[pairs["activity"] == act][["resource", "n"]]
            levels = self._levels(sub.rename(columns={"resource": "v"}))
            kept = sub["n"][sub["resource"].astype(str).isin(levels)].sum()
            # one resource only (and nobody else): the feature would say nothing new
            if len(levels) >= 2 or (len(levels) == 1 and kept < sub["n"].sum()):
                out.append([str(act), levels])
            if len(out) >= self.max_activities:
                break
        return out

    _PARAMS = ("outcome_activities", "outcome_attributes", "attributes", "features",
               "max_categories", "min_count", "resource_counts", "activity_resources",
               "max_activities", "level_counts", "max_count_levels", "cut_at_outcome",
               "month", "positions", "position_attributes")
    _STATE = ("dropped_features_", "activities_", "levels_", "resources_", "resource_at_",
              "count_levels_", "feature_names_", "_names")

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
        counts = counts[counts["v"] != OTHER]  # a value equal to the sentinel is pooled
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
        """Every feature name, in order; the parts are recorded in ``_parts``."""
        parts: list[tuple[str, str, Any]] = [
            (n, "base", None) for n in ("prefix_length", "elapsed_days", "since_prev_hours",
                                        "max_gap_hours", "events_per_day", "gap_ratio",
                                        "hour", "weekday", "minute_of_day")]
        if self.month:
            parts.append(("month", "base", None))
        parts += [(f"n_{feature_slug(a)}", "count", a) for a in self.activities_]
        parts += [(f"nres_{feature_slug(r)}", "nres", r) for r in self.resources_]
        parts += [(f"nval_{feature_slug(a)}_{feature_slug(v)}", "nval", (a, v))
                  for a, v in getattr(self, "count_levels_", [])]
        parts.append(("last_activity", "cat", "last_activity"))
        k = getattr(self, "positions", 0)
        parts += [(f"activity_{i}", "first", i) for i in range(1, k + 1)]
        parts += [(f"activity_back_{j}", "back", j) for j in range(1, k + 1)]
        if getattr(self, "position_attributes", False):
            event_attrs = [a for a, (kind, _) in self.attr_kinds_.items() if kind == "event"]
            for i in range(1, k + 1):
                if "last_resource" in self.levels_:
                    parts.append((f"pos_resource_{i}", "posres", i))
                parts.append((f"pos_gap_hours_{i}", "posgap", i))
                parts += [(f"pos_{feature_slug(a)}_{i}", "posattr", (i, a)) for a in event_attrs]
        if "last_resource" in self.levels_:
            parts.append(("last_resource", "cat", "last_resource"))
        parts += [(f"resource_at_{feature_slug(a)}", "resat", (i, a))
                  for i, (a, _) in enumerate(getattr(self, "resource_at_", []))]
        for a, (kind, dt) in self.attr_kinds_.items():
            s = feature_slug(a)
            parts.append((f"last_{s}", "attr", a))
            if dt == "number" and kind == "event":
                parts += [(f"{stat}_{s}", "stat", (stat, a)) for stat in ("mean", "min", "max")]
        # make unique (two activities could share a slug)
        seen: dict[str, int] = {}
        out = []
        self._parts: list[tuple[str, str, Any]] = []
        for n, what, key in parts:
            if n in seen:
                seen[n] += 1
                n = f"{n}_{seen[n]}"
            else:
                seen[n] = 0
            out.append(n)
            self._parts.append((n, what, key))
        return out

    def _of(self, what: str) -> list[tuple[str, Any]]:
        """``(feature name, key)`` of the features of one part (``count``, ``nres`` …)."""
        if not hasattr(self, "_parts"):
            self._all_feature_names()
        return [(n, k) for n, w, k in self._parts if w == what]

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
        # the previous event's time, as a column: the position gaps read it inside a window
        t = t.mutate(_prev=t._es.lag().over(wl))
        cols: dict[str, ir.Value] = {
            "_start": t._es.min().over(w),
            "hour": t.timestamp.hour(),
            "weekday": t.timestamp.day_of_week.index(),
            "month": t.timestamp.month(),
            "minute_of_day": t.timestamp.hour() * 60 + t.timestamp.minute(),
            "last_activity": t.activity,
        }
        if "resource" in t.columns:
            cols["last_resource"] = t.resource
        for name, a in self._of("count"):
            cols[name] = (t.activity == a).cast("int32").sum().over(w)
        for name, i in self._of("first"):
            # the i-th activity, once the prefix has i events (a cumulative window: never later
            # events)
            cols[name] = ibis.ifelse(t.prefix_length == i, t.activity.cast("string"),
                                     ibis.null().cast("string")).max().over(w)
        for name, j in self._of("back"):
            cols[name] = t.activity.cast("string").lag(j).over(wl)
        # each of the first events in full: a value at position i only, spread over the
        # prefixes that reach it (a cumulative window: never later events)
        for name, i in self._of("posres"):
            cols[name] = ibis.ifelse(t.prefix_length == i, t.resource.cast("string"),
                                     ibis.null().cast("string")).max().over(w)
        for name, i in self._of("posgap"):
            cols[name] = ibis.ifelse(t.prefix_length == i, (t._es - t._prev) / 3600.0,
                                     ibis.null().cast("float64")).max().over(w)
        for name, (i, a) in self._of("posattr"):
            dt = self.attr_kinds_[a][1]
            val = _value(t, a, dt)
            null = ibis.null().cast("string" if dt == "category" else "float64")
            cols[name] = ibis.ifelse(t.prefix_length == i, val, null).max().over(w)
        for name, r in self._of("nres"):
            cols[name] = (t.resource == r).fill_null(False).cast("int32").sum().over(w)
        for name, (a, v) in self._of("nval"):
            cols[name] = (t[a].cast("string") == v).fill_null(False).cast("int32").sum().over(w)
        groups: dict[str, ir.Value] = {}
        ffill_src: dict[str, tuple[str, str]] = {}
        for name, (i, act) in self._of("resat"):
            # the resource of the last `act` so far: a value on the `act` events only,
            # carried forward within the run that each of them starts
            hit = (t.activity == act) & t.resource.notnull()
            cols[f"_ra{i}"] = ibis.ifelse(hit, t.resource.cast("string"),
                                          ibis.null().cast("string"))
            groups[f"_rg{i}"] = hit.cast("int32").sum().over(w)
            ffill_src[name] = (f"_ra{i}", f"_rg{i}")
        for i, (a, (kind, dt)) in enumerate(self.attr_kinds_.items()):
            s = feature_slug(a)
            col = _value(t, a, dt)
            cols[f"_v{i}"] = col
            groups[f"_g{i}"] = col.notnull().cast("int32").sum().over(w)
            ffill_src[f"last_{s}"] = (f"_v{i}", f"_g{i}")
            if dt == "number" and kind == "event":
                cols[f"mean_{s}"] = col.mean().over(w)
                cols[f"min_{s}"] = col.min().over(w)
                cols[f"max_{s}"] = col.max().over(w)
        t = t.mutate(**cols, **groups)
        t = t.mutate(_maxgap=(t._es - t._prev).max().over(w))
        # last known value: within a run that starts at a non-null, the run's only value
        ffill = {name: t[v].max().over(ibis.window(group_by=["case_id", g]))
                 for name, (v, g) in ffill_src.items()}
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
        cols: dict[str, Any] = {}
        cols["prefix_length"] = k
        cols["elapsed_days"] = elapsed
        cols["since_prev_hours"] = since_prev
        cols["max_gap_hours"] = (df["_maxgap"] / 3600.0).fillna(0.0).astype("float64")
        cols["events_per_day"] = k / np.maximum(elapsed, 1.0 / 24.0)
        mean_gap_h = (elapsed * 24.0) / (k - 1).where(k > 1)
        cols["gap_ratio"] = (since_prev / mean_gap_h.where(mean_gap_h > 0)).astype("float64")
        for c in ("hour", "weekday", "minute_of_day", *(["month"] if self.month else [])):
            cols[c] = df[c].astype("int64")
        descriptions: dict[str, str] = {
            "prefix_length": "events so far", "elapsed_days": "days since the first event",
            "since_prev_hours": "hours since the previous event",
            "max_gap_hours": "longest gap between events so far (hours)",
            "events_per_day": "events per day so far",
            "gap_ratio": "last gap against the mean gap", "hour": "hour of the last event",
            "weekday": "weekday of the last event (Monday 0)",
            "month": "month of the last event", "minute_of_day": "minute of day of last event",
            "last_activity": "last activity", "last_resource": "resource of the last event"}
        for name, a in self._of("count"):
            cols[name] = df[name].astype("int32")
            descriptions[name] = f"times '{a}' so far"
        for name, r in self._of("nres"):
            cols[name] = df[name].astype("int32")
            descriptions[name] = f"events by '{r}' so far"
        for name, (a, v) in self._of("nval"):
            cols[name] = df[name].astype("int32")
            descriptions[name] = f"events with {a} '{v}' so far"
        categorical = []
        for name in ("last_activity", "last_resource"):
            if name in self.levels_:
                cols[name] = self._categorical(df[name], self.levels_[name])
                categorical.append(name)
        for what in ("first", "back"):
            for name, pos in self._of(what):
                cols[name] = self._categorical(df[name], self.levels_["last_activity"])
                descriptions[name] = (
                    f"activity of event {pos}" if what == "first"
                    else f"activity {pos} event{'s' if pos > 1 else ''} before the last")
                categorical.append(name)
        for name, i in self._of("posres"):
            cols[name] = self._categorical(df[name], self.levels_["last_resource"])
            descriptions[name] = f"resource of event {i}"
            categorical.append(name)
        for name, i in self._of("posgap"):
            cols[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
            descriptions[name] = f"hours from event {i - 1} to event {i}"
        for name, (i, a) in self._of("posattr"):
            if self.attr_kinds_[a][1] == "category":
                cols[name] = self._categorical(df[name],
                                               self.levels_.get(f"last_{feature_slug(a)}", []))
                categorical.append(name)
            else:
                cols[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
            descriptions[name] = f"{a} of event {i}"
        for name, (i, act) in self._of("resat"):
            cols[name] = self._categorical(df[name], self.resource_at_[i][1])
            descriptions[name] = f"who did the last '{act}'"
            categorical.append(name)
        for a, (kind, dt) in self.attr_kinds_.items():
            s = feature_slug(a)
            name = f"last_{s}"
            descriptions[name] = f"{a} (last known)"
            if dt == "category":
                cols[name] = self._categorical(df[name], self.levels_.get(name, []))
                categorical.append(name)
            else:
                cols[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
            if dt == "number" and kind == "event":
                for stat in ("mean", "min", "max"):
                    cols[f"{stat}_{s}"] = df[f"{stat}_{s}"].astype("float64")
                    descriptions[f"{stat}_{s}"] = f"{stat} of {a} so far"
        out = pd.DataFrame({n: (c.to_numpy() if isinstance(c, pd.Series) else c)
                            for n, c in cols.items()})
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
        text = text.where(~known | text.isin(levels), OTHER)
        return pd.Categorical(text, categories=[*levels, OTHER])
