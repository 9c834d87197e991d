"""The funnel: per stage, how many cases reached it, moved on, were lost there or are still there.

A case *reached* stage ``k`` when its furthest stage is ``k`` or later (a case that skipped a
stage has passed it). Of the cases whose furthest stage is ``k``, those still in flight are
*open* there and the others are *lost* there. Conversion to the next stage keeps open cases out
of the denominator: ``moved_on / (moved_on + lost)``. Definitions: ``docs/measures.md``.

>>> import ibis
>>> from lastmile.journey import Journey
>>> cases = ibis.table({"stage_index": "int64", "status": "string",
...                     "reached_0_at": "timestamp", "reached_1_at": "timestamp"}, name="cases")
>>> funnel(cases, Journey.from_flags("A,B")).columns[:3]
('stage_index', 'stage', 'reached')
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from lastmile.journey import Journey
from lastmile.measures._expr import count, epoch, ratio
from lastmile.measures.cases import reached_column

__all__ = ["FUNNEL_FIELDS", "funnel", "funnel_aggregates", "funnel_records"]

FUNNEL_FIELDS = (
    "reached",
    "moved_on",
    "lost",
    "open",
    "conversion",
    "median_hours_to_next",
    "p90_hours_to_next",
)


def funnel_aggregates(cases: ir.Table, journey: Journey) -> dict[str, ir.Scalar]:
    """The funnel as named scalar aggregates over the case table (``f{k}_{field}``)."""
    out: dict[str, ir.Scalar] = {}
    si = cases.stage_index
    last = len(journey.stages) - 1
    for k in range(len(journey.stages)):
        out[f"f{k}_reached"] = count(cases, si >= k)
        if k == last:
            zero = ibis.literal(0, type="int64")
            out[f"f{k}_moved_on"] = zero
            out[f"f{k}_lost"] = zero
            out[f"f{k}_open"] = zero
            out[f"f{k}_median_hours_to_next"] = ibis.null("float64")
            out[f"f{k}_p90_hours_to_next"] = ibis.null("float64")
            continue
        stuck = si == k
        out[f"f{k}_moved_on"] = count(cases, si > k)
        out[f"f{k}_lost"] = count(cases, stuck & (cases.status != "open"))
        out[f"f{k}_open"] = count(cases, stuck & (cases.status == "open"))
        hours = (epoch(cases[reached_column(k + 1)]) - epoch(cases[reached_column(k)])) / 3600.0
        out[f"f{k}_median_hours_to_next"] = hours.quantile(0.5)
        out[f"f{k}_p90_hours_to_next"] = hours.quantile(0.9)
    return out


def funnel_records(row: dict[str, Any], journey: Journey) -> list[dict[str, Any]]:
    """Turn one materialised row of :func:`funnel_aggregates` into the report's funnel list."""
    records = []
    for k, stage in enumerate(journey.stages):
        moved, lost = int(row[f"f{k}_moved_on"]), int(row[f"f{k}_lost"])
        records.append(
            {
                "stage": stage.name,
                "reached": int(row[f"f{k}_reached"]),
                "moved_on": moved,
                "lost": lost,
                "open": int(row[f"f{k}_open"]),
                "conversion": moved / (moved + lost) if moved + lost else None,
                "median_hours_to_next": row[f"f{k}_median_hours_to_next"],
                "p90_hours_to_next": row[f"f{k}_p90_hours_to_next"],
            }
        )
    return records


def funnel(cases: ir.Table, journey: Journey) -> ir.Table:
    """The funnel as an Ibis table, one row per stage in journey order.

    Parameters
    ----------
    cases
        The case table from :func:`lastmile.measures.case_table`.
    journey
        The journey the case table was built with.

    Returns
    -------
    ibis.Table
        ``stage_index``, ``stage``, ``reached``, ``moved_on``, ``lost``, ``open``,
        ``conversion``, ``median_hours_to_next``, ``p90_hours_to_next``.
    """
    wide = cases.aggregate(**funnel_aggregates(cases, journey))
    parts = []
    for k, stage in enumerate(journey.stages):
        cols = {f: wide[f"f{k}_{f}"] for f in FUNNEL_FIELDS if f != "conversion"}
        parts.append(
            wide.select(
                stage_index=ibis.literal(k, type="int64"),
                stage=ibis.literal(stage.name, type="string"),
                reached=cols["reached"],
                moved_on=cols["moved_on"],
                lost=cols["lost"],
                open=cols["open"],
                conversion=ratio(cols["moved_on"], cols["moved_on"] + cols["lost"]),
                median_hours_to_next=cols["median_hours_to_next"],
                p90_hours_to_next=cols["p90_hours_to_next"],
            )
        )
    return ibis.union(*parts, distinct=False).order_by("stage_index")
