"""Why the last mile fails: the drivers of last-mile failure, with honest statistics.

:func:`why` compares the cases that entered the last mile and finished with those that failed
there (failed or reversed; open cases are left out) and names the factors that separate them:
case attributes, event attributes at the entry, resources, the path before the last mile,
timing, rework and pace (see :mod:`lastmile.why.features`). For every value of every candidate
feature it gives the failure rate with a 95 % Wilson interval, the lift over the baseline, the
cases and failures, the failures (and value) attributable, a two-sided Fisher exact p-value and
a q-value of a two-stage procedure — the features first (Simes, then Benjamini–Hochberg across
features), then the values inside the features selected (Benjamini and Bogomolov), each distinct
comparison counted once. A logistic regression on the significant drivers marks those that
*hold up* and those explained away by another driver.

All counting runs on the engine (Ibis group-bys over the case feature table); only one row per
driver value comes back to Python.

>>> import pandas as pd
>>> day = pd.Timedelta(days=1)
>>> ev = pd.DataFrame([(f"c{i:02d}", act, pd.Timestamp("2024-01-01") + (i + k) * day,
...                     "A" if i % 2 else "B")
...                    for i in range(40)
...                    for k, act in enumerate(["Offer", "Lost" if i % 4 == 1 else "Signed"])],
...                   columns=["case_id", "activity", "timestamp", "team"])
>>> ev["event_index"] = range(len(ev))
>>> d = why(ibis.memtable(ev), Journey.from_flags("Offer,Signed", fail="Lost"), min_support=5)
>>> d.population, d.failures, d.baseline
(40, 10, 0.25)
>>> top = d.drivers[0]
>>> top["feature"], top["value"], top["failure_rate"], top["lift"], top["significant"]
('team', 'A', 0.5, 2.0, True)
>>> d.to_dict()["schema"]
'lastmile.why/1'
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from lastmile.errors import LastmileError
from lastmile.journey import Journey
from lastmile.why.features import Feature, FeatureSet, feature_table, nice
from lastmile.why.model import (
    fit_grouped_logit,
    grouped_frame_to_arrays,
    independent_columns,
    weighted_corr,
)
from lastmile.why.stats import fisher_pvalues, two_stage_qvalues, wilson_interval

__all__ = ["SCHEMA", "Drivers", "breakdown", "why"]

SCHEMA = "lastmile.why/1"
#: Most significant driver values put into the multivariate check.
MAX_MODEL = 40
#: Drivers whose case sets correlate above this are the same driver seen twice.
DUPLICATE_CORR = 0.98
#: Above this, a driver is mostly the same cases as a stronger one and is explained by it.
OVERLAP_CORR = 0.7
#: A driver with at least this share of its cases inside another's (and fewer cases) refines it.
NESTED_SHARE = 0.95
#: ... and a driver outside another's cases holding this share of the rest is its mirror image.
MIRROR_SHARE = 0.9

_COLUMNS = ["feature", "value", "group", "lo", "hi", "failure_rate", "ci_low", "ci_high",
            "baseline", "lift", "cases", "failures", "population", "failures_attributable",
            "value_lost_attributable", "p_value", "q_value", "significant", "holds_up",
            "adjusted_odds_ratio", "confounder", "duplicate_of", "same_cases_as"]


@dataclass
class Drivers:
    """The drivers of last-mile failure (result of :func:`why`).

    Attributes
    ----------
    drivers : list of dict
        One per tested driver value, best first: the strongest value of each feature first
        (significant and holding up, then significant, then the rest; within those by failures
        attributable), then the other values in the same order.
    curves : dict
        For numeric features: the failure rate per quantile bin (``bins``: list of dicts with
        ``value``, ``lo``, ``hi``, ``cases``, ``failures``, ``failure_rate``, ``ci_low``,
        ``ci_high``), in bin order.
    population, failures, baseline : the cases that entered the last mile and closed, those
        that failed there, and their failure rate.
    """

    drivers: list[dict[str, Any]]
    curves: dict[str, dict[str, Any]]
    population: int
    failures: int
    baseline: float | None
    min_support: int
    fdr: float
    tested: int
    features: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    journey: dict[str, Any] = field(default_factory=dict)
    follow_up_days: float = 0.0
    excluded_recent: int = 0
    features_tested: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict, schema ``lastmile.why/1``."""
        return {
            "schema": SCHEMA,
            "population": self.population,
            "failures": self.failures,
            "baseline": self.baseline,
            "min_support": self.min_support,
            "fdr": self.fdr,
            "follow_up_days": self.follow_up_days,
            "excluded_recent": self.excluded_recent,
            "tested": self.tested,
            "features_tested": self.features_tested,
            "significant": sum(1 for d in self.drivers if d["significant"]),
            "model": self.model,
            "journey": self.journey,
            "features": self.features,
            "drivers": [_clean(d) for d in self.drivers],
            "curves": {k: _clean(v) for k, v in self.curves.items()},
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per driver value, best first."""
        return pd.DataFrame(self.drivers, columns=_COLUMNS)

    def top(self, n: int = 5, significant: bool = True) -> list[dict[str, Any]]:
        """The first ``n`` drivers (only significant ones by default)."""
        rows = [d for d in self.drivers if d["significant"] or not significant]
        return rows[:n]

    @property
    def summary(self) -> str:
        """A few lines for the terminal: the baseline and the drivers that passed the FDR."""
        if not self.population:
            return "no case entered the last mile and closed: nothing to compare"
        lines = [f"{self.population:,} cases entered the last mile and closed; "
                 f"{self.failures:,} failed there ({_pct(self.baseline)})."]
        if self.excluded_recent:
            lines.append(f"{self.excluded_recent:,} closed cases that entered in the last "
                         f"{self.follow_up_days:.3g} days of the log are left out (their "
                         "follow-up is incomplete).")
        sig = [d for d in self.drivers if d["significant"]]
        lines.append(f"{self.tested:,} driver values of {self.features_tested:,} features "
                     f"tested, {len(sig):,} pass the {self.fdr:.0%} false-discovery rate "
                     f"(min. support {self.min_support}).")
        for d in sig[:10]:
            tag = "holds up" if d["holds_up"] else (
                f"explained by {d['confounder']}" if d["confounder"] else "does not hold up")
            lines.append(f"  {d['feature']} = {d['value']}: {_pct(d['failure_rate'])} fail "
                         f"(CI {_pct(d['ci_low'])}–{_pct(d['ci_high'])}), lift "
                         f"{d['lift']:.2f}, {d['cases']:,} cases, q={d['q_value']:.2g}; {tag}")
        return "\n".join(lines)

    def chart(self, uid: str = "why", top: int = 12) -> str:
        """Inline SVG for the report's "Why" section: the ranked lift chart and the curves."""
        from lastmile.why.charts import why_charts

        return why_charts(self.to_dict(), uid=uid, top=top)

    def __repr__(self) -> str:
        sig = sum(1 for d in self.drivers if d["significant"])
        return f"<Drivers {self.population:,} cases, {self.tested} tested, {sig} significant>"


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _clean(obj: Any) -> Any:
    """numpy scalars and NaN into plain JSON values."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    return obj


def _events_of(events: Any) -> tuple[ir.Table, dict[str, Any] | None]:
    from lastmile.log import Log

    if isinstance(events, Log):
        return events.table, events.attributes
    if isinstance(events, pd.DataFrame):
        from lastmile.io import read_log

        log = read_log(events)
        return log.table, log.attributes
    if isinstance(events, ir.Table):
        return events, None
    raise LastmileError(f"why() needs an event table, a Log or a DataFrame, not {type(events)}")


def _journey_of(journey: Journey | str | dict[str, Any]) -> Journey:
    if isinstance(journey, Journey):
        return journey
    if isinstance(journey, dict):
        return Journey.from_dict(journey)
    return Journey.from_yaml(journey)


def _fmt(x: float, unit: str) -> str:
    """A cut point with its unit; durations in days are written in the handiest unit.

    >>> _fmt(0.0078, "d"), _fmt(0.25, "d"), _fmt(3.456, "d"), _fmt(1.5, "×"), _fmt(12.0, "")
    ('11.2 min', '6 h', '3.46 d', '1.5×', '12')
    """
    if unit == "d":
        if abs(x) < 1 / 24:
            return f"{nice(x * 1440)} min"
        if abs(x) < 1:
            return f"{nice(x * 24)} h"
        return f"{nice(x)} d"
    if unit == "×":
        return f"{nice(x)}×"
    return nice(x) + (f" {unit}" if unit else "")


def _bin_numeric(fs: FeatureSet, table: ir.Table, bins: int) -> ir.Table:
    """Decide the quantile cut points of numeric features (one query) and label every value."""
    nums = [f for f in fs.features if f.kind == "number"]
    if not nums:
        return table
    qs = [k / bins for k in range(1, bins)]
    aggs: dict[str, ir.Value] = {}
    for f in nums:
        col = table[f.column].cast("float64")
        aggs[f"{f.column}_n"] = col.nunique()
        for i, q in enumerate(qs):
            aggs[f"{f.column}_q{i}"] = col.quantile(q)
    row = table.aggregate(**aggs).to_pandas().iloc[0]
    labels: dict[str, ir.Value] = {}
    for f in nums:
        col = table[f.column].cast("float64")
        n_distinct = int(row[f"{f.column}_n"] or 0)
        missing = ibis.null("string") if f.applies else ibis.literal("(missing)")
        if n_distinct <= 10:
            f.kind = "category"
            orig = table[f.column]
            text = (orig.cast("string") if orig.type().is_integer()
                    else col.round(6).cast("string"))
            labels[f.column] = ibis.cases((col.isnull(), missing), else_=text)
            continue
        cuts = sorted({float(row[f"{f.column}_q{i}"]) for i in range(len(qs))
                       if row[f"{f.column}_q{i}"] is not None
                       and not pd.isna(row[f"{f.column}_q{i}"])})
        if not cuts:
            labels[f.column] = missing
            continue
        texts = [f"< {_fmt(cuts[0], f.unit)}"]
        for a, b in itertools.pairwise(cuts):
            texts.append(f"{_fmt(a, f.unit)} – {_fmt(b, f.unit)}")
        texts.append(f"≥ {_fmt(cuts[-1], f.unit)}")
        f.cuts, f.labels = cuts, texts
        branches = [(col.isnull(), missing)]
        branches += [(col < c, t) for c, t in zip(cuts, texts[:-1], strict=True)]
        labels[f.column] = ibis.cases(*branches, else_=texts[-1])
    return table.mutate(**labels)


def why(
    events: Any,
    journey: Journey | str | dict[str, Any],
    as_of: Any = None,
    min_support: int = 30,
    fdr: float = 0.05,
    bins: int = 5,
    attributes: dict[str, Any] | None = None,
) -> Drivers:
    """The drivers of last-mile failure.

    Parameters
    ----------
    events
        The event table (Ibis), a :class:`lastmile.Log` or a pandas DataFrame of events.
    journey
        A :class:`~lastmile.journey.Journey` (or its YAML text or dict).
    as_of
        Look at the log as it was at this time.
    min_support
        Driver values with fewer cases (or leaving fewer cases in the rest) are not tested.
    fdr
        False-discovery rate of the two-stage procedure (features, then their values; see
        :func:`lastmile.why.stats.two_stage_qvalues`).
    bins
        Numeric features are cut into this many quantile bins.
    attributes
        Case/event attribute kinds (taken from the Log when one is given).

    Returns
    -------
    Drivers
    """
    table, attrs = _events_of(events)
    attrs = attributes if attributes is not None else attrs
    j = _journey_of(journey)
    if min_support < 1:
        raise LastmileError(f"--min-support must be at least 1, got {min_support}")
    if not 0 < fdr < 1:
        raise LastmileError(f"--fdr must be between 0 and 1, got {fdr}")
    fs = feature_table(table, j, as_of=as_of, attributes=attrs, min_support=min_support)
    ft = fs.table.cache()
    ft = _bin_numeric(fs, ft, bins)
    # every remaining column as a string label; then one long group-by on the engine
    cast = {}
    for f in fs.features:
        col = ft[f.column]
        if f.kind == "category" and not col.type().is_string():
            col = col.cast("string")
        if f.kind == "category" and f.applies is None:
            col = col.fill_null("(missing)")
        cast[f.column] = col
    ft = ft.mutate(**cast)
    cols = [f.column for f in fs.features]
    long = ft.select("_fail", "_value", *cols).pivot_longer(
        cols, names_to="_feature", values_to="_label")
    long = long.filter(long._label.notnull())
    counts = (long.group_by(["_feature", "_label"])
              .aggregate(_cases=long.count(), _failures=long._fail.cast("int64").sum(),
                         _lost=long._value.sum(where=long._fail))
              .to_pandas())
    tot = ft.aggregate(n=ft.count(), k=ft._fail.cast("int64").sum()).to_pandas().iloc[0]
    population, failures = int(tot["n"]), int(tot["k"] or 0)
    baseline = failures / population if population else None
    by_col = {f.column: f for f in fs.features}
    by_name = {f.name: f.column for f in fs.features}
    jinfo = {"last_mile": j.last_mile, "finish": j.finish, "stages": list(j.stage_names)}
    feats_info = [{"feature": f.name, "group": f.group, "kind": f.kind,
                   "description": f.description, "applies": f.applies} for f in fs.features]
    extra = {"follow_up_days": fs.follow_up_days,
             "excluded_recent": max(fs.closed - population, 0)}
    if counts.empty or not population:
        return Drivers([], {}, population, failures, baseline, min_support, fdr, 0,
                       feats_info, None, jinfo, **extra)

    counts["_cases"] = counts["_cases"].astype(np.int64)
    counts["_failures"] = counts["_failures"].fillna(0).astype(np.int64)
    short = _under_covered(counts, fs.features, population)
    for info in feats_info:
        if info["feature"] in short:
            info["not_tested"] = short[info["feature"]]
    counts = counts[~counts["_feature"].isin([by_name[n] for n in short])]
    grp = counts.groupby("_feature")
    counts["_pop"] = grp["_cases"].transform("sum")
    counts["_popfail"] = grp["_failures"].transform("sum")
    counts["_nvalues"] = grp["_label"].transform("count")
    curves = _curves(counts, fs.features)
    testable = ((counts["_cases"] >= min_support)
                & (counts["_pop"] - counts["_cases"] >= min_support)
                & (counts["_nvalues"] >= 2)
                & (counts["_label"] != "(other)"))
    t = counts[testable].copy()
    if t.empty:
        return Drivers([], curves, population, failures, baseline, min_support, fdr, 0,
                       feats_info, None, jinfo, **extra)
    a, n1 = t["_failures"].to_numpy(), t["_cases"].to_numpy()
    c = (t["_popfail"] - t["_failures"]).to_numpy()
    n2 = (t["_pop"] - t["_cases"]).to_numpy()
    rate = a / n1
    rest = c / n2
    base = t["_popfail"].to_numpy() / t["_pop"].to_numpy()
    lo, hi = wilson_interval(a, n1)
    p = fisher_pvalues(a, n1, c, n2)
    family, hypothesis, same = _hypotheses(ft, counts, t, fs.features)
    first = ~pd.Series(hypothesis).duplicated().to_numpy()
    q_h, fq_h = two_stage_qvalues(p[first], family[first])
    q = pd.Series(q_h, index=hypothesis[first]).reindex(hypothesis).to_numpy()
    fq = pd.Series(fq_h, index=hypothesis[first]).reindex(hypothesis).to_numpy()
    n_families = len(set(family))
    lost = t["_lost"].astype(float).to_numpy()
    share = np.where(rate > 0, np.clip(1 - rest / np.where(rate > 0, rate, 1), 0, 1), 0)
    rows: list[dict[str, Any]] = []
    for i, (col, label) in enumerate(zip(t["_feature"], t["_label"], strict=True)):
        f = by_col[col]
        lo_edge, hi_edge = _edges(f, label)
        rows.append({
            "feature": f.name, "value": label, "group": f.group,
            "lo": lo_edge, "hi": hi_edge,
            "failure_rate": float(rate[i]), "ci_low": float(lo[i]), "ci_high": float(hi[i]),
            "baseline": float(base[i]),
            "lift": float(rate[i] / base[i]) if base[i] > 0 else None,
            "cases": int(n1[i]), "failures": int(a[i]), "population": int(t["_pop"].iloc[i]),
            "failures_attributable": float(a[i] - n1[i] * rest[i]),
            "value_lost_attributable": (float(lost[i] * share[i]) if fs.has_value
                                        and not math.isnan(lost[i]) else None),
            "p_value": float(p[i]), "q_value": float(q[i]), "feature_q_value": float(fq[i]),
            "significant": bool(q[i] <= fdr),
            "holds_up": False, "adjusted_odds_ratio": None, "confounder": None,
            "duplicate_of": None, "same_cases_as": [], "_col": col,
            "_priority": f.priority,
            "_rest_rate": float(rest[i]),
            "_same": (same[col][0], same[col][1].get(label, label)) if col in same else None,
        })
    method = _multivariate(ft, [r for r in rows if r["_same"] is None], by_col)
    _copy_identical(rows)
    rows = _rank(rows)
    for r in rows:
        r.pop("_col", None)
        r.pop("_rest_rate", None)
        r.pop("_priority", None)
        r.pop("_same", None)
    return Drivers(rows, curves, population, failures, baseline, min_support, fdr, len(rows),
                   feats_info, method, jinfo, features_tested=n_families, **extra)


def _hypotheses(ft: ir.Table, counts: pd.DataFrame, t: pd.DataFrame,
                features: list[Feature]
                ) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[str, dict[str, str]]]]:
    """The family (feature) and the distinct hypothesis of every tested value (rows of ``t``).

    A hypothesis is a comparison of cases against the rest; it is counted once however many
    rows show it: the two values of a two-valued feature are one comparison (mirror-image
    tables, the same p-value), and features that split the cases identically (the coach who
    signs members up also does their check-ins) are one family whose values are the same
    comparisons. Identical splits are found from the counts and confirmed on the engine.
    The third item maps such a feature's column to ``(representative column, {its label: the
    representative's label})``.
    """
    cols = [f.column for f in features]
    prio = {f.column: f.priority for f in features}
    sig: dict[tuple[Any, ...], list[str]] = {}
    for col, g in counts.groupby("_feature", sort=False):
        if len(g) >= 2:
            key = tuple(sorted(zip(g["_cases"].tolist(), g["_failures"].tolist(), strict=True)))
            sig.setdefault(key, []).append(col)
    rep: dict[str, tuple[str, dict[str, str]]] = {}
    for group in sig.values():
        # the representative: the feature nearest the last mile (the resource of the entry,
        # a case attribute), then the first
        group.sort(key=lambda col: (prio[col], cols.index(col)))
        for other in group[1:]:
            same = _same_split(ft, group[0], other)
            if same is not None:
                rep[other] = (group[0], same)
    nvalues = counts.groupby("_feature")["_label"].count()
    family, hyp = [], []
    for col, label in zip(t["_feature"], t["_label"], strict=True):
        fam, mapping = rep.get(col, (col, None))
        lab = mapping.get(label, label) if mapping else label
        family.append(fam)
        hyp.append(f"{fam}\x00" + ("*" if nvalues[fam] == 2 else str(lab)))
    return np.asarray(family, dtype=object), np.asarray(hyp, dtype=object), rep


def _copy_identical(rows: list[dict[str, Any]]) -> None:
    """Values of a feature that splits the cases exactly as another are that feature's values
    seen again: ``duplicate_of`` it, with its check (they stay out of the model)."""
    by_key = {(r["_col"], str(r["value"])): r for r in rows}
    for r in rows:
        if r["_same"] is None:
            continue
        twin = by_key.get(r["_same"])
        if twin is None:
            continue
        r["duplicate_of"] = f"{twin['feature']} = {twin['value']}"
        twin["same_cases_as"].append(f"{r['feature']} = {r['value']}")
        for k in ("holds_up", "adjusted_odds_ratio", "confounder"):
            r[k] = twin[k]


def _same_split(ft: ir.Table, a: str, b: str) -> dict[str, str] | None:
    """``{label of b: label of a}`` when features ``a`` and ``b`` split the cases identically."""
    pairs = ft.group_by([a, b]).aggregate(_n=ft.count()).to_pandas()
    if pairs[a].nunique(dropna=False) != len(pairs) or pairs[b].nunique(dropna=False) != len(
            pairs):
        return None
    return {str(y): str(x) for x, y in zip(pairs[a], pairs[b], strict=True)
            if x is not None and y is not None and not pd.isna(x) and not pd.isna(y)}


def _under_covered(counts: pd.DataFrame, features: list[Feature], population: int
                   ) -> dict[str, str]:
    """Features observed in too few of the compared cases to be tested (``min_coverage``).

    ``{feature name: reason}``; the reason goes into ``features[].not_tested`` of the result.
    """
    seen = counts.groupby("_feature")["_cases"].sum()
    out = {}
    for f in features:
        if f.min_coverage <= 0 or not population:
            continue
        share = float(seen.get(f.column, 0)) / population
        if share < f.min_coverage:
            out[f.name] = (f"observed in {share:.0%} of the cases, fewer than "
                           f"{f.min_coverage:.0%}: the outcome often comes first")
    return out


def _edges(f: Feature, label: str) -> tuple[float | None, float | None]:
    """The bin edges ``[lo, hi)`` of a numeric driver value (None: open end or a category)."""
    if label not in f.labels:
        return None, None
    k = f.labels.index(label)
    edges = [None, *f.cuts, None]
    return edges[k], edges[k + 1]


def _curves(counts: pd.DataFrame, features: list[Feature]) -> dict[str, dict[str, Any]]:
    """Failure rate per bin of every binned numeric feature, in bin order."""
    out: dict[str, dict[str, Any]] = {}
    for f in features:
        if not f.labels:
            continue
        sub = counts[counts["_feature"] == f.column].set_index("_label")
        bins = []
        edges = [None, *f.cuts, None]
        for k, label in enumerate(f.labels):
            if label not in sub.index:
                continue
            n, k_fail = int(sub.at[label, "_cases"]), int(sub.at[label, "_failures"])
            lo, hi = wilson_interval([k_fail], [n])
            bins.append({"value": label, "lo": edges[k], "hi": edges[k + 1], "cases": n,
                         "failures": k_fail, "failure_rate": k_fail / n if n else None,
                         "ci_low": float(lo[0]), "ci_high": float(hi[0])})
        if bins:
            pop = int(sub["_cases"].sum())
            fails = int(sub["_failures"].sum())
            out[f.name] = {"feature": f.name, "group": f.group, "description": f.description,
                           "baseline": fails / pop if pop else None, "bins": bins}
    return out


def _multivariate(ft: ir.Table, rows: list[dict[str, Any]], by_col: dict[str, Feature]
                  ) -> str | None:
    """Fill ``holds_up``, ``adjusted_odds_ratio``, ``confounder``, ``duplicate_of`` in place."""
    cand = sorted((r for r in rows if r["significant"]),
                  key=lambda r: (r["p_value"], -r["failures_attributable"], r["_priority"])
                  )[:MAX_MODEL]
    # among drivers that overlap, the one nearest the last mile (the resource of the entry, a
    # case attribute) represents them; then the most significant
    cand.sort(key=lambda r: (r["_priority"], r["p_value"], -r["failures_attributable"]))
    if not cand:
        return None
    names = [f"_x{i}" for i in range(len(cand))]
    ind = {nm: (ft[r["_col"]] == r["value"]).fill_null(False)
           for nm, r in zip(names, cand, strict=True)}
    sub_cols = sorted({r["_col"] for r in cand if by_col[r["_col"]].applies})
    app_names = [f"_a{i}" for i in range(len(sub_cols))]
    ind.update({nm: ft[c].notnull() for nm, c in zip(app_names, sub_cols, strict=True)})
    m = ft.mutate(**ind)
    g = m.group_by([*names, *app_names]).aggregate(
        _cases=m.count(), _failures=m._fail.cast("int64").sum())
    df = g.to_pandas()
    X, fails, cases = grouped_frame_to_arrays(df, names + app_names)
    corr = weighted_corr(X[:, : len(names)], cases)
    # duplicates: the same cases as a better (lower p) driver
    dup_of: dict[int, int] = {}
    comp_of: dict[int, int] = {}
    overlap_of: dict[int, int] = {}
    for i in range(len(cand)):
        earlier = [k for k in range(i) if k not in dup_of and k not in comp_of
                   and k not in overlap_of]
        # the same cases as a stronger driver first, so that a feature that splits the cases
        # exactly as another is reported as its duplicate, value by value
        dup = next((k for k in earlier if corr[i, k] >= DUPLICATE_CORR), None)
        if dup is not None:
            dup_of[i] = dup
            continue
        for k in earlier:
            if corr[i, k] <= -DUPLICATE_CORR:
                # the other value of a two-valued feature, or the mirror image of a driver of
                # another feature: the same test
                comp_of[i] = k
                break
            if corr[i, k] >= OVERLAP_CORR:
                # mostly the same cases as a stronger driver: the model cannot tell them apart,
                # so only the stronger one goes in and this one is explained by it
                overlap_of[i] = k
                break
    left_out = set(dup_of) | set(comp_of) | set(overlap_of)
    core = [i for i in range(len(cand)) if i not in left_out]
    nested = _nested(X[:, : len(names)], cases)
    apps = [len(names) + m for m in range(len(app_names))]
    method = None
    binned = [bool(by_col[r["_col"]].labels) for r in cand]
    for i in [i for i in range(len(cand)) if i not in dup_of and i not in comp_of]:
        # driver i against the rest, adjusted for the drivers of the other features. Values of
        # its own feature are covariates only for a category and only when they go the other
        # way (Crew E looks good only next to SubCo B); the bins of a number are not (they
        # would move its reference along the curve). A driver that overlaps a stronger one is
        # not a covariate of the others, but is itself assessed next to it.
        # Nor is a refinement of driver i (a driver whose cases lie inside i's: the variant
        # that contains the missed coursework, the teacher who recorded it): adjusting for it
        # would ask whether i matters outside a part of itself; the refinement is assessed
        # next to i instead.
        others = [j for j in core if j != i and not nested[j, i] and (
            cand[j]["_col"] != cand[i]["_col"]
            or (not binned[i] and _direction(cand[j]) != _direction(cand[i])))]
        use = [i, *others, *apps]
        kept = independent_columns(X[:, use], cases)
        cols = [use[k] for k in kept]
        r = cand[i]
        if not cols or cols[0] != i:
            r["holds_up"] = False
            continue
        res = fit_grouped_logit(X[:, cols], fails, cases)
        method = res.method
        coef, pv = res.coef[0], res.pvalue[0]
        marg = r["failure_rate"] - r["_rest_rate"]
        r["adjusted_odds_ratio"] = float(math.exp(coef))
        same_sign = (coef > 0) == (marg > 0)
        # without p-values (penalised fit) the adjusted effect must stay clearly non-zero
        r["holds_up"] = bool(same_sign and (abs(coef) > 0.1 if math.isnan(pv) else pv < 0.05))
    holding = {i for i, r in enumerate(cand) if r["holds_up"]}
    for i, r in enumerate(cand):
        if i in comp_of:
            twin = cand[comp_of[i]]
            r["holds_up"] = twin["holds_up"]
            aor = twin["adjusted_odds_ratio"]
            r["adjusted_odds_ratio"] = 1.0 / aor if aor else None
            r["confounder"] = twin["confounder"]
        elif i in overlap_of and not r["holds_up"]:
            r["confounder"] = f"{cand[overlap_of[i]]['feature']} = {cand[overlap_of[i]]['value']}"
        elif i in dup_of:
            twin = cand[dup_of[i]]
            r["duplicate_of"] = f"{twin['feature']} = {twin['value']}"
            twin["same_cases_as"].append(f"{r['feature']} = {r['value']}")
            r["holds_up"] = twin["holds_up"]
            r["adjusted_odds_ratio"] = twin["adjusted_odds_ratio"]
        elif not r["holds_up"] and r["confounder"] is None:
            r["confounder"] = _confounder(i, cand, corr, holding, binned,
                                          set(dup_of) | set(comp_of))
    return None if method is None else f"{method}, one per driver, adjusted for the others"


def _nested(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``nested[j, i]``: driver ``j`` is no covariate for driver ``i``, being either

    - a *refinement* of ``i``: at least :data:`NESTED_SHARE` of its cases are ``i``'s, and it
      has fewer cases (the variant that contains the missed coursework); or
    - nearly ``i``'s *reference group*: at least :data:`NESTED_SHARE` of its cases are not
      ``i``'s and it holds at least :data:`MIRROR_SHARE` of the cases that are not ``i``'s
      (the variant "all coursework submitted" next to "coursework missed"), so that ``i``
      would be compared with a small remnant.

    >>> X = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]], dtype=float)
    >>> _nested(X, np.array([10.0, 10.0, 10.0, 10.0])).astype(int).tolist()
    [[0, 0, 1], [1, 0, 0], [1, 0, 0]]
    """
    W = X * w[:, None]
    size = W.sum(0)
    both = W.T @ X  # both[j, i]: cases in j and in i
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = both / size[:, None]  # share of j's cases that are i's
        rest = w.sum() - size  # cases that are not i's
        covers = (size[:, None] - both) / rest[None, :]  # share of not-i that is j
    refine = (inside >= NESTED_SHARE) & (size[:, None] < size[None, :])
    mirror = (inside <= 1 - NESTED_SHARE) & (covers >= MIRROR_SHARE)
    out = refine | mirror
    np.fill_diagonal(out, False)
    return out


def _direction(r: dict[str, Any]) -> bool:
    """True for a value that fails more often than the rest."""
    return bool(r["failure_rate"] > r["_rest_rate"])


def _confounder(i: int, cand: list[dict[str, Any]], corr: np.ndarray, holding: set[int],
                binned: list[bool], skip: set[int]) -> str | None:
    """The driver overlapping most with driver ``i`` (preferring those that hold up): the
    likely confounder; another value of the same feature only for a category; never a
    duplicate or a complement (``skip``), nor a driver with the same cases as ``i``."""
    best, best_c = None, 0.05
    for k, r in enumerate(cand):
        if k == i or k in skip or (r["_col"] == cand[i]["_col"] and binned[i]):
            continue
        if abs(corr[i, k]) >= DUPLICATE_CORR:
            continue
        c = abs(corr[i, k]) * (1.5 if k in holding else 1.0)
        if c > best_c:
            best, best_c = k, c
    return None if best is None else f"{cand[best]['feature']} = {cand[best]['value']}"


def _rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: the strongest value of each feature, then the other values."""

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        tier = 0 if (r["significant"] and r["holds_up"] and not r["duplicate_of"]) else (
            1 if r["significant"] and not r["duplicate_of"] else (2 if r["significant"] else 3))
        if tier == 3:
            return (tier, r["p_value"], -r["failures_attributable"])
        return (tier, -r["failures_attributable"], r["p_value"])

    ordered = sorted(rows, key=key)
    seen: set[str] = set()
    leads, rest = [], []
    for r in ordered:
        (rest if r["feature"] in seen else leads).append(r)
        seen.add(r["feature"])
    return sorted(leads, key=key) + sorted(rest, key=key)


def breakdown(events: Any, journey: Journey | str | dict[str, Any], by: str,
              as_of: Any = None) -> pd.DataFrame:
    """The funnel and last-mile measures per value of an attribute (for ``report --by``).

    One row per value of ``by`` (its first non-null value in each case; ``(missing)`` when it
    has none), with ``cases``, ``reached_<stage>`` for every stage, and the last mile:
    ``lm_entered``, ``lm_finished``, ``lm_failed``, ``lm_reversed``, ``lm_open``,
    ``lm_conversion`` (finished over entered minus open), ``lm_failure_rate``.

    >>> import pandas as pd
    >>> ev = pd.DataFrame({"case_id": ["a", "a", "b", "c", "c"],
    ...     "activity": ["S", "F", "S", "S", "F"], "region": ["N", "N", "S", "S", "S"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01",
    ...                                  "2024-01-03", "2024-01-04"]),
    ...     "event_index": range(5)})
    >>> b = breakdown(ibis.memtable(ev), Journey.from_flags("S,F"), by="region")
    >>> b[["region", "cases", "reached_S", "reached_F"]].values.tolist()
    [['N', 1, 1, 1], ['S', 2, 2, 1]]
    """
    from lastmile.measures.cases import case_table

    table, _ = _events_of(events)
    j = _journey_of(journey)
    if by not in table.columns:
        raise LastmileError(f"no attribute named {by!r} in the log",
                            hint="choose one of: " + ", ".join(
                                c for c in table.columns if c not in (
                                    "case_id", "activity", "timestamp", "event_index")))
    ct = case_table(table, j, as_of=as_of)
    val = table.group_by("case_id").aggregate(
        _by=table[by].cast("string").argmin(table.event_index,
                                             where=table[by].notnull()))
    c = ct.left_join(val, ct.case_id == val.case_id)
    c = c.mutate(_by=c._by.fill_null("(missing)"))
    entered = c.stage_index >= j.last_mile_index
    aggs: dict[str, ir.Value] = {"cases": c.count()}
    for k, s in enumerate(j.stages):
        aggs[f"reached_{s.name}"] = c.count(where=c.stage_index >= k)
    aggs["lm_entered"] = c.count(where=entered)
    for st in ("finished", "failed", "reversed", "open"):
        aggs[f"lm_{st}"] = c.count(where=entered & (c.status == st))
    out = c.group_by("_by").aggregate(**aggs).order_by("_by").to_pandas()
    out = out.rename(columns={"_by": by})
    decided = out["lm_entered"] - out["lm_open"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["lm_conversion"] = np.where(decided > 0, out["lm_finished"] / decided, np.nan)
        out["lm_failure_rate"] = np.where(
            decided > 0, (out["lm_failed"] + out["lm_reversed"]) / decided, np.nan)
    return out.reset_index(drop=True)
