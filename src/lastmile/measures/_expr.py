"""Small portable Ibis helpers shared by the measures (no engine-specific functions here).

>>> import ibis
>>> t = ibis.table({"x": "float64"}, name="t")
>>> ratio(t.x.sum(), t.x.max()).type()
Float64(nullable=True)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

STATUSES = ("finished", "reversed", "failed", "open")
FAILED = ("failed", "reversed")


def epoch(ts: ir.Value) -> ir.FloatingValue:
    """Seconds since 1970 as a float (keeps fractions of a second on DuckDB and PostgreSQL)."""
    return ts.epoch_seconds().cast("float64")


def count(table: ir.Table, where: ir.BooleanValue | None = None) -> ir.IntegerScalar:
    """Number of rows (where ``where`` holds): ``COUNT(*) FILTER (WHERE …)``, never null."""
    return table.count(where=where) if where is not None else table.count()


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``numerator / denominator`` as a float, null when the denominator is 0 or null."""
    return numerator.cast("float64") / denominator.cast("float64").nullif(0.0)


def as_timestamp(value: Any) -> datetime | None:
    """A user's ``as_of`` (text, datetime, pandas Timestamp) as a naive UTC datetime.

    >>> as_timestamp("2012-01-01T12:00:00+01:00")
    datetime.datetime(2012, 1, 1, 11, 0)
    >>> as_timestamp(None) is None
    True
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        from lastmile.errors import LastmileError

        raise LastmileError(
            f"cannot read the time {value!r}", hint="write it as 2012-03-01 or 2012-03-01T12:00"
        ) from exc
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def literal_time(value: datetime) -> ir.TimestampScalar:
    """A timestamp literal without a zone."""
    return ibis.literal(value, type="timestamp")
