"""Candidate drivers as one Ibis table: one row per case that entered the last mile and closed.

:func:`feature_table` builds, on the engine that holds the events, a table with the outcome
(``_fail``: failed or reversed in the last mile), the value at stake and one column per
candidate feature. Every feature is observed at or before the moment it describes, never from
the outcome itself:

- **case attributes**, and **event attributes** on the event that entered the last mile;
- **resources**: who did the first event of each activity up to the entry into the last mile;
- **path before the last mile**: presence of each activity, the variant (sequence), rework
  (events that repeat an activity);
- **timing**: days to reach the last mile, days between consecutive stages before it, weekday,
  hour and month of entry, and the **wait after entry** — days from the entry to the next event
  that is not an outcome (finish, failure, reversal) and comes before the outcome; a case whose
  outcome comes first has no such wait and is left out of that feature, and the feature is only
  tested when that leaves out few cases (:data:`WAIT_COVERAGE`), so the wait cannot encode the
  outcome;
- **pace** ("relaxing too soon"): the last gap before the entry divided by the case's mean
  earlier gap; and, for journeys with a reversal, the events per day in the first weeks after
  the finish divided by those before it (only cases still unreversed at the end of those weeks);
- **deadlines**: for a time attribute of the case that falls after the entry (election day, an
  expiry date), whether there was any event in the final 72 hours before it — among the cases
  still undecided 72 hours before it, judged from their events before that moment.

Features that apply only to some cases are null for the others; attributes that are missing
are the value ``(missing)``.

>>> import ibis, pandas as pd
>>> from lastmile.journey import Journey
>>> ev = pd.DataFrame({"case_id": ["a", "a", "b", "b"], "activity": ["S", "F", "S", "F"],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-05"]),
...     "resource": ["Ann", None, "Bob", None], "event_index": [0, 1, 2, 3]})
>>> fs = feature_table(ibis.memtable(ev), Journey.from_flags("S,F"))
>>> [f.name for f in fs.features][:3]
['time to last mile', 'wait after entry', 'entry weekday']
>>> fs.table.to_pandas().sort_values("case_id")[["case_id", "_fail"]].values.tolist()
[['a', False], ['b', False]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from lastmile.journey import Journey
from lastmile.measures._expr import as_timestamp, epoch, literal_time
from lastmile.measures.cases import case_table, reached_column, stage_index_expr

__all__ = ["DEADLINE_HOURS", "WAIT_COVERAGE", "Feature", "FeatureSet", "feature_table"]

#: Horizon of the deadline features: any event in the final 72 hours before the deadline?
DEADLINE_HOURS = 72
#: Longest landmark after the finish for the pace-after-finish feature.
AFTER_FINISH_MAX = timedelta(days=28)
#: Most activities looked at for presence / resource features (the most frequent ones).
MAX_ACTIVITIES = 40
DAY = 86400.0
#: The wait after entry is tested only when observed (a non-outcome event between the entry and
#: the outcome) in at least this share of the compared cases. Where the outcome often comes
#: first, the cases with a wait are selected by the outcome and its timing: quick finishes can
#: only show short waits, late-decided failures long ones, and the wait separates the outcomes
#: even when nothing drives them (campaign ``--null``: 13 % of its p-values below 0.05).
WAIT_COVERAGE = 0.95
#: Cases need this quantile of the entry-to-settled time between their entry and the log's end.
FOLLOW_UP_QUANTILE = 0.95
#: ... and this quantile of the entry-to-finish time of the finished cases (slow finishes).
FINISH_QUANTILE = 0.99
#: Entry-time bins used to find the tail of the log where open cases pile up.
OPEN_BINS = 50
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Feature:
    """One candidate driver: its display name, column in the feature table and kind.

    ``kind`` is ``number`` (binned by quantiles later) or ``category``; ``group`` says where it
    comes from (``attribute``, ``event attribute``, ``resource``, ``path``, ``rework``,
    ``timing``, ``pace``, ``deadline``); ``order`` fixes the order of known category values
    (weekdays, months); ``applies`` describes the cases it applies to when not all;
    ``min_coverage`` is the share of the compared cases it must be observed in to be tested
    (for a measurement that the outcome itself can cut short, see :data:`WAIT_COVERAGE`).
    """

    name: str
    column: str
    kind: str
    group: str
    description: str = ""
    order: tuple[str, ...] | None = None
    applies: str | None = None
    unit: str = ""
    priority: int = 1
    min_coverage: float = 0.0
    cuts: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass
class FeatureSet:
    """The feature table (Ibis, cached on the engine) and what each of its columns means."""

    table: ir.Table
    features: list[Feature]
    has_value: bool
    follow_up_days: float = 0.0
    closed: int = 0


def _outcome_activities(journey: Journey) -> list[str]:
    acts: list[str] = []
    for stage in journey.stages[journey.finish_index:]:
        acts.extend(stage.activities)
    acts.extend(journey.failure)
    if journey.reversal is not None:
        acts.extend(journey.reversal.activities)
    return sorted(set(acts))


def _classify_columns(events: ir.Table, attributes: dict[str, Any] | None) -> dict[str, str]:
    """``{column: 'case'|'event'}`` for every attribute column, from ``attributes`` or the data.

    Without ``attributes`` (a plain table), a column is a case attribute when no case has two
    different values of it — checked in one aggregation on the engine.
    """
    base = {"case_id", "activity", "timestamp", "resource", "event_index"}
    cols = [c for c in events.columns if c not in base and not c.startswith("_")]
    if not cols:
        return {}
    if attributes is not None:
        out = {}
        for c in cols:
            a = attributes.get(c)
            out[c] = getattr(a, "kind", "case") if a is not None else "case"
        return out
    per_case = events.group_by("case_id").aggregate(
        **{f"_n{i}": events[c].nunique() for i, c in enumerate(cols)})
    row = per_case.aggregate(**{f"_m{i}": per_case[f"_n{i}"].max()
                                for i in range(len(cols))}).to_pandas().iloc[0]
    return {c: ("event" if (row[f"_m{i}"] or 0) > 1 else "case") for i, c in enumerate(cols)}


def _dtype_kind(dtype: Any) -> str:
    if dtype.is_boolean():
        return "bool"
    if dtype.is_numeric():
        return "number"
    if dtype.is_timestamp() or dtype.is_date():
        return "time"
    return "category"


def feature_table(
    events: ir.Table,
    journey: Journey,
    as_of: Any = None,
    attributes: dict[str, Any] | None = None,
    min_support: int = 30,
) -> FeatureSet:
    """Build the case feature table of the last mile on the engine.

    Parameters
    ----------
    events
        The event table (``case_id``, ``activity``, ``timestamp``, ``event_index``,
        ``resource`` and attributes).
    journey
        The journey; the last mile and the outcome come from it.
    as_of
        Look at the log as it was at this time.
    attributes
        ``{column: Attribute}`` as in :attr:`lastmile.Log.attributes`; when None, case and
        event attributes are told apart from the data.
    min_support
        Activities and resources seen in fewer cases are not turned into features.

    Returns
    -------
    FeatureSet
        ``table`` has ``case_id``, ``_fail`` (bool), ``_value`` (float or null) and one column
        per :class:`Feature`; numeric features are still raw numbers (binned by the caller).
    """
    cut = as_timestamp(as_of)
    ev = events
    if cut is not None:
        ev = ev.filter(ev.timestamp <= literal_time(cut))
    if "resource" not in ev.columns:
        ev = ev.mutate(resource=ibis.null("string"))
    li = journey.last_mile_index
    kinds = _classify_columns(ev, attributes)
    schema = ev.schema()

    ct = case_table(events, journey, as_of=as_of).cache()  # used by several queries below
    pop = ct.filter(ct.entered_last_mile & (ct.status != "open"))
    timeout_s = journey.timeout.total_seconds() if journey.timeout is not None else 0.0
    decided = ibis.cases(
        (pop.status.isin(["finished", "reversed"]), epoch(pop.finished_at)),
        (pop.failure_kind == "explicit", epoch(pop.explicit_failure_at)),
        else_=epoch(pop.last_event_at) + timeout_s,
    )
    # when the outcome is final: a finish can still be reversed inside the window
    rev_window = (journey.reversal.window.total_seconds()
                  if journey.reversal is not None and journey.reversal.window is not None
                  else 0.0)
    settled = ibis.cases(
        (pop.status == "reversed", epoch(pop.reversed_at)),
        (pop.status == "finished", epoch(pop.finished_at) + rev_window),
        else_=decided,
    )
    end_s = epoch(literal_time(cut)) if cut is not None else epoch(ev.timestamp.max().as_scalar())
    # complete follow-up: cases that entered the last mile so late that slow outcomes could not
    # have happened yet are left out (closed late entries are biased towards quick outcomes,
    # and towards abandonment that a late finish would still undo)
    follow = pop.mutate(_span=settled - epoch(pop.entered_last_mile_at), _end=end_s)
    fin = follow.status == "finished"
    stats = follow.aggregate(h=follow._span.quantile(FOLLOW_UP_QUANTILE), end=follow._end.max(),
                             hf=follow._span.quantile(FINISH_QUANTILE, where=fin),
                             n=follow.count()).to_pandas().iloc[0]
    horizon = max([0.0] + [float(stats[k]) for k in ("h", "hf")
                           if stats["n"] and not _isnan(stats[k])])
    if stats["n"]:
        latest = min(float(stats["end"]) - horizon, _open_tail_start(ct))
        pop = pop.filter(epoch(pop.entered_last_mile_at) <= latest)
        decided = ibis.cases(
            (pop.status.isin(["finished", "reversed"]), epoch(pop.finished_at)),
            (pop.failure_kind == "explicit", epoch(pop.explicit_failure_at)),
            else_=epoch(pop.last_event_at) + timeout_s,
        )
    closed = int(stats["n"])
    stage_cols = {f"_r{k}": epoch(pop[reached_column(k)]) for k in range(li + 1)}
    p = pop.select(
        _cid=pop.case_id,
        _fail=pop.last_mile_failure,
        _value=pop.value,
        _decided_s=decided,
        _fin_s=epoch(pop.finished_at),
        _xfail_s=epoch(pop.explicit_failure_at),
        _rev_s=epoch(pop.reversed_at),
        _entry_at=pop.entered_last_mile_at,
        _end_s=end_s,
        **stage_cols,
    )

    # case-level values of case attributes (time attributes too: the deadlines)
    case_attrs = [c for c, k in kinds.items() if k == "case"]
    event_attrs = [c for c, k in kinds.items() if k == "event"]
    time_attrs = [c for c in case_attrs if _dtype_kind(schema[c]) == "time"]

    # activities worth a presence / resource feature: most frequent, seen in enough cases
    acts = (ev.group_by("activity")
            .aggregate(_cases=ev.case_id.nunique(),
                       _res=ev.case_id.nunique(where=ev.resource.notnull()),
                       _nres=ev.resource.nunique())
            .order_by([ibis.desc("_cases"), "activity"]).limit(400).to_pandas())
    outcome = _outcome_activities(journey)
    entry_acts = set(journey.stages[li].activities)
    later = {a for s in journey.stages[li + 1:] for a in s.activities} | set(outcome)
    presence = [a for a, n in zip(acts["activity"], acts["_cases"], strict=True)
                if n >= min_support and a not in later and a not in entry_acts
                ][:MAX_ACTIVITIES]
    res_acts = [a for a, n, k in zip(acts["activity"], acts["_res"], acts["_nres"], strict=True)
                if n >= min_support and k >= 2 and a not in later][:MAX_ACTIVITIES]

    e = ev.mutate(_si=stage_index_expr(ev.activity, journey), _t=epoch(ev.timestamp))
    for c in case_attrs + event_attrs:
        if _dtype_kind(schema[c]) == "bool":
            e = e.mutate(**{c: e[c].cast("string")})
    whole = ibis.window(group_by=e.case_id)
    e = e.mutate(_pos=ibis.row_number().over(group_by=e.case_id,
                                             order_by=[e.timestamp, e.event_index]))
    e = e.mutate(_epos=ibis.cases((e._si >= li, e._pos), else_=ibis.null("int64"))
                 .min().over(whole))
    e = e.inner_join(p, e.case_id == p._cid)
    pre = e._pos < e._epos
    at = e._pos == e._epos
    post = e._pos > e._epos
    not_outcome = ~e.activity.isin(outcome) if outcome else ibis.literal(True)
    before_decided = e._t < e._decided_s

    aggs: dict[str, ir.Value] = {
        "_fail": e._fail.max(),
        "_value": e._value.max(),
        "_decided_s": e._decided_s.max(),
        "_fin_s": e._fin_s.max(),
        "_xfail_s": e._xfail_s.max(),
        "_rev_s": e._rev_s.max(),
        "_end_s": e._end_s.max(),
        "_entry_at": e._entry_at.max(),
        "_pre_n": e.count(where=pre),
        "_pre_distinct": e.activity.nunique(where=pre),
        "_first_s": e._t.min(),
        "_prev_s": e._t.max(where=pre),
        "_entry_s": e._t.min(where=at),
        "_next_s": e._t.min(where=post & not_outcome & before_decided),
        "_variant": e.activity.group_concat(" → ", where=pre, order_by=[e._pos]),
    }
    for k in range(li + 1):
        aggs[f"_r{k}"] = e[f"_r{k}"].max()
    features: list[Feature] = []
    n_col = 0

    def new_col() -> str:
        nonlocal n_col
        n_col += 1
        return f"_f{n_col}"

    raw: dict[str, ir.Value] = {}  # feature column -> per-case aggregate
    for c in case_attrs:
        kind = _dtype_kind(schema[c])
        if kind == "time":
            aggs[f"_time_{c}"] = epoch(e[c]).max()
            continue
        col = new_col()
        raw[col] = e[c].max()
        features.append(Feature(c, col, "number" if kind == "number" else "category",
                                "attribute", f"case attribute {c}", priority=0))
    for c in event_attrs:
        kind = _dtype_kind(schema[c])
        if kind == "time":
            continue
        col = new_col()
        raw[col] = e[c].max(where=at)
        features.append(Feature(f"{c} (at entry)", col,
                                "number" if kind == "number" else "category",
                                "event attribute",
                                f"event attribute {c} on the event that entered the last mile"))
    for a in res_acts:
        col = new_col()
        raw[col] = e.resource.argmin(e._pos, where=(e._pos <= e._epos) & (e.activity == a)
                                     & e.resource.notnull())
        features.append(Feature(f"resource: {a}", col, "category", "resource",
                                f"who did the first {a!r} up to the entry into the last mile",
                                applies=f"cases with {a!r} before the last mile",
                                priority=0 if a in entry_acts else 1))
    for a in presence:
        col = new_col()
        raw[col] = (pre & (e.activity == a)).any()
        features.append(Feature(f"before last mile: {a}", col, "category", "path",
                                f"whether {a!r} happened before the entry into the last mile",
                                order=("absent", "present")))
    # after the finish (reversal journeys): events per day in the first weeks after the finish
    rev = journey.reversal
    if rev is not None:
        win = rev.window if rev.window is not None else AFTER_FINISH_MAX * 6
        land = min(win / 6, AFTER_FINISH_MAX).total_seconds()
        aggs["_after_n"] = e.count(where=not_outcome & (e._t > e._fin_s)
                                   & (e._t <= e._fin_s + land))
        aggs["_before_fin_n"] = e.count(where=e._t < e._fin_s)
    else:
        land = 0.0

    c = e.group_by("case_id").aggregate(**aggs, **raw)

    derived: dict[str, ir.Value] = {}
    # timing
    derived_specs: list[Feature] = []
    col = new_col()
    derived[col] = (c._entry_s - c._first_s) / DAY
    derived_specs.append(Feature("time to last mile", col, "number", "timing",
                                 "days from the first event to the entry into the last mile",
                                 unit="d"))
    for k in range(1, li + 1):
        col = new_col()
        derived[col] = (c[f"_r{k}"] - c[f"_r{k - 1}"]) / DAY
        a, b = journey.stages[k - 1].name, journey.stages[k].name
        derived_specs.append(Feature(f"time {a} → {b}", col, "number", "timing",
                                     f"days from reaching {a!r} to reaching {b!r}", unit="d",
                                     applies=f"cases that reached {a!r}"))
    col = new_col()
    derived[col] = (c._next_s - c._entry_s) / DAY
    derived_specs.append(Feature(
        "wait after entry", col, "number", "timing",
        "days from the entry into the last mile to the next event that is not an outcome, "
        "among cases where such an event came before the outcome", unit="d",
        applies="cases with an event after the entry and before the outcome",
        min_coverage=WAIT_COVERAGE))
    entry = c._entry_at
    col = new_col()
    derived[col] = entry.day_of_week.index().cast("int64")
    derived_specs.append(Feature("entry weekday", col, "category", "timing",
                                 "weekday of the entry into the last mile", order=WEEKDAYS))
    col = new_col()
    derived[col] = entry.hour().cast("int64")
    derived_specs.append(Feature("entry hour", col, "category", "timing",
                                 "hour of the day (UTC) of the entry into the last mile",
                                 order=("00–05", "06–08", "09–11", "12–14", "15–17", "18–23")))
    col = new_col()
    derived[col] = entry.month().cast("int64")
    derived_specs.append(Feature("entry month", col, "category", "timing",
                                 "calendar month of the entry into the last mile", order=MONTHS))
    # rework and variant
    col = new_col()
    derived[col] = c._pre_n - c._pre_distinct
    derived_specs.append(Feature("rework before last mile", col, "category", "rework",
                                 "events before the last mile that repeat an activity",
                                 order=("0", "1", "2–3", "4+")))
    col = new_col()
    derived[col] = c._variant
    derived_specs.append(Feature("path to last mile", col, "category", "path",
                                 "the sequence of activities before the entry into the last mile"))
    # pace before the entry: last gap over the mean earlier gap
    col = new_col()
    earlier = (c._prev_s - c._first_s) / (c._pre_n - 1).cast("float64").nullif(0.0)
    derived[col] = (c._entry_s - c._prev_s) / earlier.nullif(0.0)
    derived_specs.append(Feature(
        "pace before entry", col, "number", "pace",
        "the last gap before the entry into the last mile divided by the case's mean earlier "
        "gap (above 1: slowing down as the finish nears)", unit="×",
        applies="cases with at least three events up to the entry"))
    if rev is not None:
        col = new_col()
        land_days = land / DAY
        after_rate = c._after_n.cast("float64") / land_days
        before_rate = c._before_fin_n.cast("float64") / (
            ((c._fin_s - c._first_s) / DAY).nullif(0.0))
        ok = (c._fin_s.notnull() & (c._rev_s.isnull() | (c._rev_s > c._fin_s + land))
              & (c._end_s >= c._fin_s + land))
        derived[col] = ibis.cases((ok, after_rate / before_rate.nullif(0.0)),
                                  else_=ibis.null("float64"))
        derived_specs.append(Feature(
            "pace after finish", col, "number", "pace",
            f"events per day in the first {land_days:g} days after the finish divided by "
            "those before it (below 1: relaxing after the finish)", unit="×",
            applies=f"finished cases not reversed within {land_days:g} days of the finish"))
    for tcol in time_attrs:
        col = new_col()
        derived[f"_dl_{col}"] = c[f"_time_{tcol}"]  # the deadline, per case
        derived_specs.append(Feature(
            f"event in final {DEADLINE_HOURS}h before {tcol}", col, "category", "deadline",
            f"any event (not an outcome) in the {DEADLINE_HOURS} hours before {tcol}, among "
            f"cases still undecided {DEADLINE_HOURS} hours before it", order=("no", "yes"),
            applies=f"cases that entered the last mile before {tcol} − {DEADLINE_HOURS}h and "
            "were undecided then"))

    c = c.mutate(**derived)
    # deadline features need the events again: any non-outcome event in [D - h, min(D, decided)),
    # among the cases still undecided at D - h *as known at D - h* (see _deadline_undecided)
    dl = [f for f in derived_specs if f.group == "deadline"]
    if dl:
        land_cols = {f.column: c[f"_dl_{f.column}"] for f in dl}
        ks = e.select("case_id", "_t", "activity")
        cs = c.select(_c2=c.case_id, _d2=c._decided_s,
                      **{f"_L{f.column}": land_cols[f.column] for f in dl})
        k = ks.inner_join(cs, ks.case_id == cs._c2)
        h = DEADLINE_HOURS * 3600.0
        out = {}
        for f in dl:
            dd = k[f"_L{f.column}"]
            hit = (not_outcome_expr(k.activity, outcome) & (k._t >= dd - h) & (k._t < dd)
                   & (k._t < k._d2))
            out[f"_hit{f.column}"] = hit.any()
            out[f"_last{f.column}"] = k._t.max(where=k._t < dd - h)
        hits = k.group_by("_c2").aggregate(**out)
        c = c.left_join(hits, c.case_id == hits._c2).drop("_c2")
        upd = {}
        for f in dl:
            dd = c[f"_dl_{f.column}"]
            applies = _deadline_undecided(c, dd - h, c[f"_last{f.column}"], timeout_s)
            upd[f.column] = ibis.cases(
                (applies & c[f"_hit{f.column}"].coalesce(False), "yes"),
                (applies, "no"), else_=ibis.null("string"))
        c = c.mutate(**upd)
    features.extend(derived_specs)

    cols = ["case_id", "_fail", "_value", *[f.column for f in features]]
    table = c.select(*cols)
    # hour and rework and weekday/month: turn codes into labels on the engine
    lab: dict[str, ir.Value] = {}
    for f in features:
        col = table[f.column]
        if f.name == "entry weekday":
            lab[f.column] = ibis.cases(*[(col == i, w) for i, w in enumerate(WEEKDAYS)],
                                       else_=ibis.null("string"))
        elif f.name == "entry month":
            lab[f.column] = ibis.cases(*[(col == i + 1, m) for i, m in enumerate(MONTHS)],
                                       else_=ibis.null("string"))
        elif f.name == "entry hour":
            lab[f.column] = ibis.cases((col < 6, "00–05"), (col < 9, "06–08"),
                                       (col < 12, "09–11"), (col < 15, "12–14"),
                                       (col < 18, "15–17"), else_="18–23")
        elif f.name == "rework before last mile":
            lab[f.column] = ibis.cases((col == 0, "0"), (col == 1, "1"), (col <= 3, "2–3"),
                                       else_="4+")
        elif f.group == "path" and f.order == ("absent", "present"):
            lab[f.column] = ibis.cases((col, "present"), else_="absent")
    if lab:
        table = table.mutate(**lab)
    return FeatureSet(table=table, features=features, has_value=journey.value is not None,
                      follow_up_days=horizon / DAY, closed=closed)


def _deadline_undecided(c: ir.Table, landmark: ir.NumericValue, last_before: ir.NumericValue,
                        timeout_s: float) -> ir.BooleanValue:
    """Cases still undecided at ``landmark`` (epoch seconds), judged from the events before it.

    Entered the last mile before the landmark, not finished, failed or reversed before it, and —
    when the journey has a timeout — not yet silent for longer than the timeout at the
    landmark. The case's *final* status is not used: an abandoned case is decided at its last
    event plus the timeout, so a case with an event in the window would stay undecided longer
    than the same case without one, and the population would depend on the feature itself.
    """
    undecided = ((c._entry_s < landmark)
                 & (c._fin_s.isnull() | (c._fin_s >= landmark))
                 & (c._xfail_s.isnull() | (c._xfail_s >= landmark)))
    if timeout_s > 0:
        undecided &= last_before.notnull() & (last_before >= landmark - timeout_s)
    return undecided


def _open_tail_start(ct: ir.Table) -> float:
    """Start (epoch seconds) of the run of latest entries where open cases pile up.

    The cases that entered the last mile are cut into :data:`OPEN_BINS` bins by entry time. The
    bins at the end of the log whose share of open cases exceeds ``max(5 %, twice the median
    bin)`` form the open tail; the closed cases in it are a biased sample (the slow outcomes are
    still to come), so they are left out. ``inf`` when there is no such tail.
    """
    lm = ct.filter(ct.entered_last_mile)
    lm = lm.mutate(_e=epoch(lm.entered_last_mile_at), _open=(lm.status == "open").cast("int64"))
    lm = lm.mutate(_bin=ibis.ntile(OPEN_BINS).over(order_by=[lm._e, lm.case_id]))
    df = (lm.group_by("_bin").aggregate(start=lm._e.min(), share=lm._open.mean())
          .order_by("_bin").to_pandas())
    if df.empty:
        return math.inf
    limit = max(0.05, 2 * float(df["share"].median()))
    start = math.inf
    for b_start, share in zip(df["start"][::-1], df["share"][::-1], strict=True):
        if share <= limit:
            break
        start = float(b_start)
    return start


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def not_outcome_expr(activity: ir.StringValue, outcome: list[str]) -> ir.BooleanValue:
    """True for events that are not outcome activities (finish, failure, reversal)."""
    return ~activity.isin(outcome) if outcome else ibis.literal(True)


def nice(x: float) -> str:
    """A cut point written briefly: 3 significant digits, no trailing zeros.

    >>> nice(14.2857), nice(0.5), nice(12000.0), nice(-0.0)
    ('14.3', '0.5', '12000', '0')
    """
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    text = f"{round(x, digits):.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
