"""The last mile: cases that reached the stage where it begins, and what became of them.

Conversion keeps open cases out of the denominator: ``finished / (entered - open)``. The share
of failures is the part of all failed or reversed cases that failed in the last mile.
Definitions: ``docs/measures.md``.

>>> import ibis
>>> from lastmile.journey import Journey
>>> cases = ibis.table({"stage_index": "int64", "status": "string"}, name="cases")
>>> last_mile(cases, Journey.from_flags("A,B")).columns
('stage', 'entered', 'finished', 'failed', 'reversed', 'open', 'conversion', 'share_of_failures')
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from lastmile.journey import Journey
from lastmile.measures._expr import FAILED, count, ratio

__all__ = ["last_mile", "last_mile_aggregates", "last_mile_record"]


def last_mile_aggregates(cases: ir.Table, journey: Journey) -> dict[str, ir.Scalar]:
    """The last-mile counts as named scalar aggregates over the case table (``lm_*``)."""
    entered = cases.stage_index >= journey.last_mile_index
    out: dict[str, ir.Scalar] = {"lm_entered": count(cases, entered)}
    for status in ("finished", "failed", "reversed", "open"):
        out[f"lm_{status}"] = count(cases, entered & (cases.status == status))
    out["lm_all_failures"] = count(cases, cases.status.isin(list(FAILED)))
    return out


def last_mile_record(row: dict[str, Any], journey: Journey) -> dict[str, Any]:
    """Turn one materialised row of :func:`last_mile_aggregates` into the report's block."""
    n = {k: int(row[f"lm_{k}"]) for k in ("entered", "finished", "failed", "reversed", "open")}
    decided = n["entered"] - n["open"]
    failures = int(row["lm_all_failures"])
    return {
        "stage": journey.last_mile,
        **n,
        "conversion": n["finished"] / decided if decided else None,
        "share_of_failures": (n["failed"] + n["reversed"]) / failures if failures else None,
    }


def last_mile(cases: ir.Table, journey: Journey) -> ir.Table:
    """The last-mile block as a one-row Ibis table.

    Returns
    -------
    ibis.Table
        ``stage``, ``entered``, ``finished``, ``failed``, ``reversed``, ``open``,
        ``conversion`` (finished over entered minus open) and ``share_of_failures`` (failed
        plus reversed in the last mile over failed plus reversed anywhere).
    """
    t = cases.aggregate(**last_mile_aggregates(cases, journey))
    return t.select(
        stage=ibis.literal(journey.last_mile, type="string"),
        entered=t.lm_entered,
        finished=t.lm_finished,
        failed=t.lm_failed,
        reversed=t.lm_reversed,
        open=t.lm_open,
        conversion=ratio(t.lm_finished, t.lm_entered - t.lm_open),
        share_of_failures=ratio(t.lm_failed + t.lm_reversed, t.lm_all_failures),
    )
