"""Monthly last-mile conversion, by the calendar month (UTC) in which cases entered the last mile.

>>> import ibis
>>> from lastmile.journey import Journey
>>> cases = ibis.table({"entered_last_mile": "boolean", "entered_last_mile_at": "timestamp",
...                     "status": "string"}, name="cases")
>>> trend(cases, Journey.from_flags("A,B")).columns
('month', 'entered', 'finished', 'failed', 'reversed', 'open', 'conversion')
"""

from __future__ import annotations

import ibis.expr.types as ir

from lastmile.journey import Journey
from lastmile.measures._expr import count, ratio

__all__ = ["trend"]


def trend(cases: ir.Table, journey: Journey) -> ir.Table:
    """Last-mile outcomes per month of entry, oldest month first.

    Returns
    -------
    ibis.Table
        ``month`` (``YYYY-MM``), ``entered``, ``finished``, ``failed``, ``reversed``, ``open``
        and ``conversion`` (finished over entered minus open; null when all are open).
    """
    t = cases.filter(cases.entered_last_mile)
    at = t.entered_last_mile_at
    t = t.mutate(_year=at.year().cast("int64"), _month=at.month().cast("int64"))
    g = t.group_by(["_year", "_month"]).aggregate(
        entered=t.count(),
        **{s: count(t, t.status == s) for s in ("finished", "failed", "reversed", "open")},
    )
    month = g._year.cast("string") + "-" + g._month.cast("string").lpad(2, "0")
    return g.select(
        month=month,
        entered=g.entered,
        finished=g.finished,
        failed=g.failed,
        reversed=g.reversed,
        open=g.open,
        conversion=ratio(g.finished, g.entered - g.open),
    ).order_by("month")
