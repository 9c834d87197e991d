"""Stranded investment: the effort sunk into cases that failed in the last mile.

A case is *stranded* when it entered the last mile and then failed or was reversed. Its
events, case-days (first to last event) and cost are stranded; the shares compare them with
the same totals over all cases. Value lost is the sum of the value at stake of stranded cases.
Definitions: ``docs/measures.md``.

>>> import ibis
>>> from lastmile.journey import Journey
>>> cases = ibis.table({"events": "int64", "duration_days": "float64", "cost": "float64",
...                     "value": "float64", "last_mile_failure": "boolean"}, name="cases")
>>> stranded(cases, Journey.from_flags("A,B")).columns[:3]
('events', 'case_days', 'cost')
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from lastmile.journey import Journey
from lastmile.measures._expr import ratio

__all__ = ["stranded", "stranded_aggregates", "stranded_record"]


def stranded_aggregates(cases: ir.Table, journey: Journey) -> dict[str, ir.Scalar]:
    """Stranded and total effort as named scalar aggregates over the case table (``st_*``)."""
    lost = cases.last_mile_failure
    out: dict[str, ir.Scalar] = {
        "st_events": cases.events.sum(where=lost).coalesce(0),
        "st_total_events": cases.events.sum().coalesce(0),
        "st_case_days": cases.duration_days.sum(where=lost).coalesce(0.0),
        "st_total_case_days": cases.duration_days.sum().coalesce(0.0),
    }
    if journey.cost is not None:
        out["st_cost"] = cases.cost.sum(where=lost).coalesce(0.0)
        out["st_total_cost"] = cases.cost.sum().coalesce(0.0)
    else:
        out["st_cost"] = out["st_total_cost"] = ibis.null("float64")
    if journey.value:
        out["st_value_lost"] = cases.value.sum(where=lost).coalesce(0.0)
    else:
        out["st_value_lost"] = ibis.null("float64")
    return out


def _share(part: Any, total: Any) -> float | None:
    return part / total if part is not None and total else None


def stranded_record(row: dict[str, Any], journey: Journey) -> dict[str, Any]:
    """Turn one materialised row of :func:`stranded_aggregates` into the report's block."""
    return {
        "events": int(row["st_events"]),
        "case_days": float(row["st_case_days"]),
        "cost": row["st_cost"],
        "share_of_events": _share(int(row["st_events"]), int(row["st_total_events"])),
        "share_of_case_days": _share(row["st_case_days"], row["st_total_case_days"]),
        "share_of_cost": _share(row["st_cost"], row["st_total_cost"]),
        "value_lost": row["st_value_lost"],
    }


def stranded(cases: ir.Table, journey: Journey) -> ir.Table:
    """Stranded investment as a one-row Ibis table.

    Returns
    -------
    ibis.Table
        ``events``, ``case_days``, ``cost`` (null without a cost), ``share_of_events``,
        ``share_of_case_days``, ``share_of_cost``, ``value_lost`` (null without a value).
    """
    t = cases.aggregate(**stranded_aggregates(cases, journey))
    return t.select(
        events=t.st_events,
        case_days=t.st_case_days,
        cost=t.st_cost,
        share_of_events=ratio(t.st_events, t.st_total_events),
        share_of_case_days=ratio(t.st_case_days, t.st_total_case_days),
        share_of_cost=ratio(t.st_cost, t.st_total_cost),
        value_lost=t.st_value_lost,
    )
