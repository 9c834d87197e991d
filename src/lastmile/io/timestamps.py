"""Recognise how a text column writes its times, and parse it in the engine.

The format is chosen once from a sample of the column (ISO 8601, epoch seconds or
milliseconds, or one of the common day/month orders), then every value is parsed by DuckDB.
Values that do not parse become NULL and their rows are quarantined; nothing is guessed per row.

>>> detect_format(["2020-01-31T10:00:00Z", "2020-02-01 09:00:00+01:00"]).kind
'iso'
>>> detect_format(["1577836800", "1577923200"]).kind
'epoch_s'
>>> detect_format(["1577836800000"]).kind
'epoch_ms'
>>> detect_format(["31/01/2020 10:00", "01/02/2020 11:00"]).strptime
'%d/%m/%Y %H:%M'
>>> detect_format(["01/02/2020 10:00"], dayfirst=False).strptime
'%m/%d/%Y %H:%M'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?)?\s*(Z|z|UTC|[+-]\d{2}(:?\d{2})?)?$"
)
EPOCH_RE = re.compile(r"^-?\d{9,14}(\.\d+)?$")

_DATES_DAYFIRST = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%d.%m.%y", "%d-%m-%y"]
_DATES_MONTHFIRST = ["%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y", "%m-%d-%y"]
_DATES_YEARFIRST = ["%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"]
_TIMES = [" %H:%M:%S.%f", " %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "T%H:%M:%S", ""]


@dataclass(frozen=True)
class TimeFormat:
    """How a column writes times: ``kind`` is iso, epoch_s, epoch_ms or strptime."""

    kind: str
    strptime: str | None = None
    ambiguous: bool = False

    def describe(self) -> str:
        """A short human description, e.g. ``ISO 8601`` or ``%d/%m/%Y %H:%M``."""
        return {"iso": "ISO 8601", "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds",
                "native": "native timestamp"}.get(self.kind, self.strptime or self.kind)


def _all_parse(values: Sequence[str], fmt: str) -> bool:
    for v in values:
        try:
            datetime.strptime(v, fmt)
        except ValueError:
            return False
    return True


def _share(values: Sequence[str], pred: re.Pattern[str]) -> float:
    return sum(bool(pred.match(v)) for v in values) / max(len(values), 1)


def detect_format(sample: Sequence[str], *, dayfirst: bool | None = None) -> TimeFormat:
    """Choose the format that parses the most of ``sample`` (strings, NULLs removed).

    ``dayfirst`` settles ``01/02/2020``; when it is ``None`` the data decide (a first field
    above 12 means day first), and a sample that fits both orders is read month first and
    marked ``ambiguous`` so that the caller can say so.
    """
    values = [v.strip() for v in sample if v is not None and str(v).strip()]
    if not values:
        return TimeFormat("iso")
    if _share(values, ISO_RE) >= 0.5:
        return TimeFormat("iso")
    if _share(values, EPOCH_RE) >= 0.5:
        nums = [float(v) for v in values if EPOCH_RE.match(v)]
        return TimeFormat("epoch_ms" if max(abs(n) for n in nums) > 1e11 else "epoch_s")
    candidates: list[tuple[int, str]] = []
    date_orders = {
        True: _DATES_DAYFIRST + _DATES_YEARFIRST,
        False: _DATES_MONTHFIRST + _DATES_YEARFIRST,
        None: _DATES_DAYFIRST + _DATES_MONTHFIRST + _DATES_YEARFIRST,
    }[dayfirst]
    probe = values[:200]
    for date in date_orders:
        for time in _TIMES:
            fmt = date + time
            ok = sum(1 for v in probe if _all_parse([v], fmt))
            if ok:
                candidates.append((ok, fmt))
    if not candidates:
        return TimeFormat("iso")  # let the engine try; failures are quarantined
    best = max(n for n, _ in candidates)
    top = [f for n, f in candidates if n == best]
    if dayfirst is None:
        day = [f for f in top if f.startswith("%d")]
        month = [f for f in top if f.startswith("%m")]
        if day and month:  # both orders fit every value: month first, flagged
            return TimeFormat("strptime", month[0], ambiguous=True)
    return TimeFormat("strptime", top[0])


def utc_sql(instant_sql: str) -> str:
    """DuckDB SQL for the UTC wall time of a ``TIMESTAMPTZ`` as a plain ``TIMESTAMP``.

    The same value as ``x AT TIME ZONE 'UTC'``, several times faster on millions of rows.

    >>> utc_sql('"ts"')
    'make_timestamp(epoch_us("ts"))'
    """
    return f"make_timestamp(epoch_us({instant_sql}))"


def parse_sql(column_sql: str, fmt: TimeFormat, tz: str = "UTC") -> str:
    """DuckDB SQL that turns a VARCHAR column into a UTC ``TIMESTAMP`` (NULL where it fails).

    Naive times are read in ``tz``; times with an offset keep their instant. The session's
    TimeZone must be set to ``tz`` for ISO values (the caller does that).

    >>> parse_sql('"ts"', TimeFormat("epoch_ms"))
    'epoch_ms(TRY_CAST("ts" AS BIGINT))'
    """
    if fmt.kind == "epoch_ms":
        return f"epoch_ms(TRY_CAST({column_sql} AS BIGINT))"
    if fmt.kind == "epoch_s":
        return utc_sql(f"to_timestamp(TRY_CAST({column_sql} AS DOUBLE))")
    if fmt.kind == "iso":
        cleaned = f"replace(trim({column_sql}), ',', '.')"
        return utc_sql(f"TRY_CAST({cleaned} AS TIMESTAMPTZ)")
    assert fmt.strptime is not None
    naive = f"try_strptime(trim({column_sql}), '{fmt.strptime}')"
    if tz.upper() == "UTC":
        return naive
    return utc_sql(f"timezone('{tz}', {naive})")
