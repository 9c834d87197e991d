"""The case table: one row per case with its progress, status and effort.

Every other measure is an aggregation of this table. It is an Ibis expression over the event
table (``case_id, activity, timestamp, event_index`` and any attributes), so it runs on the
engine that holds the events.

>>> import ibis, pandas as pd
>>> from lastmile.journey import Journey
>>> con = ibis.duckdb.connect()
>>> _ = con.con.execute('''CREATE TABLE ev AS SELECT * FROM (VALUES
...   ('c1', 'Offer sent',   TIMESTAMP '2024-01-01', 0),
...   ('c1', 'Offer signed', TIMESTAMP '2024-01-03', 1),
...   ('c2', 'Offer sent',   TIMESTAMP '2024-01-02', 2))
...   v(case_id, activity, timestamp, event_index)''')
>>> j = Journey.from_flags("Offer sent,Offer signed")
>>> df = case_table(con.table("ev"), j).order_by("case_id").to_pandas()
>>> df[["case_id", "stage", "status", "events"]].values.tolist()
[['c1', 'Offer signed', 'finished', 2], ['c2', 'Offer sent', 'open', 1]]
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from lastmile.journey import Journey
from lastmile.measures._expr import as_timestamp, epoch, literal_time

__all__ = ["case_table", "reached_column", "stage_index_expr"]


def reached_column(k: int) -> str:
    """Name of the case-table column with the time a case first reached stage ``k`` or beyond."""
    return f"reached_{k}_at"


def stage_index_expr(activity: ir.StringValue, journey: Journey) -> ir.IntegerValue:
    """The 0-based stage index an activity marks, null for activities outside the stages."""
    branches = [
        (activity.isin(list(stage.activities)), ibis.literal(k, type="int64"))
        for k, stage in enumerate(journey.stages)
    ]
    return ibis.cases(*branches, else_=ibis.null("int64"))


def _with_reversal(cases: ir.Table, ev: ir.Table, journey: Journey) -> ir.Table:
    """Add ``reversed_at``: the first reversal event after the case's first finish event.

    "After" is in event order, ``(timestamp, event_index)``: a reversal at the same time as the
    finish counts only if it comes later in the source. Only the finish and reversal events
    are joined, so this stays cheap on large logs.
    """
    rev = journey.reversal
    assert rev is not None
    fin = ev.filter(ev._si >= journey.finish_index)
    first = fin.group_by("case_id").aggregate(fin_at=fin.timestamp.min())
    at_first = fin.join(first, [fin.case_id == first.case_id, fin.timestamp == first.fin_at])
    first = at_first.group_by("case_id").aggregate(
        fin_at=at_first.fin_at.min(), fin_index=at_first.event_index.min()
    )
    r = ev.filter(ev.activity.isin(list(rev.activities))).select(
        "case_id", r_at="timestamp", r_index="event_index"
    )
    r = r.join(first, "case_id")
    later = (r.r_at > r.fin_at) | ((r.r_at == r.fin_at) & (r.r_index > r.fin_index))
    if rev.window is not None:
        later &= (epoch(r.r_at) - epoch(r.fin_at)) <= rev.window.total_seconds()
    r = r.filter(later)
    reversals = r.group_by("case_id").aggregate(reversed_at=r.r_at.min())
    joined = cases.left_join(reversals, "case_id")
    return joined.select(*cases.columns, "reversed_at")


def case_table(events: ir.Table, journey: Journey, as_of: Any = None) -> ir.Table:
    """One row per case: progress through the journey, status, timing and effort.

    Parameters
    ----------
    events
        The event table (``case_id``, ``activity``, ``timestamp``, ``event_index`` and the
        attributes named by ``journey.value`` / ``journey.cost``).
    journey
        The stages, finish, failure, reversal, timeout, value and cost.
    as_of
        Look at the log as it was at this time: later events are ignored and the timeout is
        measured up to it. Default: the time of the last event in the log.

    Returns
    -------
    ibis.Table
        ``case_id``, ``first_event_at``, ``last_event_at``, ``events``, ``duration_days``,
        ``stage_index`` (furthest stage reached, -1 for none), ``stage`` (its name),
        ``reached_{k}_at`` for every stage ``k`` (first time the case reached stage ``k`` or a
        later one), ``entered_last_mile_at``, ``finished_at``, ``reversed_at``,
        ``explicit_failure_at``, ``entered_last_mile`` (bool), ``status`` (``finished``,
        ``reversed``, ``failed``, ``open``), ``failure_kind`` (``explicit``, ``abandoned`` or
        null), ``last_mile_failure`` (bool), ``value`` and ``cost`` (null unless configured).
        The definitions are in ``docs/measures.md``.
    """
    ev = events
    cut = as_timestamp(as_of)
    if cut is not None:
        ev = ev.filter(ev.timestamp <= literal_time(cut))
    fi, li = journey.finish_index, journey.last_mile_index
    ev = ev.mutate(_si=stage_index_expr(ev.activity, journey))

    ts = ev.timestamp
    aggs: dict[str, ir.Value] = {
        "first_event_at": ts.min(),
        "last_event_at": ts.max(),
        "events": ev.count(),
        "_max_si": ev._si.max(),
    }
    for k in range(len(journey.stages)):
        aggs[reached_column(k)] = ts.min(where=ev._si >= k)
    null_ts = ibis.null("timestamp")
    if journey.failure:
        aggs["explicit_failure_at"] = ts.min(where=ev.activity.isin(list(journey.failure)))
    else:
        aggs["explicit_failure_at"] = null_ts
    aggs["value"] = (
        ev[journey.value].cast("float64").max() if journey.value else ibis.null("float64")
    )
    cost = journey.cost
    if cost is None:
        aggs["cost"] = ibis.null("float64")
    elif cost.per_event is not None:
        aggs["cost"] = ev.count().cast("float64") * float(cost.per_event)
    elif cost.per_activity is not None:
        per = ibis.cases(
            *[(ev.activity == a, ibis.literal(float(v))) for a, v in cost.per_activity.items()],
            else_=ibis.literal(0.0),
        )
        aggs["cost"] = per.sum().coalesce(0.0)
    else:
        aggs["cost"] = ev[cost.attribute].cast("float64").coalesce(0.0).sum().coalesce(0.0)

    c = ev.group_by("case_id").aggregate(**aggs)
    if journey.reversal is not None:
        c = _with_reversal(c, ev, journey)
    else:
        c = c.mutate(reversed_at=null_ts)

    end = literal_time(cut) if cut is not None else events.timestamp.max().as_scalar()
    stage_index = c._max_si.coalesce(-1)
    finished = c[reached_column(fi)].notnull()
    reversed_ = finished & c.reversed_at.notnull()
    explicit = ~finished & c.explicit_failure_at.notnull()
    if journey.timeout is not None:
        silent = epoch(end) - epoch(c.last_event_at)
        abandoned = ~finished & ~explicit & (silent > journey.timeout.total_seconds())
    else:
        abandoned = ibis.literal(False)
    status = ibis.cases(
        (reversed_, "reversed"),
        (finished, "finished"),
        (explicit | abandoned, "failed"),
        else_="open",
    )
    kind = ibis.cases((explicit, "explicit"), (abandoned, "abandoned"), else_=ibis.null("string"))
    stage = ibis.cases(
        *[(stage_index == k, s.name) for k, s in enumerate(journey.stages)],
        else_=ibis.null("string"),
    )
    entered = stage_index >= li
    c = c.mutate(
        stage_index=stage_index,
        stage=stage,
        entered_last_mile=entered,
        entered_last_mile_at=c[reached_column(li)],
        finished_at=c[reached_column(fi)],
        reversed_at=ibis.cases((reversed_, c.reversed_at), else_=null_ts),
        status=status,
        failure_kind=kind,
        duration_days=(epoch(c.last_event_at) - epoch(c.first_event_at)) / 86400.0,
    )
    c = c.mutate(last_mile_failure=c.entered_last_mile & c.status.isin(["failed", "reversed"]))
    reached = [reached_column(k) for k in range(len(journey.stages))]
    return c.select(
        "case_id",
        "first_event_at",
        "last_event_at",
        "events",
        "duration_days",
        "stage_index",
        "stage",
        *reached,
        "entered_last_mile_at",
        "finished_at",
        "reversed_at",
        "explicit_failure_at",
        "entered_last_mile",
        "status",
        "failure_kind",
        "last_mile_failure",
        "value",
        "cost",
    )
